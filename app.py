"""The review studio: `streamlit run app.py`. Navigation over views/ and the sidebar, defined once.

The pages live in views/, not pages/: with a pages/ folder beside app.py, Streamlit runs a page
opened by its URL (/review) on its own, without app.py, until some session has run st.navigation
once: a link to /review on a fresh server showed the raw page list and "No dataset yet".
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from augment_core.embedding_backend import use_backend
from studio.identity import current_reviewer
from studio.sidebar import draw_sidebar

# Emoji, not ":material/..." icons: the browser fetches a material page icon (the favicon) from
# fonts.gstatic.com, and a local tool makes no outside request. Icons on buttons use the bundled font.

# torch is native code: the studio's embedding model runs in a child process, so a segfault or an
# out-of-memory kill there fails one scoring call instead of ending every reviewer's session.
use_backend("process")

st.set_page_config(page_title="Augmentation studio", page_icon="✨", layout="wide")
# Columns that wrap at 800 px instead of truncating labels (a CSS-only st.html takes no space).
st.html(Path(__file__).parent / "studio" / "layout.css")
current_reviewer()  # with authentication configured, nothing below is drawn before a login

page = st.navigation(
    [
        st.Page("views/upload.py", title="Upload", icon="📤", default=True),
        st.Page("views/augment.py", title="Augment", icon="✨"),
        st.Page("views/review.py", title="Review", icon="✅"),
        st.Page("views/insights.py", title="Insights", icon="📊"),
        st.Page("views/export.py", title="Export", icon="📥"),
    ]
)
draw_sidebar()
page.run()
