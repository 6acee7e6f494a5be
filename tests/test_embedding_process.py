"""The embedding model in a child process (augment_core.embedding_process): the same numbers as in
this process, and a child killed with SIGKILL in the middle of a studio run (RunRegistry, as the
Augment page starts it) fails that run with the reason; a rerun scores the rest. Slow: the real
model, real child processes. The real studio server under the same kill: test_browser_model_crash.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from augment_core import embedding_backend, quality, runs
from augment_core.embedding_backend import LocalBackend
from augment_core.embedding_process import EmbeddingProcess, shared_process
from augment_core.errors import ModelCrashed
from augment_core.run_registry import RunRegistry
from augment_core.store import Store
from tests.conftest import REPO
from tests.test_pipeline import load

pytestmark = pytest.mark.slow

TEXTS = [
    "Give three tips for staying healthy.",
    "What is the capital of France?",
    "Résumé: naïve café owners in São Paulo.",
    "Describe the river valley and its towns. " * 50,  # longer than the model's window
]
KILLED = "the embedding model process died (signal 9, SIGKILL"
TEMPLATES = {"templates": {"n": 3, "seed": 0, "noisy": False}}


@pytest.fixture(scope="module")
def child() -> Iterator[EmbeddingProcess]:
    process = EmbeddingProcess()
    yield process
    process.stop()


def test_the_child_gives_the_same_vectors_tokens_and_counts(child: EmbeddingProcess) -> None:
    local = LocalBackend.load()
    assert child.pid is None  # nothing started before the first call
    assert np.allclose(child.encode(TEXTS, 64), local.encode(TEXTS, 64), atol=1e-6, rtol=0)
    assert child.pid is not None
    for (vector, tokens), (want_vector, want_tokens) in zip(
        child.encode_tokens(TEXTS, 64), local.encode_tokens(TEXTS, 64), strict=True
    ):
        assert np.allclose(vector, want_vector, atol=1e-6, rtol=0)
        assert tokens.pieces == want_tokens.pieces and tokens.vectors.dtype == np.float32
        assert np.allclose(tokens.vectors, want_tokens.vectors, atol=1e-6, rtol=0)
    assert child.token_counts(TEXTS) == local.token_counts(TEXTS)
    assert (child.max_seq_length(), child.dimension()) == (local.max_seq_length(), local.dimension())
    # Through the Embedder, scores (token alignment and truncation included) come out alike.
    originals, rewrites = TEXTS[:2] + TEXTS[3:], [TEXTS[0].lower(), "Name France's capital.", TEXTS[3][:100]]
    ids = ["a", "b", "c"]
    here = quality.score_texts(ids, originals, rewrites, quality.Embedder(local))
    there = quality.score_texts(ids, originals, rewrites, quality.Embedder(child))
    assert [asdict(s) for s in there] == [asdict(s) for s in here]
    assert there[2].truncated


def test_a_child_killed_under_a_call_fails_that_call_and_the_next_call_starts_another(
    child: EmbeddingProcess,
) -> None:
    child.encode(TEXTS[:1], 64)
    pid = child.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # frozen, so the call below is surely in flight when the kill lands
    outcome: list[BaseException | object] = []

    def call() -> None:
        try:
            outcome.append(child.encode([f"text {i}" for i in range(50)], 64))
        except ModelCrashed as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while not child._lock.locked():  # the call holds the lock while it waits for its reply
        time.sleep(0.01)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    caller.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], ModelCrashed), outcome
    assert KILLED in str(outcome[0]) and "while embedding 50 texts" in str(outcome[0])
    assert child.pid is None  # reaped; the next call starts a new child
    assert child.encode(TEXTS[:1], 64).shape == (1, 384)
    assert child.pid not in (None, pid)


def count_scored(store: Store, dataset_id: int) -> tuple[int, int]:
    """(candidates with a score, candidates) of the dataset."""
    total = store.dataset_counts(dataset_id).candidates
    return total - store.count_unscored_candidates(dataset_id), total


def test_a_studio_run_survives_its_embedding_process_being_killed(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding_backend, "_kind", "process")  # as app.py sets it
    records = [{"instruction": f"Explain idea number {i} of the course in simple words.", "output": "ok"}
               for i in range(1000)]  # fmt: skip
    dataset = load(store, tmp_path, records)
    runs.run(store, runs.RunSpec(dataset="data", augmenters=TEMPLATES, llm=False, score=False))
    scored, total = count_scored(store, dataset.id)
    assert scored == 0 and total >= 2000  # five scoring batches of 200 records
    registry = RunRegistry()
    spec = runs.RunSpec(dataset="data", augmenters=TEMPLATES, llm=False, score=True)
    child = shared_process(quality.model_name_from_store(store))
    state = registry.start(store, spec)
    while count_scored(store, dataset.id)[0] == 0 and state.running:
        time.sleep(0.05)
    pid = child.pid
    assert pid is not None and state.running
    os.kill(pid, signal.SIGSTOP)  # frozen mid-run: at least three batches are still to be scored
    assert count_scored(store, dataset.id)[0] <= total - 2 * 600
    os.kill(pid, signal.SIGKILL)
    assert state.thread is not None
    state.thread.join(120)
    assert state.error is not None and KILLED in state.error, state.error
    partly = count_scored(store, dataset.id)[0]
    assert 0 < partly < total  # what was saved before the kill stays

    again = registry.start(store, spec)  # the page's Resume
    assert again is not state
    assert again.thread is not None
    again.thread.join(600)
    assert again.error is None and again.result is not None
    assert again.result.scored == total - partly  # only what had no score
    assert count_scored(store, dataset.id) == (total, total)
    assert child.pid not in (None, pid)


def test_the_studio_process_never_imports_torch(db_url: str) -> None:
    """Scoring a run, rescoring an edit and the diversity figures, with the backend app.py sets."""
    script = f"""
import sys
from augment_core import runs
from augment_core.diversity import dataset_diversity
from augment_core.edits import save_edit
from augment_core.embedding_backend import use_backend
from augment_core.importer import import_file
from augment_core.quality import Embedder, model_name_from_store
from augment_core.review import ReviewFilter
from augment_core.run_registry import RunRegistry
from augment_core.store import Store

use_backend("process")
store = Store({db_url!r})
import_file(store, {str(REPO / "samples" / "sample_alpaca.jsonl")!r}, name="s")
state = RunRegistry().start(store, runs.RunSpec(dataset="s", augmenters={TEMPLATES!r}, llm=False, score=True))
state.thread.join()
assert state.error is None and state.result.scored > 0, state.error
embedder = Embedder.load(model_name_from_store(store))
dataset = store.get_dataset("s")
row = store.review_page(dataset.id, ReviewFilter(), limit=1)[0]
save_edit(store, row.candidate.id, row.candidate.text + " Please keep it short.", "ana", embedder)
assert store.review_rows_in([row.candidate.id])[0].score is not None
print(dataset_diversity(store, dataset, embedder)["originals"].mean_pairwise_similarity is not None)
print(sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[-3:] == ["True", "[]", ""], result.stdout
