"""The real studio (`streamlit run app.py`) while its embedding model process is killed with SIGKILL
in the middle of a run started from the Augment page in Chromium: the server keeps answering, the
page says why the run stopped, Resume scores the rest, and torch never loads in the server process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import psutil
import pytest

from augment_core import runs
from augment_core.importer import import_file
from augment_core.store import Store
from tests.studio_server import CHROMIUM, open_tab, studio_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEMPLATES = {"templates": {"n": 3, "seed": 0, "noisy": False}}  # the Augment page's defaults for it
TIMEOUT_MS = 600_000

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


def scored(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        done = conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
        total = conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
    return int(done), int(total)


def embedding_child(server_pid: int) -> psutil.Process | None:
    for child in psutil.Process(server_pid).children(recursive=True):
        if "augment_core.embedding_process" in " ".join(child.cmdline()):
            return child
    return None


def test_the_studio_survives_its_embedding_process_being_killed(tmp_path: Path) -> None:
    import urllib.request

    from playwright.sync_api import expect

    db = tmp_path / "studio.db"
    source = tmp_path / "data.jsonl"
    source.write_text("".join(json.dumps({"instruction": f"Explain idea number {i} in simple words.", "output": "ok"})
                              + "\n" for i in range(1000)), encoding="utf-8")  # fmt: skip
    store = Store(f"sqlite:///{db}")
    try:
        import_file(store, source, name="data")
        runs.run(store, runs.RunSpec(dataset="data", augmenters=TEMPLATES, llm=False, score=False))
    finally:
        store.close()
    total = scored(db)[1]
    assert total >= 2000  # five scoring batches of 200 records

    log = tmp_path / "streamlit.log"
    with studio_server(f"sqlite:///{db}", log) as (server, base), open_tab(base) as page:
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{base}/augment?dataset=data")
        page.locator('[data-testid="stCheckbox"]').filter(has_text="Rewrite instructions with fixed").click()
        expect(page.get_by_text("Estimate", exact=True).first).to_be_visible(timeout=TIMEOUT_MS)
        page.get_by_role("button", name="Run").click()
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while scored(db)[0] == 0:  # the child is up and the first batch is saved
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.05)
        child = embedding_child(server.pid)
        assert child is not None
        os.kill(child.pid, signal.SIGSTOP)  # frozen mid-run: at least three batches are still to be scored
        assert scored(db)[0] <= total - 2 * 600
        os.kill(child.pid, signal.SIGKILL)
        stopped = re.compile(r"The run stopped: the embedding model process died \(signal 9")
        expect(page.get_by_text(stopped)).to_be_visible(timeout=TIMEOUT_MS)
        partly = scored(db)[0]
        assert 0 < partly < total
        assert server.poll() is None
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=10) as response:
            assert response.status == 200
        maps = Path(f"/proc/{server.pid}/maps").read_text()
        assert "libtorch" not in maps  # the model never loaded in the studio's process

        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_text(re.compile("Finished in"))).to_be_visible(timeout=TIMEOUT_MS)
        assert scored(db) == (total, total)
        again = embedding_child(server.pid)
        assert again is not None and again.pid != child.pid
        assert "libtorch" not in Path(f"/proc/{server.pid}/maps").read_text()
