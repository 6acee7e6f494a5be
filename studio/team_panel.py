"""The Insights page's team panel: each reviewer's progress, agreement, conflicts, the audit, the team list."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from augment_core import team
from augment_core.agreement import agreement
from augment_core.audit import audit_report, draw_audit
from augment_core.errors import AugmentError
from augment_core.records import Dataset
from augment_core.store import ROLES
from studio.common import fmt_int, get_store, show_error
from studio.identity import current_is_admin, current_reviewer

FOCUS = "rv_focus"  # the review page shows this candidate first (a conflict opened from here)


def draw_team_panel(dataset: Dataset) -> None:
    store = get_store()
    admin = current_is_admin()
    answered = store.responses_by_reviewer(dataset.id)
    figures = agreement(store.dataset_responses(dataset.id))
    a1, a2, a3 = st.columns(3)
    a1.metric("Reviewers who answered", fmt_int(len(answered)))
    a2.metric("Krippendorff's alpha", "-" if figures.alpha is None else f"{figures.alpha:.3f}",
              help=f"nominal, on the {fmt_int(figures.units)} candidates with two responses or more")
    a3.metric("Candidates in conflict", fmt_int(len(figures.conflicts)))
    if answered:
        st.dataframe(pd.DataFrame({"reviewer": list(answered), "answered": list(answered.values())}),
                     hide_index=True)
    if figures.pairs:
        st.dataframe(pd.DataFrame([{"reviewers": f"{p.first} / {p.second}", "shared": p.shared,
                                    "Cohen's kappa": p.kappa} for p in figures.pairs]), hide_index=True)
    if figures.conflicts:
        chosen = st.selectbox("Conflicting responses", figures.conflicts, key="tm_conflict")
        if st.button("Open in review", key="tm_open", icon=":material/open_in_new:"):
            st.session_state[FOCUS] = chosen  # the review page opens on it
            st.switch_page("views/review.py")

    st.subheader("Audit of the accept rule")
    for line in audit_report(store, dataset).lines():
        st.text(line)
    if admin:
        c1, c2 = st.columns([1, 3])
        size = c1.number_input("Sample", min_value=2, max_value=10_000, value=200, step=2, key="tm_audit_n")
        if c2.button("Queue a sample for review", key="tm_audit_go", icon=":material/fact_check:"):
            try:
                accepted, rejected = draw_audit(store, dataset, int(size))
            except AugmentError as exc:
                show_error(exc)
            else:
                st.success(f"Queued {accepted} approved and {rejected} not approved by the rule: first in every "
                           "reviewer's queue.")

        st.subheader("Reviewers")
        listed = store.reviewers()
        if listed:
            st.dataframe(pd.DataFrame({"reviewer": list(listed), "role": list(listed.values())}), hide_index=True)
        else:
            st.caption("Nobody listed: everyone is an admin.")
        r1, r2, r3 = st.columns([2, 1, 1])
        name = r1.text_input("Name (the login's email)", key="tm_name")
        role = r2.selectbox("Role", ROLES, key="tm_role")
        if r3.button("Add or change", key="tm_add") and name.strip():
            try:
                team.set_reviewer(store, current_reviewer(), name.strip(), role)
            except AugmentError as exc:
                show_error(exc)
            else:
                st.rerun()
