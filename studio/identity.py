"""Who is using the studio, and whether they are an admin.

Without ``[auth]`` in ``.streamlit/secrets.toml`` the reviewer is the local user and nothing asks
anyone to log in. With it, Streamlit's own ``st.login`` (OpenID Connect) names the person:
``st.user``'s email, else its name, else its subject. Roles come from the store (``augment_core.team``).
"""

from __future__ import annotations

import streamlit as st

from augment_core.team import is_admin, local_reviewer
from studio.common import get_store


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all
        return False


def current_reviewer() -> str:
    """This session's reviewer; with authentication and nobody logged in, the page stops at a login button."""
    if not auth_configured():
        return local_reviewer()
    if not st.user.is_logged_in:
        st.title("Augmentation studio")
        st.info("Log in to review: the team's decisions carry each reviewer's name.")
        st.button("Log in", key="id_login", type="primary", icon=":material/login:", on_click=st.login)
        st.stop()
    for claim in ("email", "name", "sub"):
        value = st.user.get(claim)
        if value:
            return str(value)
    raise RuntimeError("the identity token names nobody (no email, name or sub claim)")  # pragma: no cover


def current_is_admin() -> bool:
    return is_admin(get_store(), current_reviewer())


def draw_identity() -> None:
    """The reviewer's name and role in the sidebar, with a logout button when logged in."""
    name = current_reviewer()
    role = get_store().role_of(name)
    st.caption(f"Reviewing as **{name}** ({role})")
    if auth_configured():
        st.button("Log out", key="id_logout", icon=":material/logout:", on_click=st.logout)
