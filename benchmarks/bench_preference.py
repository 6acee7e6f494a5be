"""Import and export of 100,000 preference records (TRL prompt/chosen/rejected): seconds and peak RSS.

The records come from ../shared/datasets/alpaca_5000.json repeated: the prompt is the instruction
(and input), chosen its output, rejected the output of another record. `augment import` and then
`augment export --status all` (every original, as preference JSONL) each run in a child process,
so each peak RSS is its own. Targets (issue 14): import under 10 s and 500 MB, export under 5 s.
Prints the import line, then the export line last.
Usage: .venv/bin/python benchmarks/bench_preference.py [--records 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"


def run(args: list[str]) -> tuple[float, float, float, str]:
    """(seconds inside the command, its CPU seconds, peak RSS in MB, stdout) of `augment ARGS` in a child."""
    code = (
        "import resource, sys, time\n"
        "from augment_core.cli import main\n"
        "start, cpu = time.perf_counter(), time.process_time()\n"
        f"rc = main({args!r})\n"
        "print(time.perf_counter() - start, time.process_time() - cpu,\n"
        "      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    inside, cpu, rss = result.stderr.strip().splitlines()[-1].split()
    return float(inside), float(cpu), int(rss) / 1024, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    base = json.loads(SOURCE.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = workdir / "preference_100k.jsonl"
        with source.open("w", encoding="utf-8") as handle:
            for i in range(args.records):
                record, other = base[i % len(base)], base[(i * 7 + 3) % len(base)]
                prompt = record["instruction"] + (f"\n\n{record['input']}" if record.get("input") else "")
                row = {"id": f"p{i}", "prompt": prompt, "chosen": record["output"], "rejected": other["output"]}
                handle.write(json.dumps(row) + "\n")
        size = source.stat().st_size / 1e6
        db = f"sqlite:///{workdir / 'bench.db'}"
        inside, cpu, rss, out = run(["import", str(source), "--db", db])
        assert "schema preference" in out, out
        print(f"import {args.records} preference records ({size:.0f} MB JSONL): {inside:.2f} s ({cpu:.2f} s CPU), "
              f"peak RSS {rss:.0f} MB")  # fmt: skip
        target = workdir / "curated.jsonl"
        inside, cpu, rss, out = run(["export", str(target), "--status", "all", "--trainer", "llama-factory",
                                     "--db", db])  # fmt: skip
        records = int(out.split()[1])
        print(f"export {records} preference records (JSONL + dataset_info.json): {inside:.2f} s ({cpu:.2f} s CPU), "
              f"peak RSS {rss:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
