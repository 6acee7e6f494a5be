"""CPU seconds per minute of an idle studio server, as `make run` starts it, with a tab left open.

Starts `streamlit run app.py` from the repo root (so .streamlit/config.toml applies) on a free
port of 127.0.0.1 with a temp database, opens one page in Debian's Chromium (Streamlit's file
watcher works per browser session, so an idle server with no tab costs nothing either way), then
reads the server's CPU time (/proc/<pid>/stat, user + system, all threads) over the idle window.
`--watcher auto` overrides the config's file watcher to show what it cost before; `--repo DIR`
runs another checkout's app.py (e.g. one with .venv inside, as `make` lays it out).
Prints the figure last.
Usage: .venv/bin/python benchmarks/bench_idle_cpu.py [--seconds 60] [--watcher auto] [--repo DIR] [--no-tab]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.studio_server import cpu_seconds, open_tab, studio_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0, help="idle window")
    parser.add_argument("--watcher", choices=["auto", "watchdog", "poll", "none"], help="override fileWatcherType")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to run app.py from")
    parser.add_argument("--no-tab", action="store_true", help="no browser session open")
    args = parser.parse_args()
    extra = ("--server.fileWatcherType", args.watcher) if args.watcher else ()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        log = Path(tmp) / "streamlit.log"
        process, base = stack.enter_context(studio_server(f"sqlite:///{Path(tmp) / 'idle.db'}", log, extra, args.repo))
        if not args.no_tab:
            stack.enter_context(open_tab(base))
        time.sleep(3)  # let the start and the first page's run settle
        before = cpu_seconds(process.pid)
        time.sleep(args.seconds)
        used = cpu_seconds(process.pid) - before
    watcher = args.watcher or "as configured"
    tab = "no tab" if args.no_tab else "one tab open"
    print(f"repo: {args.repo}, file watcher: {watcher}, {tab}, idle window: {args.seconds:.0f} s, CPU: {used:.2f} s")
    print(f"idle CPU of the studio server: {used * 60 / args.seconds:.2f} s per minute")


if __name__ == "__main__":
    main()
