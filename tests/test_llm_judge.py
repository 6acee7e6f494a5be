"""The LLM judge through the CLI and the real OpenAI SDK against the loopback server: verdicts stored
with their reason, cached, costed, refused for the bundled 135M model, usable in filters and bulk rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from augment_core.records import DecisionStatus
from augment_core.review import ReviewFilter, bulk_review
from augment_core.store import Store
from augment_core.writers import write_records
from tests.llm_server import Call, serve

PAIRS = [
    ("Name three primary colours.", "List three primary colours."),
    ("List 3 fruits.", "List 5 fruits."),
    ("Write a haiku about the sea.", "Compose a haiku about the ocean."),
    ("Summarise the article in 20 words.", "Summarise the article in 200 words."),
]


def judge_reply(call: Call) -> str:
    """A judge that reads the prompt: the meaning changed when the numbers differ."""
    original, rewrite = re.findall(r"<<<(.*?)>>>", call.prompt, re.DOTALL)
    same = re.findall(r"\d+", original) == re.findall(r"\d+", rewrite)
    changed = "" if same else f"the number {re.findall(r'[0-9]+', original)} became {re.findall(r'[0-9]+', rewrite)}"
    verdict = {"keeps_meaning": same, "confidence": 0.9, "changed": changed,
               "reason": "Same request in other words." if same else "It asks for a different amount."}  # fmt: skip
    return "Here is my verdict:\n```json\n" + json.dumps(verdict) + "\n```"  # fenced, with prose: parsed anyway


def _load(run_cli: Any, tmp_path: Path) -> None:
    source = tmp_path / "originals.jsonl"
    originals = [{"id": str(i), "instruction": a, "input": "", "output": "x"} for i, (a, _) in enumerate(PAIRS)]
    write_records(source, originals)
    assert run_cli("import", str(source))[0] == 0
    theirs = tmp_path / "theirs.jsonl"
    write_records(theirs, [{"source_id": str(i), "text": b} for i, (_, b) in enumerate(PAIRS)])
    assert run_cli("import-candidates", str(theirs))[0] == 0


def _args(server: Any, *more: str) -> list[str]:
    return ["judge", "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", server.openai_base_url, *more]


def test_judge_stores_verdicts_with_reasons_and_they_filter_and_bulk_approve(
    run_cli: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    _load(run_cli, tmp_path)
    with serve(responder=judge_reply) as server:
        code, out, err = run_cli(*_args(server))
        assert code == 0, err
        head = r"judged 4 candidates of 'originals' with openai gpt-4o-mini \(0 failed\): 4 calls, 0 cached, \$"
        assert re.match(head, out)
        assert server.requests == 4
        assert all(c.body.get("temperature") == 0.0 for c in server.calls)
        code, out, _ = run_cli(*_args(server))  # a rerun: every pending candidate has its verdict
        assert code == 0 and "judged 0 candidates" in out and "nothing to judge" in out and server.requests == 4
        code, out, _ = run_cli(*_args(server, "--again"))  # judged anew: answered from the cache, free
        assert code == 0 and "4 calls" not in out and "4 cached" in out and server.requests == 4

    store = Store(db_url)
    dataset = store.get_dataset("originals")
    assert dataset is not None
    changed = store.review_page(dataset.id, ReviewFilter(llm_keeps=False))
    assert sorted(r.candidate.text for r in changed) == ["List 5 fruits.", "Summarise the article in 200 words."]
    verdicts = store.get_judgements([r.candidate.id for r in changed])
    assert {v.reason for v in verdicts.values()} == {"It asks for a different amount."}
    assert all(v.provider == "openai" and v.score == pytest.approx(0.1) and "became" in v.changed
               for v in verdicts.values())  # fmt: skip
    assert store.count_review(dataset.id, ReviewFilter(min_llm_score=0.5)) == 2
    assert store.count_review(dataset.id, ReviewFilter(llm_judged=False)) == 0
    # A bulk rule on the judge's score: approve what it is sure keeps the meaning.
    page = ReviewFilter(status=DecisionStatus.PENDING, min_llm_score=0.8)
    assert bulk_review(store, dataset, "approve-filtered", page) == 2
    approved = store.review_page(dataset.id, ReviewFilter(status=DecisionStatus.APPROVED))
    texts = sorted(r.candidate.text for r in approved)
    assert texts == ["Compose a haiku about the ocean.", "List three primary colours."]
    store.close()


def test_an_unusable_reply_gets_one_repair_then_counts_as_failed(
    run_cli: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    _load(run_cli, tmp_path)

    def replies(call: Call) -> str:
        if "It could not be used" in call.prompt and "fruits" not in call.prompt:
            return judge_reply(Call(call.api, call.model, call.system, call.prompt.split("\n\n---")[0], 0, {}, {}))
        return '{"keeps_meaning": true, "confidence": 7, "changed": "", "reason": "x"}'  # out of range

    with serve(responder=replies) as server:
        code, out, err = run_cli(*_args(server, "--concurrency", "1"))
        assert code == 1 and "(1 failed)" in out and "confidence: 7 is greater than the maximum of 1" in err
        assert server.requests == 8  # each pair once and its repair once
    store = Store(db_url)
    dataset = store.get_dataset("originals")
    assert dataset is not None
    assert store.count_review(dataset.id, ReviewFilter(llm_judged=True)) == 3  # the repaired ones are stored
    store.close()


def test_the_bundled_small_model_is_not_offered_as_a_judge(run_cli: Any, tmp_path: Path) -> None:
    _load(run_cli, tmp_path)
    code, _, err = run_cli("judge", "--provider", "local")
    assert code == 1 and "too small to judge meaning" in err and err.count("\n") == 1
