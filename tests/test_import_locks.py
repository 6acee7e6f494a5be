"""A long import never makes a reviewer's decision fail, and a killed import leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from augment_core.importer import import_file
from augment_core.records import Candidate
from augment_core.store import Store
from tests.conftest import REPO, SAMPLE


def _big_file(path: Path, records: int) -> Path:
    with path.open("w") as out:
        for i in range(records):
            out.write(json.dumps({"instruction": f"Describe item number {i} in detail.", "output": "x" * 40}) + "\n")
    return path


def _import_process(db_url: str, data: Path, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with (data.parent / "import.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "augment_core", "import", str(data), "--name", name,
                                 "--db", db_url], env=env, stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip


def _examples(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM examples").scalar_one())


def _one_candidate(store: Store) -> str:
    import_file(store, SAMPLE, name="sample")
    dataset = store.get_dataset("sample")
    assert dataset is not None
    example = next(store.iter_examples(dataset.id))[0]
    store.add_candidates([Candidate("c1", dataset.id, example.id, "manual", "instruction", "Say hello, please.")])
    return "c1"


@pytest.mark.slow
def test_decisions_are_stored_while_a_long_import_runs(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    cid = _one_candidate(store)
    process = _import_process(db_url, _big_file(tmp_path / "big.jsonl", 300_000), "big")
    decided = 0
    try:
        while process.poll() is None:  # decide over and over for as long as the import runs
            store.set_decision(cid, "approved" if decided % 2 else "rejected")
            decided += 1
            time.sleep(0.05)
        assert process.returncode == 0, (tmp_path / "import.log").read_text()
    finally:
        process.kill()
    assert decided > 10  # the import took a while, and no decision failed meanwhile
    big = store.get_dataset("big")
    assert big is not None and big.example_count == 300_000
    store.close()


@pytest.mark.slow
def test_a_killed_import_is_invisible_and_the_next_one_of_that_name_works(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    data = _big_file(tmp_path / "big.jsonl", 200_000)
    process = _import_process(db_url, data, "big")
    while process.poll() is None and _examples(store) < 10_000:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert store.dataset_names() == [] and store.get_dataset("big") is None  # half an import is never shown
    report = import_file(store, data, name="big")
    assert report.imported == 200_000 and store.dataset_names() == ["big"]
    big = store.get_dataset("big")
    assert big is not None and big.example_count == 200_000
    store.close()


def test_a_failed_import_leaves_no_dataset(tmp_path: Path, store: Store) -> None:
    from augment_core.errors import DatasetFormatError
    from augment_core.importer import BATCH_SIZE

    bad = tmp_path / "bad.jsonl"
    lines = [json.dumps({"instruction": f"Task {i}.", "output": "ok"}) for i in range(BATCH_SIZE * 2)]
    bad.write_text("\n".join([*lines, "{not json"]) + "\n")  # fails after two batches were committed
    with pytest.raises(DatasetFormatError, match=f"bad.jsonl:{BATCH_SIZE * 2 + 1}"):
        import_file(store, bad, name="bad")
    assert store.dataset_names() == []
    assert _examples(store) == 0
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM datasets").scalar_one() == 0
