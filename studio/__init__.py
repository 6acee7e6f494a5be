"""Streamlit-only helpers for the studio pages (augment_core stays free of streamlit)."""
