import streamlit as st
st.title('insights')
