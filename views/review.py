"""Review: each candidate beside its original and its whole record, every score as a badge, decisions
stored the moment they are made. Filters (the LLM judge's too), sort, search and the candidate shown
live in the address."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from augment_core.edits import save_edit
from augment_core.errors import InputError
from augment_core.records import FLAG_KINDS, STATUSES, DecisionStatus
from augment_core.review import ReviewFilter
from augment_core.store import REVIEW_SORTS, ReviewRow
from studio import url_state
from studio.common import counted_decision, dataset_counts, fmt_int, get_store, md_code, require_dataset
from studio.identity import current_is_admin, current_reviewer
from studio.judge_panel import JUDGE_FILTERS, JUDGE_KEY, judge_filter
from studio.review_bulk import draw_bulk
from studio.review_card import DECISION_BADGE, draw_candidate

PAGE_SIZE = 20
CURSOR = "rv_cursor"
QUEUE = "rv_queue"  # the toggle: this reviewer's work queue instead of the filtered list
SKIPPED = "rv_skipped"
FOCUS = "rv_focus"  # a candidate opened from Insights (a conflict) or a link: shown until "Back to the list"
GOTO = "rv_goto"  # a candidate the address names: the list opens at its place
BANDS: dict[str, dict[str, bool]] = {
    "any": {},
    "optimal band": {"optimal": True},
    "valid window": {"valid": True},
    "outside window": {"valid": False},
}
FLAG_OPTIONS = ["all", "flagged", "not flagged", *FLAG_KINDS]
STATUS_OPTIONS = [*STATUSES, "all"]


@st.cache_resource(show_spinner="Loading the scoring model ...")
def embedder(name: str):  # type: ignore[no-untyped-def]
    """The scoring model, loaded once per server (an edit is rescored with it)."""
    from augment_core.quality import Embedder

    return Embedder.load(name)


def meaning_cut() -> float | None:
    from augment_core.quality import meaning_cutoff, thresholds_from_store
    from augment_core.scoring import load_meaning_model

    return meaning_cutoff(thresholds_from_store(store), load_meaning_model())


def similarity_range(values: list[str]) -> tuple[float, float] | None:
    try:
        low, high = (round(float(v), 2) for v in values[:2])
    except ValueError:
        return None
    return (low, high) if 0.0 <= low <= high <= 1.0 else None


st.title("Review")
dataset = require_dataset()
store = get_store()
counts = dataset_counts(dataset)
reviewer = current_reviewer()
admin = current_is_admin()
augmenters = sorted(counts.by_augmenter)

# ---- the address first: a link or a reload brings filters, sort, search and a candidate ----
url_state.restore("rv_augmenters", "augmenter", url_state.some_of(augmenters))
url_state.restore("rv_status", "status", url_state.one_of(STATUS_OPTIONS))
url_state.restore("rv_similarity", "similarity", similarity_range)
url_state.restore("rv_band", "band", url_state.one_of(list(BANDS)))
url_state.restore("rv_flag", "flag", url_state.one_of(FLAG_OPTIONS))
url_state.restore("rv_sort", "sort", url_state.one_of(list(REVIEW_SORTS)))
url_state.restore("rv_search", "q", url_state.text)
url_state.restore("rv_record", "record", url_state.text)
url_state.restore(JUDGE_KEY, "judge", url_state.one_of(list(JUDGE_FILTERS)))
url_state.restore(QUEUE, "queue", lambda values: True if values[0] == "1" else None)
if linked := url_state.incoming("candidate"):
    st.session_state[GOTO] = linked[0]

st.toggle("My queue", key=QUEUE, help="the candidates that still need your response, one after another; "
          "one being looked at is not handed to another reviewer for a few minutes")

# ---- filters (a change reruns the page and starts again at the first match) ----
# Two rows of three: at 800 px six columns left the selects too narrow to show their values.
f1, f2, f3 = st.columns([3, 2, 3])
f4, f5, f6 = st.columns([3, 2, 3])
chosen_augmenters = f1.multiselect("Augmenter", augmenters, key="rv_augmenters", placeholder="all")
status = f2.selectbox("Status", STATUS_OPTIONS, key="rv_status")
low, high = f3.slider("Similarity", 0.0, 1.0, (0.0, 1.0), step=0.01, key="rv_similarity")
band = f4.selectbox("Band", list(BANDS), key="rv_band")
# Filtered by the guard's kind (a fixed list), not by each flag's text, which comes from the data.
flag = f5.selectbox("Flags", FLAG_OPTIONS, key="rv_flag", help="a flag kind: the meaning guard that raised it")
sort = f6.selectbox("Sort", list(REVIEW_SORTS), key="rv_sort")
s1, s2 = st.columns([2, 1])
search = s1.text_input("Search", key="rv_search", placeholder="words in the original record, the candidate or its edit",
                       help="any case; every field of the original record is searched (input, output, every turn)")
record = s2.text_input("Go to record", key="rv_record", placeholder="an id",
                       help="the record's id (its key in the source file) or one candidate's id")

flt = ReviewFilter(
    augmenters=tuple(chosen_augmenters),
    status=None if status == "all" else DecisionStatus(status),
    min_similarity=low if low > 0.0 else None,
    max_similarity=high if high < 1.0 else None,
    flag={"all": None, "flagged": "any", "not flagged": "none"}.get(flag, flag),
    search=search.strip() or None,
    record=record.strip() or None,
    **BANDS[band],
    **judge_filter(),
)
url_state.publish("augmenter", chosen_augmenters)
url_state.publish("status", [] if status == STATUS_OPTIONS[0] else [status])
url_state.publish("similarity", [] if (low, high) == (0.0, 1.0) else [f"{low:.2f}", f"{high:.2f}"])
url_state.publish("band", [] if band == "any" else [band])
url_state.publish("flag", [] if flag == "all" else [flag])
url_state.publish("sort", [] if sort == "file order" else [sort])
url_state.publish("q", [search] if search.strip() else [])
url_state.publish("record", [record] if record.strip() else [])
url_state.publish("judge", [] if (judged := st.session_state[JUDGE_KEY]) == "any" else [judged])
url_state.publish("queue", ["1"] if st.session_state.get(QUEUE) else [])

if flt.search:
    # The search index catches up on what was stored since (in the background, SQLite): meanwhile a
    # search reads those rows with the LIKE, so it finds the same candidates, a little slower.
    store.refresh_search_index_soon()

signature = (dataset.id, flt, sort)
if st.session_state.get("rv_signature") != signature:
    st.session_state["rv_signature"] = signature
    st.session_state[CURSOR] = 0
if goto := st.session_state.pop(GOTO, None):
    place = store.review_position(dataset.id, flt, sort, goto)
    if place is not None:
        st.session_state[CURSOR] = place
    elif (found := store.review_row(goto)) is not None and found.candidate.dataset_id == dataset.id:
        st.session_state[FOCUS] = goto  # not in this list (decided since, say): shown on its own


# ---- decisions: callbacks write to the store before the rerun draws anything (the sidebar's counts too) ----
def _advance_after(new_status: str) -> None:
    # A decided candidate leaves a list filtered to another status, so the next one slides into place.
    if flt.status is None or flt.status == new_status:
        st.session_state[CURSOR] += 1


def decide(candidate_id: str, new_status: str) -> None:
    before = store.get_decision(candidate_id)
    counted_decision(dataset.id, before, store.set_decision(candidate_id, new_status, reviewer=reviewer))
    _advance_after(new_status)


def edit_and_approve(candidate_id: str, original_text: str) -> None:
    edited = st.session_state.get(f"rv_edit_{candidate_id}", original_text)
    try:
        if edited == original_text:
            store.set_decision(candidate_id, "approved", reviewer=reviewer)
        else:  # the edited text is scored again, as `augment score` would score it
            from augment_core.quality import model_name_from_store

            save_edit(store, candidate_id, edited, reviewer, embedder(model_name_from_store(store)))
    except InputError as exc:  # an emptied edit: nothing stored, the card says why
        st.session_state["rv_edit_error"] = str(exc)
        return
    _advance_after("approved")


def reset(candidate_id: str) -> None:
    # An admin puts the candidate back to pending for everyone; a reviewer withdraws their own response.
    before = store.get_decision(candidate_id)
    counted_decision(dataset.id, before, store.clear_decision(candidate_id, reviewer=None if admin else reviewer))


def move(step: int, total: int) -> None:
    st.session_state[CURSOR] = min(max(st.session_state[CURSOR] + step, 0), max(total - 1, 0))


def pick_row(table_key: str, first: int) -> None:
    """A click on a row of the table opens that candidate on the card."""
    rows = st.session_state[table_key].selection.rows
    if rows:
        st.session_state[CURSOR] = first + rows[0]


def button_row():  # type: ignore[no-untyped-def]
    """The card's buttons side by side at their own width, wrapping onto a second line when the page
    is narrow (equal columns cut their labels to "A... A" at 800 px)."""
    return st.container(horizontal=True, gap="small")


def decision_buttons(candidate_id: str):  # type: ignore[no-untyped-def]
    """The card's button row with Approve and Reject (A, X) for ``candidate_id``; more may follow."""
    buttons = button_row()
    buttons.button("Approve", key="rv_approve", type="primary", icon=":material/check:", shortcut="A",
                   on_click=decide, args=(candidate_id, "approved"), width="content")
    buttons.button("Reject", key="rv_reject", icon=":material/close:", shortcut="X",
                   on_click=decide, args=(candidate_id, "rejected"), width="content")
    return buttons


