import streamlit as st
st.title('augment')
