"""Two reviewers at once, in two processes, on SQLite and on a real PostgreSQL server: nothing lost.

Both decide the same 500 candidates at the same moment: every response is stored and each
candidate's status follows the rule. Both take work from their queues at once: no candidate is
handed to both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from augment_core.records import Candidate
from augment_core.store import Store
from tests.conftest import REPO
from tests.test_postgres import pg_url  # noqa: F401 - the fixture that starts the server

pytestmark = pytest.mark.slow
N = 500

DECIDE = """
import sys, time
from augment_core.store import Store
url, who, mode, start = sys.argv[1:5]
store = Store(url)
while time.time() < float(start):
    time.sleep(0.005)
for i in range(500):
    status = "approved" if mode == "all" or i % 2 == 0 else "rejected"
    store.set_decision(f"k{i:04d}", status, reviewer=who)
"""

TAKE = """
import sys, time
from augment_core.store import Store
url, who, start = sys.argv[1:4]
store = Store(url)
dataset = store.get_dataset("team")
while time.time() < float(start):
    time.sleep(0.005)
for _ in range(150):
    cid = store.next_in_queue(dataset.id, who)
    store.set_decision(cid, "approved", reviewer=who)
"""


def _fill(url: str, name: str = "team") -> Store:
    store = Store(url)
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, name, "alpaca", "t.jsonl", "jsonl", {})
        store.add_examples(conn, dataset_id, [(1, "e", {"instruction": "Say hi", "output": "Hi"})])
    example = next(store.iter_examples(dataset_id))[0]
    store.add_candidates(
        [Candidate(f"k{i:04d}", dataset_id, example.id, "manual", "instruction", f"Say hi {i}") for i in range(N)]
    )
    return store


def _run_both(script: str, *argsets: list[str]) -> None:
    start = str(time.time() + 3)  # both start on the same clock tick, after their imports
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, *args, start], env=env, stderr=subprocess.PIPE)
        for args in argsets
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'team.db'}"
        return
    pg: str = request.getfixturevalue("pg_url")
    store = Store(pg)
    with store.engine.begin() as conn:  # a fresh schema for each test on the one server
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    store.close()
    yield pg


def test_two_reviewers_deciding_the_same_candidates_at_once_lose_nothing(url: str) -> None:
    store = _fill(url)
    store.set_setting("review.min_responses", 2)
    store.set_setting("review.agreement", "unanimous")
    _run_both(DECIDE, [url, "ann", "all"], [url, "bob", "alternate"])
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM responses").scalar_one() == 2 * N
    # Agreeing on the even ones (approved), disagreeing on the odd ones (pending): the rule saw both responses.
    for i in range(N):
        decision = store.get_decision(f"k{i:04d}")
        assert (decision.status if decision else None) == ("approved" if i % 2 == 0 else None), i
    store.close()


def test_two_queues_at_once_never_hand_out_the_same_candidate(url: str) -> None:
    store = _fill(url)
    _run_both(TAKE, [url, "ann"], [url, "bob"])
    dataset = store.get_dataset("team")
    assert dataset is not None
    answered = store.responses_by_reviewer(dataset.id)
    assert answered == {"ann": 150, "bob": 150}
    with store.engine.connect() as conn:  # one response each: nobody was given a candidate the other had
        assert conn.exec_driver_sql("SELECT count(DISTINCT candidate_id) FROM responses").scalar_one() == 300
    store.close()