def _edit_box(row: ReviewRow) -> None:
    cid = row.candidate.id
    with st.expander("Edit, then approve", expanded="rv_edit_error" in st.session_state):
        st.text_area("Candidate text", value=row.text, key=f"rv_edit_{cid}", height=120)
        if error := st.session_state.pop("rv_edit_error", None):
            st.error(error)
        st.button("Save edit and approve", key="rv_edit_approve", icon=":material/edit:",
                  on_click=edit_and_approve, args=(cid, row.candidate.text),
                  help="the edited text is scored again when it is saved")  # fmt: skip


def skip(candidate_id: str) -> None:
    st.session_state.setdefault(SKIPPED, []).append(candidate_id)
    store.release(candidate_id, reviewer)


def count_review(chosen: ReviewFilter) -> int:
    """How many candidates ``chosen`` matches; the pending ones of the whole dataset (the page's
    default) come from the counts, which follow each decision without counting again."""
    if chosen == ReviewFilter(status=DecisionStatus.PENDING):
        return counts.decisions.pending
    return store.count_review(dataset.id, chosen)


def progress_line(in_filter: bool = True, total: int | None = None) -> str:
    """How far the dataset's review is, and (``in_filter``) what is left in the current filter
    (``total``, the filter's count, is that already when the filter is pending)."""
    decided = counts.decisions.approved + counts.decisions.rejected
    line = f"{fmt_int(decided)} of {fmt_int(decided + counts.decisions.pending)} decided"
    if in_filter and flt.status in (None, DecisionStatus.PENDING):
        pending_only = flt.status == DecisionStatus.PENDING and total is not None
        left = total if pending_only else count_review(replace(flt, status=DecisionStatus.PENDING))
        line += f", {fmt_int(left)} left in this filter"
    return line


