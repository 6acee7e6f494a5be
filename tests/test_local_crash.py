"""The bundled model's server killed with SIGKILL in the middle of a run: through the run service
(the CLI's path) and on the Augment page (the studio's). Slow: real llama.cpp servers."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from augment_core import runs
from augment_core.llm import LocalProvider
from augment_core.llm.local_provider import DEFAULT_MODEL_NAME, N_CTX, default_model_path, default_threads
from augment_core.llm.local_server import ModelServer, shared_server
from augment_core.progress import Progress
from augment_core.store import Store
from tests.test_pages import MakeApp, _wait_for_run, make_app, shown  # noqa: F401 - the fixture
from tests.test_pipeline import alpaca, load

pytestmark = pytest.mark.slow

CRASH = "the local model server crashed (exit -9); restarted"
AUGMENTERS = {"paraphrase": {"n": 2}}


def kill_when_busy(server: ModelServer, started: threading.Event) -> threading.Thread:
    """Kill -9 the server half a second after the first item is done (the next one is then in flight)."""

    def kill() -> None:
        started.wait(timeout=300)
        time.sleep(0.5)
        pid = server.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_run_survives_its_model_server_being_killed(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(4))
    provider = LocalProvider(shared=False)
    first_done = threading.Event()

    def progress(p: Progress) -> None:
        if p.done >= 1:
            first_done.set()

    killer = kill_when_busy(provider.server(), first_done)
    first = runs.Job(store, runs.RunSpec(dataset="data", augmenters=AUGMENTERS), provider=provider).run(progress)
    killer.join()
    report = first.report
    assert report.done == report.total == 4 and not report.cancelled  # the run went on after the crash
    assert report.failed >= 1
    reasons = dict(store.failure_reasons(dataset.id, limit=20))
    assert any(CRASH in reason for reason in reasons), reasons
    assert provider.server().pid is None  # restarted for the rest of the run, then stopped with it

    # A rerun retries what failed, on a fresh server; nothing fails of a crash any more.
    second = runs.run(store, runs.RunSpec(dataset="data", augmenters=AUGMENTERS), provider=LocalProvider(shared=False))
    assert second.report.skipped < 4 and second.report.by_augmenter["paraphrase"].usage.calls >= 1
    assert not any(CRASH in reason for reason, _ in store.failure_reasons(dataset.id, limit=20))


def test_the_studio_survives_its_model_server_being_killed(
    make_app: MakeApp,  # noqa: F811 - the fixture imported above
    store: Store,
    tmp_path: Path,
) -> None:
    load(store, tmp_path, alpaca(3), name="small")
    at = make_app("views/augment.py", dataset="small")
    assert at.selectbox(key="provider").value == "local"
    at.checkbox(key="aug_use_paraphrase").check().run()
    at.number_input(key="aug_paraphrase_n").set_value(2)
    at.checkbox(key="aug_score").uncheck().run()
    at.button(key="aug_run").click().run()
    # The studio's provider uses the process's shared server for the bundled model.
    server = shared_server(default_model_path(), DEFAULT_MODEL_NAME, n_ctx=N_CTX, n_threads=default_threads())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        at.run()
        done = [m.value for m in at.metric if m.label == "Done"]
        if done and int(done[0].replace(",", "")) >= 1 and server.pid:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_for_run(at, seconds=300)
    assert not at.exception
    assert "Finished" in shown(at.success[0].value)
    measured = [c.value for c in at.caption if c.value.startswith("Measured on this run with the local model")]
    assert measured and " s per item, " in measured[0] and "% of the candidates failed" in measured[0]
    reasons = [frame.value.to_string() for frame in at.dataframe]
    assert any(CRASH in text for text in reasons), reasons  # the reason, one click away
    # The studio process still serves: a new session draws the page and the local model again.
    again = make_app("views/augment.py", dataset="small")
    assert "Finished" in shown(again.success[0].value)
    assert server.pid is not None and server.pid != pid
