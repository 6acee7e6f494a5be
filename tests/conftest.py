"""Shared fixtures: a store on SQLite in a temp dir, the shared datasets, and the CLI in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from augment_core.cli import main as cli_main  # noqa: E402
from augment_core.store import Store  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
SAMPLE = REPO / "samples" / "sample_alpaca.jsonl"


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
