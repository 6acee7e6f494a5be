"""Shared fixtures: a store on SQLite in a temp dir, the shared datasets, and the CLI in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import sqlalchemy as sa  # noqa: E402

from augment_core.cli import main as cli_main  # noqa: E402
from augment_core.records import Flag  # noqa: E402
from augment_core.store import Store, score_flags, scores  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
SAMPLE = REPO / "samples" / "sample_alpaca.jsonl"


def replace_flags(store: Store, flags_by_candidate: dict[str, list[Flag]]) -> None:
    """Give scored candidates other guard flags (tests that need flags the scorer would not raise)."""
    with store.transaction() as conn:
        for cid, flags in flags_by_candidate.items():
            conn.execute(score_flags.delete().where(score_flags.c.candidate_id == cid))
            rows = [{"candidate_id": cid, "position": i, "kind": f.kind, "item": f.item, "change": f.change}
                    for i, f in enumerate(flags)]  # fmt: skip
            if rows:
                conn.execute(score_flags.insert(), rows)
            conn.execute(sa.update(scores).where(scores.c.candidate_id == cid).values(flag_count=len(flags)))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def run_cli(db_url: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `augment ARGS` against the temp database; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_main([*args, "--db", db_url])
        out, err = capsys.readouterr()
        return code, out, err

    return run
