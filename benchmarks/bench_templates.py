"""`augment run --augmenters templates` on all 5,000 records of alpaca_5000.json: seconds.

Imports the file into a fresh SQLite store, then times the run command in a child process (as a
user would run it: interpreter start, imports, the estimate pass, the run, the store writes).
Prints the candidates stored and, last, the seconds (target: under 10 s).
Usage: .venv/bin/python benchmarks/bench_templates.py [--n 3]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", default="3", help="variations per instruction")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        cli = [sys.executable, "-m", "augment_core"]
        subprocess.run([*cli, "import", str(SOURCE), "--db", db], check=True, capture_output=True, cwd=REPO)
        start = time.perf_counter()
        done = subprocess.run([*cli, "run", "--augmenters", "templates", "--n", args.n, "--db", db],
                              capture_output=True, text=True, cwd=REPO)  # fmt: skip
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"run failed ({done.returncode}): {done.stderr}")
        stored = re.search(r"(\d+) candidates stored", done.stdout)
        print(f"records: 5000, candidates stored: {stored.group(1) if stored else '?'}")
        print(f"augment run --augmenters templates (n={args.n}) on 5,000 alpaca records: {seconds:.2f} s")


if __name__ == "__main__":
    main()
