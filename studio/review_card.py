"""The review card: a candidate's scores as badges, its text beside the original, and the whole record.

Dataset text goes out as escaped HTML (the diff), ``st.text`` or ``st.code``, never as Markdown.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from augment_core.preference import PREFERENCE_SCHEMAS, rejected_text
from augment_core.records import CHAT_LAYOUT, FLAG_KINDS, CandidateKind, DecisionStatus, get_field, to_turns
from augment_core.store import ReviewRow
from studio.common import md_escape
from studio.diff import escaped_block, highlight_changes
from studio.judge_panel import judge_panel

DECISION_BADGE = {
    DecisionStatus.PENDING: ":gray-badge[pending]",
    DecisionStatus.APPROVED: ":green-badge[approved]",
    DecisionStatus.REJECTED: ":red-badge[rejected]",
}


def badges(row: ReviewRow, meaning_cut: float | None) -> str:
    """Every score of the candidate, the meaning verdict included, as one line of Markdown badges."""
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
    if score.meaning_preserved is None:
        parts.append(":gray-badge[no meaning verdict]")
    else:
        kept = meaning_cut is None or score.meaning_preserved >= meaning_cut
        verdict = ":green-badge[meaning kept]" if kept else ":orange-badge[meaning doubtful]"
        cut = "" if meaning_cut is None else f" (cut-off {meaning_cut:.2f})"
        parts.append(f"meaning **{score.meaning_preserved:.2f}**{cut} {verdict}")
    parts.append(f"length ratio **{score.length_ratio:.2f}**")
    parts.append(f"new words **{score.unique_words}**")
    # A flag's text quotes the data (entity names, code, URLs): only its kind, a fixed word, goes in a
    # badge; the text itself is drawn with st.text under the badges.
    kinds = dict.fromkeys(f.kind if f.kind in FLAG_KINDS else "flag" for f in score.flags)
    parts.extend(f":orange-badge[{kind}]" for kind in kinds)
    if score.near_duplicate:
        parts.append(":orange-badge[near duplicate]")
    if score.truncated:
        parts.append(":gray-badge[cut to the model's length]")
    return " · ".join(parts)


def unmatched_line(row: ReviewRow) -> str | None:
    """The words of each side the token alignment found no counterpart for ("unmatched: 'Paris' → 'London'"),
    as plain text; None for a score without them (stored before they were, or nothing unmatched)."""
    found = row.score.unmatched if row.score is not None else None
    if not found or not (found.get("original") or found.get("candidate")):
        return None

    def side(words: list[str]) -> str:
        return ", ".join(f"'{w}'" for w in words) or "∅"

    return f"unmatched: {side(found.get('original', []))} → {side(found.get('candidate', []))}"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def record_fields(record: dict[str, Any], rewritten: str | None) -> str:
    """Every field of a flat record (alpaca, prompt-completion) as plain text, the rewritten one marked."""
    top = (rewritten or "").split(".")[0]
    return "\n\n".join(f"{key}{' (rewritten)' if key == top else ''}: {_value(value)}" for key, value in record.items())


def rewritten_turn(schema: str, target_field: str | None) -> int | None:
    """The 0-based turn a chat candidate rewrote (``conversations.2.value`` -> 2), else None."""
    if schema not in CHAT_LAYOUT or not target_field:
        return None
    parts = target_field.split(".")
    return int(parts[1]) if len(parts) > 1 and parts[0] == CHAT_LAYOUT[schema][0] and parts[1].isdigit() else None


def _conversation(row: ReviewRow, schema: str) -> None:
    assert row.original is not None
    with st.expander("Conversation"):
        turns = to_turns(row.original, schema, placeholders=True)
        turn = rewritten_turn(schema, row.candidate.target_field)
        if turn is not None:
            st.caption(f"The candidate rewrites turn {turn + 1} of {len(turns)}.")
        rejected = rejected_text(row.original, schema)
        if rejected is not None:
            turns.append(("rejected", rejected))
        elif schema == "kto":
            turns.append(("label", "desirable" if row.original.get("label") else "undesirable"))
        st.text("\n\n".join(f"{role}: {text}" for role, text in turns))


def draw_candidate(row: ReviewRow, schema: str, meaning_cut: float | None) -> None:
    """The candidate's badges, flags and text beside its original, then its whole record."""
    candidate = row.candidate
    st.markdown(badges(row, meaning_cut))
    # The evidence, plain text (never Markdown or HTML): the guards that fired, then the unmatched words.
    evidence = [str(f) for f in row.score.flags] if row.score is not None else []
    if (unmatched := unmatched_line(row)) is not None:
        evidence.append(unmatched)
    if evidence:
        st.text("\n".join(evidence))
    edited = row.decision is not None and bool(row.decision.edited_text)
    if candidate.kind == CandidateKind.REWRITE and row.original is not None and candidate.target_field:
        diff = highlight_changes(get_field(row.original, candidate.target_field), row.text)
        left, right = st.columns(2)
        with left:
            st.html(escaped_block(diff.original_html, f"original · {row.example_key}"))
        with right:
            st.html(escaped_block(diff.candidate_html, "candidate" + (" (edited)" if edited else "")))
        if diff.minor:
            shown = ", ".join(f"{old or '∅'} → {new or '∅'}" for old, new in diff.minor[:8])
            more = f" and {len(diff.minor) - 8} more" if len(diff.minor) > 8 else ""
            st.caption(f"Case/punctuation only (dotted underline): {md_escape(shown)}{more}")
        judge_panel(row, get_field(row.original, candidate.target_field))
        if schema in CHAT_LAYOUT or schema in PREFERENCE_SCHEMAS:
            # The whole conversation for context; images, audio and other parts as placeholders.
            _conversation(row, schema)
        else:
            with st.expander("Whole record"):  # collapsed: the buttons stay close to the texts
                st.text(record_fields(row.original, candidate.target_field))
    else:
        # A whole new record (e.g. a refusal example): shown as JSON text, never as HTML.
        record = candidate.record or {"text": candidate.text}
        st.code(json.dumps(record, ensure_ascii=False, indent=2), language="json")
