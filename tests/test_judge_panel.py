"""The LLM judge on the review page: the verdict and reason shown as plain text, the filter, the button."""

from __future__ import annotations

import json

import pytest

from augment_core.records import Judgement
from augment_core.store import Store
from tests.llm_server import serve
from tests.test_pages import MakeApp, make_app, seed  # noqa: F401  # the page fixture

HOSTILE_REASON = '<b>bold</b> **not bold** <script>alert("x")</script>'


def test_review_shows_the_verdict_filters_on_it_and_asks_the_judge(
    make_app: MakeApp, store: Store, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    ids = seed(store)
    store.save_judgements([Judgement(ids[0], False, 0.15, "a number changed", HOSTILE_REASON, "openai", "m", 0.0012)])
    at = make_app("views/review.py", dataset="sample")
    badges = [m.value for m in at.markdown]
    assert any(":red-badge[LLM judge: changed] score **0.15**" in b and "$0.0012" in b for b in badges)
    texts = [t.value for t in at.text]
    assert f"changed: a number changed\nwhy: {HOSTILE_REASON}" in texts  # st.text: shown literally

    at.selectbox(key="rv_llm_judge").set_value("changed").run()
    assert "Candidate 1 of 1" in at.markdown[0].value
    at.selectbox(key="rv_llm_judge").set_value("not asked").run()
    assert "Candidate 1 of 47" in at.markdown[0].value
    assert any(":gray-badge[LLM judge: not asked]" in m.value for m in at.markdown)
    # Only the bundled model is usable here: no button, a note why.
    assert not [b for b in at.button if b.key.startswith("rv_judge_")]
    assert any("not the bundled 135M model" in c.value for c in at.caption)

    # The button asks the sidebar's provider (the loopback server) and stores the verdict.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    reply = {"keeps_meaning": True, "confidence": 0.8, "changed": "", "reason": "Only politeness was added."}
    with serve(responder=lambda call: json.dumps(reply)) as server:
        at.session_state["base_url"] = server.openai_base_url
        at.run()
        at.selectbox(key="provider").set_value("openai").run()
        at.button(key=f"rv_judge_{ids[1]}").click().run()
        assert not at.exception and server.requests == 1
    verdict = store.get_judgements([ids[1]])[ids[1]]
    assert verdict.keeps_meaning and verdict.score == pytest.approx(0.8) and verdict.provider == "openai"
    assert not at.error
