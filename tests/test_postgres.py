"""The store against a real PostgreSQL server (a team sharing one review), started by the test.

Debian's PostgreSQL 15 server binaries are on the machine (`make test` installs them when they are
missing); the test runs initdb in a temp folder as the `postgres` user and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from augment_core.cli import main as cli_main
from augment_core.records import Candidate, Flag, Score
from augment_core.review import ReviewFilter
from augment_core.store import Store
from tests.conftest import SAMPLE

pytestmark = pytest.mark.slow

BIN = next((Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/nonexistent"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    assert (BIN / "initdb").exists(), "PostgreSQL server binaries missing: apt-get install postgresql"
    # Not under pytest's tmp folder: that one is private to root, and the server runs as postgres.
    data = Path(tempfile.mkdtemp(prefix="augment-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(
        _as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(data / "server.log"), "start"
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"), capture_output=True
        )


def test_the_whole_flow_on_postgresql(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["import", str(SAMPLE), "--name", "pg", "--db", pg_url]) == 0
    assert cli_main(["run", "--augmenters", "templates", "--db", pg_url]) == 0
    store = Store(pg_url)
    dataset = store.get_dataset("pg")
    assert dataset is not None and dataset.example_count == 24
    counts = store.dataset_counts(dataset.id)
    assert counts.candidates > 24

    # resume: the same candidates again add nothing
    example = next(store.iter_examples(dataset.id))[0]
    extra = [
        Candidate(
            id=f"pg-{i}",
            dataset_id=dataset.id,
            example_id=example.id,
            augmenter="manual",
            target_field="instruction",
            text=f"Variant {i}",
        )
        for i in range(3)
    ]
    assert store.add_candidates(extra) == 3
    assert store.add_candidates(extra) == 0

    # decisions are upserts: two decisions on one candidate, an edit kept through a later approve
    store.set_decision("pg-0", "approved", edited_text="Variant zero")
    store.set_decision("pg-0", "approved")
    assert store.get_decision("pg-0").edited_text == "Variant zero"  # type: ignore[union-attr]
    store.set_setting("mix.ratio", "1:1")
    store.set_setting("mix.ratio", "1:2")
    assert store.get_setting("mix.ratio") == "1:2"
    store.cache_put("k", "openai", "m", {"text": "a"})
    store.cache_put("k", "openai", "m", {"text": "b"})
    assert store.cache_get("k") == {"text": "a"}

    store.save_scores(
        [
            Score(
                candidate_id="pg-1",
                semantic_similarity=0.9,
                is_valid=True,
                in_optimal_band=True,
                length_ratio=1.0,
                unique_words=1,
                flags=[Flag("number", "3", "missing")],
            )
        ]
    )
    flt = ReviewFilter(augmenters=("manual",))
    assert store.count_review(dataset.id, flt) == 3
    assert len(store.review_page(dataset.id, flt, limit=2)) == 2
    assert store.bulk_decide(dataset.id, ReviewFilter(augmenters=("manual",), status="pending"), "rejected") == 2
    store.close()

    out = tmp_path / "pg.jsonl"
    assert cli_main(["export", str(out), "--db", pg_url]) == 0
    assert out.read_text().count("\n") == 25  # 24 originals + the one approved candidate
    capsys.readouterr()