def focus_card(candidate_id: str) -> None:
    """One candidate opened on its own (a conflict on Insights, a link), with every reviewer's response."""
    row = store.review_row(candidate_id)
    st.button("Back to the list", key="rv_unfocus", icon=":material/arrow_back:",
                   on_click=lambda: st.session_state.pop(FOCUS, None))
    if row is None:
        st.info("That candidate is no longer stored.")
        return
    url_state.publish("candidate", [candidate_id])
    st.markdown(f"{md_code(row.candidate.augmenter)} · {DECISION_BADGE[row.status]}")
    for response in store.get_responses(candidate_id):
        st.markdown(f"{md_code(response.reviewer)}: {DECISION_BADGE[response.status]} · {response.decided_at}"
                    + (" · edited" if response.edited_text else ""))
    draw_candidate(row, dataset.schema, meaning_cut())
    decision_buttons(candidate_id)
    _edit_box(row)


def queue_card() -> None:
    """The reviewer's work queue: the next candidate that still needs their response, held for them a while."""
    cid = store.next_in_queue(dataset.id, reviewer, skip=st.session_state.get(SKIPPED, []))
    url_state.publish("candidate", [])  # the queue hands out the next one itself
    answered = store.responses_by_reviewer(dataset.id, reviewer).get(reviewer, 0)
    st.markdown(f"**Your queue** · you answered {fmt_int(answered)} · overall {progress_line(in_filter=False)}")
    row = None if cid is None else store.review_row(cid)
    if row is None:
        st.success("Your queue is empty: every candidate has the responses the review rule asks for, "
                    "or is with another reviewer right now.")
        return
    st.markdown(f"{md_code(row.candidate.augmenter)} · {DECISION_BADGE[row.status]}")
    draw_candidate(row, dataset.schema, meaning_cut())
    buttons = decision_buttons(cid)
    buttons.button("Skip", key="rv_skip", icon=":material/skip_next:", shortcut="J",
                   on_click=skip, args=(cid,), width="content")
    _edit_box(row)


