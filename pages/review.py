"""Review: each candidate beside its original, scores as badges, decisions stored the moment they are made."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from augment_core.errors import InputError
from augment_core.preference import PREFERENCE_SCHEMAS, rejected_text
from augment_core.records import CHAT_LAYOUT, FLAG_KINDS, STATUSES, CandidateKind, DecisionStatus, get_field, to_turns
from augment_core.review import FILTER_ACTIONS, ReviewFilter, bulk_plan
from augment_core.store import REVIEW_SORTS, ReviewRow
from studio.common import dataset_counts, fmt_int, get_store, md_code, require_dataset
from studio.diff import escaped_block, highlight_changes
from studio.identity import current_is_admin, current_reviewer
from studio.judge_panel import judge_filter, judge_panel

PAGE_SIZE = 20
CURSOR = "rv_cursor"
QUEUE = "rv_queue"  # the toggle: this reviewer's work queue instead of the filtered list
SKIPPED = "rv_skipped"
FOCUS = "rv_focus"  # a candidate opened from Insights (a conflict): shown until "Back to the list"
BANDS: dict[str, dict[str, bool]] = {
    "any": {},
    "optimal band": {"optimal": True},
    "valid window": {"valid": True},
    "outside window": {"valid": False},
}

st.title("Review")
dataset = require_dataset()
store = get_store()
counts = dataset_counts(dataset)
reviewer = current_reviewer()
admin = current_is_admin()


augmenters = sorted(counts.by_augmenter)

st.toggle("My queue", key=QUEUE, help="the candidates that still need your response, one after another; "
          "one being looked at is not handed to another reviewer for a few minutes")

# ---- filters (a change reruns the page and starts again at the first match) ----
f1, f2, f3, f4, f5, f6 = st.columns([3, 2, 3, 2, 2, 3])
chosen_augmenters = f1.multiselect("Augmenter", augmenters, key="rv_augmenters", placeholder="all")
status = f2.selectbox("Status", [*STATUSES, "all"], key="rv_status")
low, high = f3.slider("Similarity", 0.0, 1.0, (0.0, 1.0), step=0.01, key="rv_similarity")
band = f4.selectbox("Band", list(BANDS), key="rv_band")
# Filtered by the guard's kind (a fixed list), not by each flag's text, which comes from the data.
flag_options = ["all", "flagged", "not flagged", *FLAG_KINDS]
flag = f5.selectbox("Flags", flag_options, key="rv_flag", help="a flag kind: the meaning guard that raised it")
sort = f6.selectbox("Sort", list(REVIEW_SORTS), key="rv_sort")

flt = ReviewFilter(
    augmenters=tuple(chosen_augmenters),
    status=None if status == "all" else DecisionStatus(status),
    min_similarity=low if low > 0.0 else None,
    max_similarity=high if high < 1.0 else None,
    flag={"all": None, "flagged": "any", "not flagged": "none"}.get(flag, flag),
    **BANDS[band],
    **judge_filter(),
)
signature = (dataset.id, flt, sort)
if st.session_state.get("rv_signature") != signature:
    st.session_state["rv_signature"] = signature
    st.session_state[CURSOR] = 0


# ---- decisions: callbacks write to the store before the rerun draws anything ----
def _advance_after(new_status: str) -> None:
    # A decided candidate leaves a list filtered to another status, so the next one slides into place.
    if flt.status is None or flt.status == new_status:
        st.session_state[CURSOR] += 1


def decide(candidate_id: str, new_status: str) -> None:
    store.set_decision(candidate_id, new_status, reviewer=reviewer)
    _advance_after(new_status)


def edit_and_approve(candidate_id: str, original_text: str) -> None:
    edited = st.session_state.get(f"rv_edit_{candidate_id}", original_text)
    try:
        store.set_decision(
            candidate_id, "approved", edited_text=None if edited == original_text else edited, reviewer=reviewer
        )
    except InputError as exc:  # an emptied edit: nothing stored, the card says why
        st.session_state["rv_edit_error"] = str(exc)
        return
    _advance_after("approved")


def reset(candidate_id: str) -> None:
    # An admin puts the candidate back to pending for everyone; a reviewer withdraws their own response.
    store.clear_decision(candidate_id, reviewer=None if admin else reviewer)


def move(step: int, total: int) -> None:
    st.session_state[CURSOR] = min(max(st.session_state[CURSOR] + step, 0), max(total - 1, 0))


def _badges(row: ReviewRow) -> str:
    score = row.score
    if score is None:
        return ":gray-badge[not scored]"
    parts = [f"similarity **{score.semantic_similarity:.3f}**"]
    if score.in_optimal_band:
        parts.append(":green-badge[:material/verified: optimal band]")
    elif score.is_valid:
        parts.append(":blue-badge[valid window]")
    else:
        parts.append(":red-badge[outside window]")
    parts.append(f"length ratio **{score.length_ratio:.2f}**")
    parts.append(f"new words **{score.unique_words}**")
    # A flag's text quotes the data (entity names, code, URLs): only its kind, a fixed word, goes in a
    # badge; the text itself is drawn with st.text under the badges.
    kinds = dict.fromkeys(f.kind if f.kind in FLAG_KINDS else "flag" for f in score.flags)
    parts.extend(f":orange-badge[{kind}]" for kind in kinds)
    if score.near_duplicate:
        parts.append(":orange-badge[near duplicate]")
    return " · ".join(parts)


DECISION_BADGE = {
    DecisionStatus.PENDING: ":gray-badge[pending]",
    DecisionStatus.APPROVED: ":green-badge[approved]",
    DecisionStatus.REJECTED: ":red-badge[rejected]",
}


def _draw_candidate(row: ReviewRow) -> None:
    """The candidate's badges, flags and text beside its original (or its own record)."""
    candidate = row.candidate
    st.markdown(_badges(row))
    if row.score is not None and row.score.flags:
        st.text("\n".join(str(f) for f in row.score.flags))  # plain text: never Markdown or HTML
    edited = row.decision is not None and bool(row.decision.edited_text)
    if candidate.kind == CandidateKind.REWRITE and row.original is not None and candidate.target_field:
        original_text = get_field(row.original, candidate.target_field)
        left_html, right_html = highlight_changes(original_text, row.text)
        left, right = st.columns(2)
        with left:
            st.html(escaped_block(left_html, f"original · {row.example_key}"))
        with right:
            st.html(escaped_block(right_html, "candidate" + (" (edited)" if edited else "")))
        judge_panel(row, original_text)
        if dataset.schema in CHAT_LAYOUT or dataset.schema in PREFERENCE_SCHEMAS:
            # The whole record for context; images, audio and other parts as placeholders.
            with st.expander("Conversation"):
                turns = to_turns(row.original, dataset.schema, placeholders=True)
                rejected = rejected_text(row.original, dataset.schema)
                if rejected is not None:
                    turns.append(("rejected", rejected))
                elif dataset.schema == "kto":
                    turns.append(("label", "desirable" if row.original.get("label") else "undesirable"))
                st.text("\n\n".join(f"{role}: {text}" for role, text in turns))
    else:
        # A whole new record (e.g. a refusal example): shown as JSON text, never as HTML.
        record = candidate.record or {"text": candidate.text}
        st.code(json.dumps(record, ensure_ascii=False, indent=2), language="json")


