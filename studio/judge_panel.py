"""The LLM judge on the review card: its verdict and reason, and a button to ask it about this candidate.

studio/review_card.py calls ``judge_panel(row, original_text)``, views/review.py ``judge_filter()``;
the provider is the sidebar's choice.
The judge's words come from a model: shown as plain text, never as Markdown or HTML.
"""

from __future__ import annotations

import streamlit as st

from augment_core.errors import AugmentError
from augment_core.records import Judgement
from augment_core.store import ReviewRow
from studio.common import get_store, md_code
from studio.sidebar import provider_choice, uses_bundled_model


def verdict_badge(judgement: Judgement | None) -> str:
    """One Markdown line: the verdict as a badge, its score, and who judged (model names in code spans)."""
    if judgement is None:
        return ":gray-badge[LLM judge: not asked]"
    badge = ":green-badge[LLM judge: keeps meaning]" if judgement.keeps_meaning else ":red-badge[LLM judge: changed]"
    who = md_code(f"{judgement.provider} {judgement.model}".strip())
    return f"{badge} score **{judgement.score:.2f}** · {who} · ${judgement.cost_usd:.4f}"


def verdict_text(judgement: Judgement) -> str:
    """What changed and why, as plain text."""
    changed = f"changed: {judgement.changed}\n" if judgement.changed else ""
    return f"{changed}why: {judgement.reason}"


def ask_judge(candidate_id: str, original_text: str, text: str) -> None:
    """Button callback: one call to the judge with the sidebar's provider; the verdict is stored."""
    import asyncio

    from augment_core.llm import LLMClient, make_provider
    from augment_core.llm_judge import PairToJudge, judge_pairs, judge_refusal

    choice = provider_choice()
    store = get_store()
    try:
        if choice is None:
            raise AugmentError("no LLM provider is usable: choose one in the sidebar")
        provider = make_provider(choice.name, choice.model, choice.base_url, choice.api_key)
        refusal = judge_refusal(provider)
        if refusal:
            raise AugmentError(refusal)
        client = LLMClient(provider, store, concurrency=1)

        async def go() -> None:
            async with client:
                report = await judge_pairs(client, [PairToJudge(candidate_id, original_text, text)])
            store.save_judgements(list(report.verdicts.values()))
            if report.errors:
                raise AugmentError(report.errors[0])

        asyncio.run(go())
    except AugmentError as exc:
        st.session_state["rv_judge_error"] = str(exc)


JUDGE_FILTERS: dict[str, dict[str, bool]] = {
    "any": {},
    "keeps meaning": {"llm_keeps": True},
    "changed": {"llm_keeps": False},
    "not asked": {"llm_judged": False},
}


JUDGE_KEY = "rv_llm_judge"  # the select's widget key; views/review.py keeps its value in the address


def judge_filter() -> dict[str, bool]:
    """The review filter's LLM judge part (a select box): ReviewFilter keyword arguments."""
    chosen = st.selectbox("LLM judge", list(JUDGE_FILTERS), key=JUDGE_KEY,
                          help="the LLM judge's verdict (`augment judge` or the card's button)")  # fmt: skip
    return JUDGE_FILTERS[chosen]


def judge_panel(row: ReviewRow, original_text: str) -> None:
    """The verdict (or "not asked"), what changed and why, and the button."""
    judgement = get_store().get_judgements([row.candidate.id]).get(row.candidate.id)
    st.markdown(verdict_badge(judgement))
    if judgement is not None:
        st.text(verdict_text(judgement))
    choice = provider_choice()
    if choice is None or uses_bundled_model(choice.name, choice.model):
        st.caption("The LLM judge needs a provider that can judge meaning (not the bundled 135M model): "
                   "choose anthropic or openai in the sidebar.")  # fmt: skip
        return
    label = "Ask the LLM judge" if judgement is None else "Ask the LLM judge again"
    st.button(label, key=f"rv_judge_{row.candidate.id}", on_click=ask_judge,
              args=(row.candidate.id, original_text, row.text),
              help="a second opinion from the sidebar's provider: keeps the meaning or not, and why")  # fmt: skip
    if "rv_judge_error" in st.session_state:
        st.error(st.session_state.pop("rv_judge_error"))