def review_card() -> None:
    """One candidate at a time. Not a fragment: a decision reruns the whole page, so the sidebar's
    counts and the progress line are counted again (they went stale inside a fragment)."""
    if focused := st.session_state.get(FOCUS):
        focus_card(focused)
        return
    if st.session_state.get(QUEUE):
        queue_card()
        return
    total = count_review(flt)
    if total == 0:
        url_state.publish("candidate", [])
        st.info("No candidates match these filters." if counts.candidates else
                "No candidates yet: run augmenters on the Augment page.")
        return
    cursor = min(st.session_state[CURSOR], total - 1)
    st.session_state[CURSOR] = cursor
    first = cursor - cursor % PAGE_SIZE
    page = store.review_page(dataset.id, flt, sort, limit=PAGE_SIZE, offset=first)
    if cursor % PAGE_SIZE >= len(page):
        # Decisions made elsewhere (another tab, a bulk action) since the count shortened the list:
        # show the last candidate left on this page, or go back a page and draw again.
        if not page:
            st.session_state[CURSOR] = max(first - 1, 0)
            st.rerun()
        cursor = first + len(page) - 1
        st.session_state[CURSOR] = cursor
    row = page[cursor % PAGE_SIZE]
    candidate = row.candidate
    cid = candidate.id
    url_state.publish("candidate", [cid])

    st.markdown(
        f"**Candidate {fmt_int(cursor + 1)} of {fmt_int(total)}** · {md_code(candidate.augmenter)}"
        + (f" · field {md_code(candidate.target_field)}" if candidate.target_field else "")
        + f" · {DECISION_BADGE[row.status]}  \n{progress_line(total=total)}"
    )
    draw_candidate(row, dataset.schema, meaning_cut())

    buttons = decision_buttons(cid)
    buttons.button("Previous", key="rv_prev", icon=":material/arrow_back:", shortcut="K",
                   on_click=move, args=(-1, total), disabled=cursor == 0, width="content")
    buttons.button("Next", key="rv_next", icon=":material/arrow_forward:", shortcut="J",
                   on_click=move, args=(1, total), disabled=cursor >= total - 1, width="content")
    buttons.button("Back to pending", key="rv_reset", icon=":material/undo:", on_click=reset, args=(cid,),
                   disabled=row.decision is None, width="content")
    _edit_box(row)

    st.caption(f"Page {cursor // PAGE_SIZE + 1:,} of {(total - 1) // PAGE_SIZE + 1:,} · click a row to open it · "
               "shortcuts: A approve, X reject, J next, K previous")
    table = pd.DataFrame(
        {
            "#": range(first + 1, first + len(page) + 1),
            "record": [r.example_key for r in page],
            "augmenter": [r.candidate.augmenter for r in page],
            "similarity": [None if r.score is None else r.score.semantic_similarity for r in page],
            "meaning": [None if r.score is None else r.score.meaning_preserved for r in page],
            "decision": [r.status.value for r in page],
            "candidate": [r.text[:160] for r in page],
        }
    )
    # Keyed by the card shown: a new card starts with no row selected, so a click on any row is a change.
    table_key = f"rv_table_{cursor}"
    st.dataframe(table, hide_index=True, width="stretch", height=250, key=table_key,
                 on_select=lambda: pick_row(table_key, first), selection_mode="single-row")  # fmt: skip


review_card()

# Bulk actions are for admins (augment_core.team): a reviewer's page has no toggle at all.
if admin:
    draw_bulk(store, dataset, flt)