def _edit_box(row: ReviewRow) -> None:
    cid = row.candidate.id
    with st.expander("Edit, then approve", expanded="rv_edit_error" in st.session_state):
        st.text_area("Candidate text", value=row.text, key=f"rv_edit_{cid}", height=120)
        if error := st.session_state.pop("rv_edit_error", None):
            st.error(error)
        st.button("Save edit and approve", key="rv_edit_approve", icon=":material/edit:",
                  on_click=edit_and_approve, args=(cid, row.candidate.text))


def skip(candidate_id: str) -> None:
    st.session_state.setdefault(SKIPPED, []).append(candidate_id)
    store.release(candidate_id, reviewer)


def focus_card(candidate_id: str) -> None:
    """One candidate opened from elsewhere (a conflict on Insights), with every reviewer's response."""
    row = store.review_row(candidate_id)
    st.button("Back to the list", key="rv_unfocus", icon=":material/arrow_back:",
              on_click=lambda: st.session_state.pop(FOCUS, None))
    if row is None:
        st.info("That candidate is no longer stored.")
        return
    st.markdown(f"{md_code(row.candidate.augmenter)} · {DECISION_BADGE[row.status]}")
    for response in store.get_responses(candidate_id):
        st.markdown(f"{md_code(response.reviewer)}: {DECISION_BADGE[response.status]} · {response.decided_at}"
                    + (" · edited" if response.edited_text else ""))
    _draw_candidate(row)
    b1, b2 = st.columns(2)
    b1.button("Approve", key="rv_approve", type="primary", icon=":material/check:", shortcut="A",
              on_click=decide, args=(candidate_id, "approved"), width="stretch")
    b2.button("Reject", key="rv_reject", icon=":material/close:", shortcut="X",
              on_click=decide, args=(candidate_id, "rejected"), width="stretch")
    _edit_box(row)


