"""The review page's bulk actions: a preview of the rows they will change, a confirmation, an undo.

The rules are ``augment review``'s (``augment_core.review.bulk_plan``); the store applies a plan
in one transaction and keeps what it replaced in the store (``Store.apply_bulk`` /
``Store.undo_last_bulk``): the undo of a dataset's last bulk action survives a reload and shows in
every admin's tab; it applies once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from augment_core.errors import InputError
from augment_core.records import Dataset
from augment_core.review import FILTER_ACTIONS, ReviewFilter, bulk_plan
from augment_core.store import LastBulk, Store
from augment_core.team import require_admin
from studio.common import fmt_int, md_code, md_escape
from studio.identity import current_reviewer

PREVIEW_ROWS = 50
DONE = "rv_bulk_done"
NOT_DONE = "rv_bulk_not_done"
ACTION_LABELS = {
    "approve-optimal": ("Approve", "valid candidates in the optimal band"),
    "approve-valid": ("Approve", "valid candidates"),
    "reject-invalid": ("Reject", "invalid candidates (outside the window, or near-duplicates)"),
    "approve-filtered": ("Approve", "candidates matching the filters"),
    "reject-filtered": ("Reject", "candidates matching the filters"),
}


def bulk_label(action: str, count: int) -> str:
    if action not in ACTION_LABELS:  # an action this version does not name
        return f"{action} of {fmt_int(count)} candidates"
    verb, what = ACTION_LABELS[action]
    return f"{verb} {fmt_int(count)} {what}" if action in FILTER_ACTIONS else f"{verb} all {fmt_int(count)} {what}"


def _run(store: Store, dataset: Dataset, action: str, flt: ReviewFilter) -> None:
    change = store.apply_bulk(dataset.id, bulk_plan(store, action, flt), action=action, reviewer=current_reviewer())
    st.session_state["rv_bulk_confirm"] = False
    st.session_state[DONE] = f"{bulk_label(action, change.count)}: done."


def _undo(store: Store, dataset: Dataset, last: LastBulk) -> None:
    label = bulk_label(last.action, last.count)
    try:
        require_admin(store, current_reviewer(), "undoing a bulk action")
    except InputError as exc:
        st.session_state[NOT_DONE] = str(exc)
        return
    # Only the action this button named: another tab may have undone it, or applied a newer one.
    result = store.undo_last_bulk(dataset.id, decided_at=last.decided_at)
    if result is None:
        st.session_state[NOT_DONE] = f"Not undone: {label[0].lower()}{label[1:]} was undone or replaced meanwhile."
        return
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
    if not_done := st.session_state.pop(NOT_DONE, None):
        st.warning(md_escape(not_done))
    last = store.last_bulk(dataset.id)
    if last is not None:
        st.button(f"Undo: {bulk_label(last.action, last.count)}", key="rv_bulk_undo_go", icon=":material/undo:",
                  on_click=_undo, args=(store, dataset, last),
                  help="Every candidate it changed gets back the decision it had before (status, edit, time, "
                       "responses); one decided again since is left as it is.")  # fmt: skip
        st.caption(f"The last bulk action on this dataset, by {md_code(last.reviewer or 'someone')} at "
                   f"{md_escape(last.decided_at[:16].replace('T', ' '))} UTC.")  # fmt: skip
