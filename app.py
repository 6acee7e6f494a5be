"""The review studio: `streamlit run app.py`. Navigation over pages/ and the sidebar, defined once."""

from __future__ import annotations

import streamlit as st

from studio.sidebar import draw_sidebar

st.set_page_config(page_title="Augmentation studio", page_icon=":material/auto_awesome:", layout="wide")

page = st.navigation(
    [
        st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:", default=True),
        st.Page("pages/augment.py", title="Augment", icon=":material/auto_awesome:"),
        st.Page("pages/review.py", title="Review", icon=":material/fact_check:"),
        st.Page("pages/insights.py", title="Insights", icon=":material/insights:"),
        st.Page("pages/export.py", title="Export", icon=":material/download:"),
    ]
)
draw_sidebar()
page.run()
