"""The run service: a spec built, run, closed and reported; previews of N records; the counts of the
estimate and the result; the ETA from a moving rate; the background registry."""

from __future__ import annotations

import threading
import types
from pathlib import Path
from typing import Any

import pytest

from augment_core import runs
from augment_core.augmenters import build
from augment_core.errors import ConfigError, InputError
from augment_core.llm.base import Completion, Request
from augment_core.pipeline import Pipeline
from augment_core.progress import Progress, Rate
from augment_core.run_registry import RunRegistry
from augment_core.runs import RunSpec
from augment_core.store import Store, candidates
from tests.llm_server import serve
from tests.test_augmenters_llm import FakeProvider
from tests.test_pipeline import alpaca, load, paraphrases, rows


class ClosingProvider(FakeProvider):
    """A fake that records whether the client closed it."""

    def __init__(self, reply: Any = None) -> None:
        super().__init__(reply or (lambda r: paraphrases(r.prompt)))
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


def translations(request: Request) -> str:
    """A fake LLM translator: tags the text with the target language, so a round trip changes it."""
    text = request.prompt.split("\n\n", 1)[1]
    target = request.prompt.split(" to ", 1)[1].split(":", 1)[0]
    return f"{text} [{target}]"


def fake_llm(request: Request) -> str:
    return translations(request) if request.prompt.startswith("Translate") else paraphrases(request.prompt)


def spec(dataset: str = "data", **kwargs: Any) -> RunSpec:
    return RunSpec(dataset=dataset, augmenters=kwargs.pop("augmenters", {"paraphrase": {"n": 3}}), **kwargs)


def test_a_run_closes_its_client_and_reports_what_it_did(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path, alpaca(4))
    provider = ClosingProvider()
    result = runs.run(store, spec(), provider=provider)
    assert provider.closed == 1 and len(provider.requests) == 4
    assert result.report.added == 12 and result.examples == 4 and result.scored == 0
    assert result.report.by_augmenter["paraphrase"].usage.calls == 4
    assert result.candidate_ids == ()  # only a preview keeps its ids

    estimated = ClosingProvider()
    assert runs.estimate(store, spec(), provider=estimated).rows["paraphrase"].skipped == 4
    assert estimated.closed == 1 and estimated.requests == []


def test_a_failed_run_still_closes_its_client(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path, alpaca(4))

    def refuse(request: Request) -> str:
        raise ConfigError("set FAKE_API_KEY")

    provider = ClosingProvider(refuse)
    with pytest.raises(ConfigError, match="FAKE_API_KEY"):
        runs.run(store, spec(), provider=provider)
    assert provider.closed == 1
    broken = ClosingProvider()
    with pytest.raises(InputError, match="setting 'paraphrase.n'"):  # a bad setting: closed while building
        runs.Job(store, spec(augmenters={"paraphrase": {"n": "lots"}}), provider=broken)
    assert broken.closed == 1


def test_a_run_closes_the_real_sdk_client_inside_its_loop(store: Store, tmp_path: Path) -> None:
    from augment_core.llm.openai_provider import OpenAIProvider

    load(store, tmp_path, alpaca(3))
    seen: list[Any] = []

    class Watched(OpenAIProvider):
        async def complete(self, request: Request) -> Completion:
            completion = await super().complete(request)
            seen.append(self._client)
            return completion

    with serve(responder=lambda call: paraphrases(call.prompt)) as server:
        provider = Watched("gpt-4o-mini", api_key="sk-test-not-a-real-key", base_url=server.openai_base_url)
        result = runs.run(store, spec(), provider=provider)
    assert result.report.added == 9 and len(seen) == 3
    assert seen[0].is_closed() and provider._client is None


def test_the_key_is_not_in_the_spec_repr() -> None:
    shown = repr(RunSpec(dataset="d", augmenters={"templates": {}}, provider="anthropic", api_key="sk-ant-secret-1"))
    assert "sk-ant-secret-1" not in shown and "anthropic" in shown
    with pytest.raises(InputError, match="limit"):
        RunSpec(dataset="d", augmenters={"templates": {}}, limit=0)
    with pytest.raises(InputError, match="no augmenter"):
        RunSpec(dataset="d", augmenters={})


def test_a_preview_stores_candidates_of_n_records_only_and_the_full_run_skips_them(
    store: Store, tmp_path: Path
) -> None:
    dataset = load(store, tmp_path, alpaca(10))
    provider = ClosingProvider()
    preview = runs.run(store, spec(limit=3), provider=provider)
    assert preview.examples == 3 and preview.report.total == 3 and preview.report.added == 9
    stored = rows(store)
    first_three = [e.id for e in runs.select_examples(store, dataset, 3)]
    assert {r["example_id"] for r in stored} == set(first_three) and len(stored) == 9
    shown = runs.preview_rows(store, preview)
    styles = ("Kindly:", "Quickly:", "Formally:")
    assert [r.text for r in shown[:3]] == [f"{s} Describe item 0 in two sentences." for s in styles]
    assert shown[0].original == "Describe item 0 in two sentences." and shown[0].augmenter == "paraphrase"

    again = runs.run(store, spec(limit=3), provider=provider)  # the same records: nothing to do ...
    assert again.report.added == 0 and again.report.skipped == 3 and len(provider.requests) == 3
    assert runs.preview_rows(store, again) == shown  # ... and the stored candidates are shown again

    full = runs.run(store, spec(), provider=provider)
    assert full.report.skipped == 3 and full.report.added == 21 and len(provider.requests) == 10