def queue_card() -> None:
    """The reviewer's work queue: the next candidate that still needs their response, held for them a while."""
    cid = store.next_in_queue(dataset.id, reviewer, skip=st.session_state.get(SKIPPED, []))
    answered = store.responses_by_reviewer(dataset.id, reviewer).get(reviewer, 0)
    decided = counts.decisions.approved + counts.decisions.rejected
    reviewable = decided + counts.decisions.pending
    st.markdown(f"**Your queue** · you answered {fmt_int(answered)} · overall {fmt_int(decided)} of "
                f"{fmt_int(reviewable)} decided")
    row = None if cid is None else store.review_row(cid)
    if row is None:
        st.success("Your queue is empty: every candidate has the responses the review rule asks for, "
                    "or is with another reviewer right now.")
        return
    st.markdown(f"{md_code(row.candidate.augmenter)} · {DECISION_BADGE[row.status]}")
    _draw_candidate(row)
    b1, b2, b3 = st.columns(3)
    b1.button("Approve", key="rv_approve", type="primary", icon=":material/check:", shortcut="A",
              on_click=decide, args=(cid, "approved"), width="stretch")
    b2.button("Reject", key="rv_reject", icon=":material/close:", shortcut="X",
              on_click=decide, args=(cid, "rejected"), width="stretch")
    b3.button("Skip", key="rv_skip", icon=":material/skip_next:", shortcut="J",
              on_click=skip, args=(cid,), width="stretch")
    _edit_box(row)


