"""Import of ../shared/datasets/alpaca_5000.json repeated to 100,000 records: seconds and peak RSS.

Runs `augment import` in a child process (so its peak RSS and CPU time are its own) for a JSONL
and a JSON copy of the data; prints one line per file type, the JSONL figure last. Wall seconds
swing with whatever else the machine runs; the child's CPU seconds (user + system) much less, so
both are printed, each the least of ``--repeat`` runs. ``--repo DIR`` runs another checkout's code
(e.g. a `git worktree` of an older commit) for a before/after comparison on the same files.
Usage: .venv/bin/python benchmarks/bench_import.py [--records 100000] [--repeat 3] [--repo DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"


def measure(path: Path, workdir: Path, repo: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one `augment import` of ``path`` into a new database."""
    db = workdir / f"{path.suffix[1:]}.db"
    for leftover in workdir.glob(f"{db.name}*"):
        leftover.unlink()
    code = (
        "import resource, sys\n"
        "from augment_core.cli import main\n"
        f"rc = main(['import', {str(path)!r}, '--db', 'sqlite:///{db}'])\n"
        "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(repo)}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo, env=env)
    seconds = time.perf_counter() - start
    rss_kb, cpu = result.stderr.strip().splitlines()[-1].split()
    return seconds, float(cpu), int(rss_kb) / 1024


def best(path: Path, workdir: Path, repo: Path, repeat: int) -> tuple[float, float, float]:
    runs = [measure(path, workdir, repo) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per file type; the least time is printed")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose augment_core runs")
    args = parser.parse_args()
    base = json.loads(SOURCE.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        records = [base[i % len(base)] for i in range(args.records)]
        jsonl = workdir / "alpaca_100k.jsonl"
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in records))
        as_json = workdir / "alpaca_100k.json"
        as_json.write_text(json.dumps(records))
        del records
        size_mb = jsonl.stat().st_size / 1e6
        print(f"code: {args.repo.resolve()}, least of {args.repeat} runs")
        wall, cpu, rss = best(as_json, workdir, args.repo, args.repeat)
        print(f"JSON  {args.records} records: {wall:.2f} s ({cpu:.2f} CPU s), peak RSS {rss:.0f} MB")
        wall, cpu, rss = best(jsonl, workdir, args.repo, args.repeat)
        print(f"JSONL {args.records} records ({size_mb:.0f} MB): {wall:.2f} s ({cpu:.2f} CPU s), peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
