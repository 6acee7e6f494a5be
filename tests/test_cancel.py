"""Cancel (issue 17 point 4): generation stops within a few seconds, abandoning the requests in flight
(nothing of them stored), and scoring stops between batches; Resume completes both."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from augment_core import runs
from augment_core.run_registry import RunRegistry
from augment_core.runs import RunSpec
from augment_core.store import Store
from tests.llm_server import serve
from tests.test_pipeline import alpaca, load, paraphrases, rows

KEY = "sk-ant-test-not-a-real-key"


def _wait_for(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.05)


def test_cancel_abandons_the_requests_in_flight_and_stores_what_finished(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(12))
    with serve(responder=lambda call: paraphrases(call.prompt)) as server:
        # Every item but the first three hangs: only a cancel that abandons them lets the run end
        # (the client would wait 60 s per attempt, 6 attempts).
        for i in range(3, 12):
            server.fail("hang", times=99, match=f"item {i} ")
        spec = RunSpec(dataset="data", augmenters={"paraphrase": {"n": 3}}, provider="anthropic",
                       base_url=server.base_url, api_key=KEY, concurrency=4)  # fmt: skip
        state = RunRegistry().start(store, spec)
        # Three items done (their replies read by the client), the fourth sent and hanging.
        _wait_for(lambda: state.progress is not None and state.progress.done == 3 and server.requests >= 4)
        state.cancel.set()
        assert state.thread is not None
        state.thread.join(30)
        assert not state.thread.is_alive() and not state.running, "the hung requests were waited for"
        in_flight = server.requests - server.served
    assert state.error is None and state.report is not None and state.report.cancelled
    assert in_flight >= 1
    stored = rows(store)
    # The three answered items are kept; nothing of the abandoned ones (no failure either).
    assert len(stored) == 9 and {r["status"] for r in stored} == {"ok"}
    assert all(any(f"item {i} " in r["text"] for i in range(3)) for r in stored)
    assert state.report.added == 9 and state.report.done == 3
    # Resume: the stored items are skipped, the rest are made.
    with serve(responder=lambda call: paraphrases(call.prompt)) as server:
        again = runs.run(store, RunSpec(dataset="data", augmenters={"paraphrase": {"n": 3}}, provider="anthropic",
                                        base_url=server.base_url, api_key=KEY))  # fmt: skip
        assert server.requests == 9
    assert again.report.added == 27 and not again.report.cancelled
    assert store.count_unscored_candidates(dataset.id) == 36


def test_cancel_stops_scoring_between_batches_and_a_resume_scores_the_rest(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(6))
    runs.run(store, RunSpec(dataset="data", augmenters={"templates": {"n": 2}}, llm=False))
    total = store.count_unscored_candidates(dataset.id)
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def step(scored: int, to_score: int) -> None:
        seen.append((scored, to_score))
        if scored > 0:  # the Cancel click, after the first saved batch
            cancel.set()

    scored = runs.score_new(store, dataset, examples_per_batch=1, progress=step, cancel=cancel)
    assert 0 < scored < total and seen[-1] == (scored, total)
    assert store.count_unscored_candidates(dataset.id) == total - scored
    # A run cancelled while it scores says so (the page then offers Resume), and Resume scores the rest.
    spec = RunSpec(dataset="data", augmenters={"templates": {"n": 2}}, llm=False, score=True)
    stopped = runs.Job(store, spec, cancel=cancel).run()
    assert stopped.report.cancelled and stopped.scored == 0
    resumed = runs.run(store, spec)
    assert resumed.scored == total - scored and not resumed.report.cancelled
    assert store.count_unscored_candidates(dataset.id) == 0
