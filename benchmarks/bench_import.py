"""Import of ../shared/datasets/alpaca_5000.json repeated to 100,000 records: seconds and peak RSS.

Runs `augment import` in a child process (so its peak RSS is its own) for a JSONL and a JSON
copy of the data; prints one line per file type, the JSONL figure last.
Usage: .venv/bin/python benchmarks/bench_import.py [--records 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"


def measure(path: Path, workdir: Path) -> tuple[float, float]:
    db = workdir / f"{path.suffix[1:]}.db"
    start = time.perf_counter()
    code = (
        "import resource, sys\n"
        "from augment_core.cli import main\n"
        f"rc = main(['import', {str(path)!r}, '--db', 'sqlite:///{db}'])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    peak_mb = int(result.stderr.strip().splitlines()[-1]) / 1024
    return seconds, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
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
        sec, rss = measure(as_json, workdir)
        print(f"JSON  {args.records} records: {sec:.2f} s, peak RSS {rss:.0f} MB")
        sec, rss = measure(jsonl, workdir)
        print(f"JSONL {args.records} records ({size_mb:.0f} MB): {sec:.2f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
