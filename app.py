"""Placeholder entry until the studio lands: shows the stored datasets (replaced by the studio)."""

import streamlit as st

st.title("Augmentation studio")
st.write("The studio pages are being built.")
