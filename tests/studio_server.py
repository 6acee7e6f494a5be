"""`streamlit run app.py` as `make run` starts it: from the repo root, so .streamlit/config.toml applies.

Used by the browser test, the idle-CPU test and benchmarks/bench_idle_cpu.py: on 127.0.0.1, a free
port, a database of the caller's, no provider keys; stopped on exit. ``open_tab`` holds a page of
it open in Debian's Chromium (headless, through Playwright), as a reviewer's browser would.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def studio_server(
    db_url: str, log_path: Path, extra: tuple[str, ...] = (), cwd: Path = REPO, port: int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The started server process and its base URL, once /_stcore/health answers (on ``port``, else a free one)."""
    port = port or free_port()
    env = {**os.environ, "AUGMENT_DB": db_url, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for variable in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(variable, None)
    # Only what `make run` passes too: everything else comes from the repo's .streamlit/config.toml.
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
               "--server.port", str(port), *extra]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start: {log_path.read_text(errors='replace')}")
                time.sleep(0.3)
            yield process, base
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" that ends the command name: state is field 3, utime field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def open_tab(base: str) -> Iterator[Any]:
    """A Chromium page showing the studio (its first page drawn), closed on exit; the Playwright page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(base)
            page.locator('[data-testid="stSidebar"]').wait_for(timeout=60_000)
            yield page
        finally:
            browser.close()


def choose(page: Any, key: str, option: str | re.Pattern[str], exact: bool = False) -> None:
    """Pick ``option`` in the select or multiselect ``key`` (its list is opened again if a click
    landed while the page was still rerunning)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    choice = page.get_by_role("option", name=option, exact=exact)
    for _ in range(5):
        page.locator(f".st-key-{key} input").click()
        try:
            choice.wait_for(timeout=5_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        choice.click()
        return
    raise RuntimeError(f"the options of {key} did not open")
