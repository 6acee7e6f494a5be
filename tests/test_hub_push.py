"""`augment export --push-to-hub`: huggingface_hub's real client against a stand-in Hub on 127.0.0.1
(tests/hub_server.py). What the Hub receives is the export byte for byte, and `datasets` loads it;
a refused token or an unreachable Hub fails with one line and keeps the export.

The export runs as its own process, as a user runs it: huggingface_hub reads HF_HUB_OFFLINE and
HF_ENDPOINT once, at import, and the test process has the suite's offline mode."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import datasets
import pytest

from tests.hub_server import HubServer
from tests.test_trainers import ALPACA, EVERYTHING, _augmented

TOKEN = "hf_test_secret_token_123"


Export = Callable[..., tuple[int, str, str]]


@pytest.fixture
def hub():  # type: ignore[no-untyped-def]
    with HubServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def export(db_url: str, hub: HubServer, tmp_path: Path) -> Export:
    """`augment export ARGS` in a new process against the stand-in Hub; env overrides as keywords."""

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        environ = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
        # A fresh HF_HOME: no saved login of this machine stands in for HF_TOKEN.
        environ.update({"HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "hf-home"), **env})
        command = [sys.executable, "-m", "augment_core", "export", *args, "--db", db_url]
        done = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=120)
        return done.returncode, done.stdout, done.stderr

    return run


def test_push_sends_the_export_and_trainer_file_and_datasets_loads_it(
    run_cli, export, tmp_path: Path, hub: HubServer
) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, ALPACA)
    out = tmp_path / "export" / "curated.jsonl"
    out.parent.mkdir()
    args = ("--trainer", "llama-factory", "--report-file", "--push-to-hub", "team/curated", "--private")
    code, stdout, err = export(str(out), *EVERYTHING, *args)
    assert code == 0, err
    repo = hub.repos["team/curated"]
    assert repo.private and repo.commits == 1
    assert set(repo.files) == {"curated.jsonl", "dataset_info.json", "curated.jsonl.report.json"}
    assert repo.files["curated.jsonl"] == out.read_bytes()
    assert repo.files["dataset_info.json"] == (out.parent / "dataset_info.json").read_bytes()
    assert "pushed 3 files to the Hub dataset team/curated" in stdout
    assert set(hub.authorizations) == {f"Bearer {TOKEN}"}
    # What a trainer would get from the Hub copy: the same rows as the local file.
    pulled = tmp_path / "pulled.jsonl"
    pulled.write_bytes(repo.files["curated.jsonl"])
    rows = datasets.load_dataset("json", data_files=str(pulled), split="train")
    assert rows.num_rows == len(out.read_text().splitlines()) > len(ALPACA)
    # The token is sent, never written.
    for text in (stdout, err, *(b.decode() for b in repo.files.values())):
        assert TOKEN not in text


def test_a_second_push_commits_again(run_cli, export, tmp_path: Path, hub: HubServer) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, ALPACA)
    for name in ("one.jsonl", "two.jsonl"):
        code, _, err = export(str(tmp_path / name), *EVERYTHING, "--push-to-hub", "team/curated")
        assert code == 0, err
    repo = hub.repos["team/curated"]
    assert repo.commits == 2 and set(repo.files) == {"one.jsonl", "two.jsonl"}


def test_an_hf_folder_goes_under_its_name(run_cli, export, tmp_path: Path, hub: HubServer) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, ALPACA)
    out = tmp_path / "curated.hf"
    code, _, err = export(str(out), *EVERYTHING, "--push-to-hub", "curated")
    assert code == 0, err
    files = hub.repos["user/curated"].files
    local = {f"curated.hf/{p.relative_to(out).as_posix()}": p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert files == local and "curated.hf/dataset_info.json" in files


def test_a_refused_token_fails_and_keeps_the_export(run_cli, export, tmp_path: Path, hub: HubServer) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, ALPACA)
    out = tmp_path / "curated.jsonl"
    code, _, err = export(str(out), *EVERYTHING, "--push-to-hub", "team/curated", HF_TOKEN="hf_wrong_token")
    assert code == 1
    assert "--push-to-hub team/curated: the Hub refused the push: the token is missing or may not write there" in err
    assert f"the export is kept at {out}" in err and "hf_wrong_token" not in err
    assert len(out.read_text().splitlines()) > len(ALPACA) and hub.repos == {}


def test_an_unreachable_hub_or_offline_mode_fails(run_cli, export, tmp_path: Path, hub: HubServer) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, ALPACA)
    nowhere = "http://127.0.0.1:9"  # the discard port: nothing listens
    code, _, err = export(str(tmp_path / "a.jsonl"), *EVERYTHING, "--push-to-hub", "team/curated", HF_ENDPOINT=nowhere)
    assert code == 1 and "the Hub cannot be reached" in err and "the export is kept at" in err
    code, _, err = export(str(tmp_path / "b.jsonl"), *EVERYTHING, "--push-to-hub", "team/curated", HF_HUB_OFFLINE="1")
    assert code == 1 and "HF_HUB_OFFLINE is set" in err


@pytest.mark.parametrize("repo", ["a/b/c", "../x", "user/", "has space", "x.git"])
def test_a_bad_repository_id_is_refused_first(run_cli, export, tmp_path: Path, repo: str) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, ALPACA)
    out = tmp_path / "curated.jsonl"
    code, _, err = export(str(out), "--push-to-hub", repo)
    assert code == 2 and "expected a Hub dataset id" in err
    assert not out.exists()
    assert repo in err
