"""An idle studio costs no CPU: `streamlit run app.py` with the repo's .streamlit/config.toml.

Issue 17: with Streamlit's file watcher on, `make run` kept a core busy while a reviewer's tab sat
open (the watcher walked the checkout, .venv included, and overflowed its inotify queue: 12.7 CPU s
in 20 s measured on the main checkout). The server here is started as `make run` starts it, from
the repo root, a page is opened in Chromium and left alone, and the server's CPU time is read from
/proc/<pid>/stat before and after 20 idle seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.studio_server import CHROMIUM, cpu_seconds, open_tab, studio_server

pytestmark = pytest.mark.browser

IDLE_SECONDS = 20

if not Path(CHROMIUM).exists():  # `make test` installs Debian's chromium first
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


def _settle(pid: int, quiet: float = 0.05, seconds: int = 3, most: int = 90) -> None:
    """Wait until the server spends under ``quiet`` CPU s in each of ``seconds`` seconds in a row.

    One quiet second is not enough: between the first page's run and a rerun the browser triggers
    (its websocket session starting, widgets reporting their values) the server can sit still for a
    second, and a CI run once measured that rerun as "idle" (1.59 CPU s).
    """
    last, calm = cpu_seconds(pid), 0
    for _ in range(most):
        time.sleep(1)
        now = cpu_seconds(pid)
        calm = calm + 1 if now - last < quiet else 0
        if calm >= seconds:
            return
        last = now


def test_an_idle_server_uses_under_one_cpu_second_in_20_seconds(tmp_path: Path) -> None:
    log = tmp_path / "streamlit.log"
    with studio_server(f"sqlite:///{tmp_path / 'idle.db'}", log) as (process, base), open_tab(base):
        _settle(process.pid)  # the first page's run (imports, first queries) is not idling
        before = cpu_seconds(process.pid)
        time.sleep(IDLE_SECONDS)
        used = cpu_seconds(process.pid) - before
        assert process.poll() is None, log.read_text(errors="replace")
    tail = log.read_text(errors="replace")[-2000:]
    assert used < 1.0, f"{used:.2f} CPU s in {IDLE_SECONDS} idle s; the server's log ends: {tail}"
