"""What Streamlit's full garbage collection after every rerun costs, and whether turning it off grows memory.

.streamlit/config.toml sets ``runner.postScriptGC = false`` (issue 17: each gc.collect(2) held the
server's GIL for about 0.18 s per progress poll of a scoring run). Here the studio, started as
`make run` starts it, is given the option on and then off (a command-line flag overrides the
file); a headless Chromium opens the Review page of the sample dataset (templates x 3, scored)
``--openings`` times, each a new session and a full rerun, and the server's RSS and the time per
opening are printed.
Run: .venv/bin/python benchmarks/bench_rerun_gc.py [--openings 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_score import rss_mb  # noqa: E402
from bench_studio_browser import TEMPLATES  # noqa: E402

from augment_core import runs  # noqa: E402
from augment_core.importer import import_file  # noqa: E402
from augment_core.store import Store  # noqa: E402
from tests.studio_server import open_tab, studio_server  # noqa: E402


def openings(url: str, log: Path, gc_after_rerun: bool, count: int) -> None:
    flag = ("--runner.postScriptGC", "true" if gc_after_rerun else "false")
    with studio_server(url, log, extra=flag) as (process, base), open_tab(base) as page:
        review = f"{base}/review?dataset=sample"
        page.goto(review)
        page.get_by_text("Candidate 1 of").first.wait_for(timeout=60_000)
        first = rss_mb(process.pid)
        t0 = time.perf_counter()
        for _ in range(count):
            page.goto(review)
            page.get_by_text("Candidate 1 of").first.wait_for(timeout=60_000)
        per_opening = (time.perf_counter() - t0) / count * 1000
        print(f"GC after every rerun {'on ' if gc_after_rerun else 'off'}: server RSS {first:.0f} MB after the "
              f"first opening, {rss_mb(process.pid):.0f} MB after {count} more; {per_opening:.0f} ms per opening",
              flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openings", type=int, default=100)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-rerun-gc-"))
    url = f"sqlite:///{tmp}/studio.db"
    store = Store(url)
    try:
        import_file(store, REPO / "samples" / "sample_alpaca.jsonl", name="sample")
        runs.run(store, runs.RunSpec(dataset="sample", augmenters=TEMPLATES, llm=False, score=True))
    finally:
        store.close()
    for gc_after_rerun in (True, False):
        openings(url, tmp / "streamlit.log", gc_after_rerun, args.openings)


if __name__ == "__main__":
    main()
