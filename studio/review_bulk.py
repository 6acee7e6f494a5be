"""The review page's bulk actions: a preview of the rows they will change, a confirmation, an undo.

The rules are ``augment review``'s (``augment_core.review.bulk_plan``); the store applies a plan
in one transaction and undoes it (``Store.apply_bulk`` / ``Store.undo_bulk``). The undo of the
last bulk action is kept in this browser session.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from augment_core.records import Dataset
from augment_core.review import FILTER_ACTIONS, ReviewFilter, bulk_plan
from augment_core.store import BulkChange, Store
from studio.common import fmt_int, md_escape

PREVIEW_ROWS = 50
UNDO = "rv_bulk_undo"  # (label, BulkChange) of this session's last bulk action
DONE = "rv_bulk_done"
ACTION_LABELS = {
    "approve-optimal": ("Approve", "valid candidates in the optimal band"),
    "approve-valid": ("Approve", "valid candidates"),
    "reject-invalid": ("Reject", "invalid candidates (outside the window, or near-duplicates)"),
    "approve-filtered": ("Approve", "candidates matching the filters"),
    "reject-filtered": ("Reject", "candidates matching the filters"),
}


def bulk_label(action: str, count: int) -> str:
    verb, what = ACTION_LABELS[action]
    return f"{verb} {fmt_int(count)} {what}" if action in FILTER_ACTIONS else f"{verb} all {fmt_int(count)} {what}"


def _run(store: Store, dataset: Dataset, action: str, flt: ReviewFilter) -> None:
    change = store.apply_bulk(dataset.id, bulk_plan(store, action, flt))
    label = bulk_label(action, change.count)
    st.session_state["rv_bulk_confirm"] = False
    st.session_state[UNDO] = (label, change)
    st.session_state[DONE] = f"{label}: done."


def _undo(store: Store) -> None:
    label, change = st.session_state.pop(UNDO)
    result = store.undo_bulk(change)
    kept = f"; {fmt_int(result.kept)} decided again since are left as they are" if result.kept else ""
    restored = f"{fmt_int(result.restored)} decisions restored"
    st.session_state[DONE] = f"Undone: {label[0].lower()}{label[1:]}. {restored}{kept}."


def _preview(store: Store, dataset: Dataset, action: str, flt: ReviewFilter) -> int:
    """The table of the rows the action will change (the first ``PREVIEW_ROWS``); returns how many."""
    plan = bulk_plan(store, action, flt)
    count, rows = store.bulk_preview(dataset.id, plan, limit=PREVIEW_ROWS)
    new = plan[0][1].value if plan else ""
    if count:
        st.caption(f"The {'first ' + str(len(rows)) + ' of the ' if count > len(rows) else ''}"
                   f"{fmt_int(count)} candidates this will change, in file order:")  # fmt: skip
        table = pd.DataFrame(
            {
                "record": [r.example_key for r in rows],
                "augmenter": [r.candidate.augmenter for r in rows],
                "now": [r.status.value for r in rows],
                "becomes": [new] * len(rows),
                "similarity": [None if r.score is None else r.score.semantic_similarity for r in rows],
                "candidate": [r.text[:160] for r in rows],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 300), key="rv_bulk_rows")
    else:
        st.caption("Nothing to change: every candidate this selects has that decision already.")
    return count


def draw_bulk(store: Store, dataset: Dataset, flt: ReviewFilter) -> None:
    """The bulk panel (admins only): choose, preview, confirm, apply; undo the last one."""
    # A toggle, not an expander: an expander's body runs (and counts) on every rerun even when closed.
    if st.toggle("Bulk actions", key="rv_bulk_open"):
        action = st.selectbox(
            "Action",
            list(ACTION_LABELS),
            key="rv_bulk_preset",
            format_func=lambda a: bulk_label(a, 0).replace(" 0 ", " ... ").replace("all ... ", "all "),
            help="Score-based actions: pending candidates of every augmenter. The last two: the filters above.",
        )
        count = _preview(store, dataset, action, flt)
        label = bulk_label(action, count)
        confirmed = st.checkbox(f"Yes: {label[0].lower()}{label[1:]}", key="rv_bulk_confirm")
        st.button(label, key="rv_bulk_go", disabled=not confirmed or count == 0, on_click=_run,
                  args=(store, dataset, action, flt))  # fmt: skip
    if done := st.session_state.pop(DONE, None):
        st.success(md_escape(done))
    last: tuple[str, BulkChange] | None = st.session_state.get(UNDO)
    if last is not None and last[1].dataset_id == dataset.id:
        st.button(f"Undo: {last[0]}", key="rv_bulk_undo_go", icon=":material/undo:", on_click=_undo, args=(store,),
                  help="Every candidate it changed gets back the decision it had before (status, edit, time, "
                       "responses); one decided again since is left as it is.")  # fmt: skip