def test_a_random_sample_is_seeded_spread_and_in_file_order(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(30))
    picked = [e.position for e in runs.select_examples(store, dataset, 5, "random", seed=7)]
    assert picked == [e.position for e in runs.select_examples(store, dataset, 5, "random", seed=7)]
    assert len(set(picked)) == 5 and picked == sorted(picked)
    others = {tuple(e.position for e in runs.select_examples(store, dataset, 5, "random", seed=s)) for s in range(8)}
    assert len(others) > 1 and picked != [1, 2, 3, 4, 5]
    assert len(runs.select_examples(store, dataset, 50, "random")) == 30  # more than there are: all of them
    result = runs.run(store, spec(augmenters={"templates": {"n": 1}}, limit=5, sample="random", seed=7, llm=False))
    stored = {r["example_id"] for r in rows(store)}
    assert stored == {e.id for e in runs.select_examples(store, dataset, 5, "random", seed=7)}
    assert result.examples == 5
    full = runs.run(store, spec(augmenters={"templates": {"n": 1}}, llm=False))
    assert (full.report.skipped, full.report.added, full.report.duplicates) == (5, 25, 0)  # the sample's ids


def test_estimate_and_result_count_calls_and_cache_hits_alike_after_a_lost_write(
    store: Store, tmp_path: Path
) -> None:
    """The issue's "2 calls" estimated and "0 calls" reported: a run whose replies were cached but
    whose batch was never written (the process died) is estimated and reported again. Before, the
    estimate hid cache hits and counted a cached round trip's second hop as a call to make, and the
    studio's result table showed live calls only; now both count calls and cache hits the same way."""
    load(store, tmp_path, alpaca(10))
    augmenters = {"paraphrase": {"n": 3}, "backtranslation": {"pivots": "de"}}
    first = runs.run(store, spec(augmenters=augmenters), provider=FakeProvider(fake_llm))
    assert first.report.by_augmenter["backtranslation"].usage.calls == 20  # two hops per record
    with store.engine.begin() as conn:  # the write is lost; the LLM cache has every reply
        conn.execute(candidates.delete())

    provider = FakeProvider(fake_llm)
    planned = runs.estimate(store, spec(augmenters=augmenters), provider=provider).rows
    result = runs.run(store, spec(augmenters=augmenters), provider=provider)
    assert provider.requests == []
    for name, hops in (("paraphrase", 1), ("backtranslation", 2)):
        row, done = planned[name], result.report.by_augmenter[name]
        assert (row.items, row.skipped, row.calls, row.cached) == (10, 0, 0, 10 * hops), name
        assert (done.items, done.skipped, done.usage.calls, done.usage.cached) == (10, 0, 0, 10 * hops), name
    assert result.report.by_augmenter["backtranslation"].added == 10


def test_rate_waits_for_a_few_items_then_follows_the_recent_pace() -> None:
    rate = Rate(window=4, warmup=3)
    rate.tick(100.0)  # the first item: after loading a model, say
    rate.tick(101.0)
    assert rate.eta(10, 101.0) is None  # estimating
    rate.tick(102.0)
    assert rate.eta(10, 102.0) == 10.0  # one item a second
    for at in (106.0, 110.0, 114.0, 118.0):  # slower now: four seconds an item
        rate.tick(at)
    assert rate.eta(10, 118.0) == 40.0  # the window forgot the fast start
    assert rate.eta(10, 138.0) == 90.0  # nothing finished for 20 s: the ETA grows (36 s for 4 items)
    assert rate.eta(0, 138.0) == 0.0


def test_eta_of_a_run_with_a_known_rate(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = load(store, tmp_path, alpaca(8))
    clock = [1000.0]
    monkeypatch.setattr("augment_core.run_tally.time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    events: list[Progress] = []

    def two_seconds_an_item(event: Progress) -> None:
        events.append(event)
        clock[0] += 2.0

    Pipeline(store, dataset, [build("templates", {"n": 1})], concurrency=1, on_progress=two_seconds_an_item).run()
    assert [e.eta_seconds for e in events] == [None, None, 10.0, 8.0, 6.0, 4.0, 2.0, 0.0]


def test_the_registry_runs_one_job_per_dataset_in_a_thread(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path, alpaca(6))
    registry = RunRegistry()
    gate = threading.Event()

    def slow(request: Request) -> str:
        gate.wait(30)
        return paraphrases(request.prompt)

    provider = ClosingProvider(slow)
    state = registry.start(store, spec(), provider=provider)
    assert registry.start(store, spec(augmenters={"templates": {}}), provider=ClosingProvider()) is state
    gate.set()
    assert state.thread is not None
    state.thread.join(30)
    assert not state.running and state.error is None and state.report is not None
    assert state.report.added == 18 and state.phase == "finished" and provider.closed == 1
    with pytest.raises(InputError, match="no dataset called 'nope'"):
        registry.start(store, spec("nope"))


def test_a_scored_run_scores_what_is_new_and_says_how_far_it_got(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(3))
    seen: list[tuple[int, int]] = []
    result = runs.run(store, spec(score=True), provider=ClosingProvider(), scoring=lambda *step: seen.append(step))
    assert result.scored == 9 and seen[0] == (0, 9) and seen[-1] == (9, 9)
    assert store.count_unscored_candidates(dataset.id) == 0
    again = runs.run(store, spec(score=True), provider=ClosingProvider())
    assert again.scored == 0  # nothing new: the model is not even loaded