@st.fragment
def review_card() -> None:
    """One candidate at a time; a click reruns only this card, not the filters above."""
    if focused := st.session_state.get(FOCUS):
        focus_card(focused)
        return
    if st.session_state.get(QUEUE):
        queue_card()
        return
    total = store.count_review(dataset.id, flt)
    if total == 0:
        st.info("No candidates match these filters." if counts.candidates else
                "No candidates yet: run augmenters on the Augment page.")
        return
    cursor = min(st.session_state[CURSOR], total - 1)
    st.session_state[CURSOR] = cursor
    page = store.review_page(dataset.id, flt, sort, limit=PAGE_SIZE, offset=cursor - cursor % PAGE_SIZE)
    if cursor % PAGE_SIZE >= len(page):
        # Decisions made elsewhere (another tab, a bulk action) since the count shortened the list:
        # show the last candidate left on this page, or go back a page and draw again.
        if not page:
            st.session_state[CURSOR] = max(cursor - cursor % PAGE_SIZE - 1, 0)
            st.rerun()
        cursor = cursor - cursor % PAGE_SIZE + len(page) - 1
        st.session_state[CURSOR] = cursor
    row = page[cursor % PAGE_SIZE]
    candidate = row.candidate
    cid = candidate.id

    st.markdown(
        f"**Candidate {fmt_int(cursor + 1)} of {fmt_int(total)}** · {md_code(candidate.augmenter)}"
        + (f" · field {md_code(candidate.target_field)}" if candidate.target_field else "")
        + f" · {DECISION_BADGE[row.status]}"
    )
    _draw_candidate(row)

    b1, b2, b3, b4, b5 = st.columns(5)
    b1.button("Approve", key="rv_approve", type="primary", icon=":material/check:", shortcut="A",
              on_click=decide, args=(cid, "approved"), width="stretch")
    b2.button("Reject", key="rv_reject", icon=":material/close:", shortcut="X",
              on_click=decide, args=(cid, "rejected"), width="stretch")
    b3.button("Previous", key="rv_prev", icon=":material/arrow_back:", shortcut="K",
              on_click=move, args=(-1, total), disabled=cursor == 0, width="stretch")
    b4.button("Next", key="rv_next", icon=":material/arrow_forward:", shortcut="J",
              on_click=move, args=(1, total), disabled=cursor >= total - 1, width="stretch")
    b5.button("Back to pending", key="rv_reset", icon=":material/undo:", on_click=reset, args=(cid,),
              disabled=row.decision is None, width="stretch")
    _edit_box(row)

    st.caption(f"Page {cursor // PAGE_SIZE + 1:,} of {(total - 1) // PAGE_SIZE + 1:,} · shortcuts: "
               "A approve, X reject, J next, K previous")
    table = pd.DataFrame(
        {
            "#": range(cursor - cursor % PAGE_SIZE + 1, cursor - cursor % PAGE_SIZE + len(page) + 1),
            "augmenter": [r.candidate.augmenter for r in page],
            "similarity": [None if r.score is None else r.score.semantic_similarity for r in page],
            "length ratio": [None if r.score is None else r.score.length_ratio for r in page],
            "decision": [r.status.value for r in page],
            "candidate": [r.text[:160] for r in page],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", height=250)


review_card()

# ---- bulk actions: the exact count first, then a confirmation ----
# The score-based ones are the rules of `augment review` (augment_core.review): pending candidates
# only, and what is doubtful (a guard flag, a near-duplicate, low meaning) stays for a human.
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


def run_bulk(action: str) -> None:
    changed = sum(store.bulk_decide(dataset.id, f, status) for f, status in bulk_plan(store, action, flt))
    st.session_state["rv_bulk_confirm"] = False
    st.session_state["rv_bulk_done"] = f"{bulk_label(action, changed)}: done."


# A toggle, not an expander: an expander's body runs (and counts) on every rerun even when closed.
# Bulk actions are for admins (augment_core.team): a reviewer's page has no toggle at all.
if admin and st.toggle("Bulk actions", key="rv_bulk_open"):
    action = st.selectbox(
        "Action",
        list(ACTION_LABELS),
        key="rv_bulk_preset",
        format_func=lambda a: bulk_label(a, 0).replace(" 0 ", " ... ").replace("all ... ", "all "),
        help="Score-based actions: pending candidates of every augmenter. The last two: the filters above.",
    )
    count = store.count_review_any(dataset.id, [f for f, _ in bulk_plan(store, action, flt)])
    label = bulk_label(action, count)
    confirmed = st.checkbox(f"Yes: {label[0].lower()}{label[1:]}", key="rv_bulk_confirm")
    st.button(label, key="rv_bulk_go", disabled=not confirmed or count == 0, on_click=run_bulk, args=(action,))
    if done := st.session_state.pop("rv_bulk_done", None):
        st.success(done)
