"""Issue 16's cases, before and after: each one run through the CLI of a code tree in a subprocess,
on its own SQLite database, and reduced to one cell (exit code and first line, or the traceback's
exception). Provider faults (points 1 and 6) have their own script, bench_provider_faults.py; the
lock case (point 2) is tests/test_import_locks.py.

Usage: .venv/bin/python benchmarks/bench_hardening.py [--before DIR]
  DIR: an older tree, e.g. `git archive 9fc419b | tar -x -C /tmp/before` (the commit before the
  hardening work). Prints one row per case as it goes, the Markdown table last.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROW = {"instruction": "Name a colour.", "input": "", "output": "Blue."}


def cli(code: Path, work: Path, *args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    """`augment ARGS` of the tree at ``code``, in ``work`` (its database there)."""
    prefix = f"import os; os.umask({umask}); " if umask is not None else ""
    script = f"{prefix}import sys; from augment_core.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "AUGMENT_DB": f"sqlite:///{work / 'a.db'}"}
    return subprocess.run([sys.executable, "-c", script, *args], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def outcome(result: subprocess.CompletedProcess[str], secret: str | None = None) -> str:
    """``exit 2: first line`` or ``traceback (Error)``; whether ``secret`` was printed."""
    err = result.stderr.strip()
    if "Traceback" in err:
        names = [m.group(1) for m in re.finditer(r"^([A-Za-z_.]*(?:Error|Exception)):", err, re.M)]
        cell = f"exit {result.returncode}, traceback ({names[-1] if names else '?'})"
    else:
        first = (err.splitlines() or result.stdout.strip().splitlines() or [""])[0]
        cell = f"exit {result.returncode}: {first[:90]}"
    if secret is not None:
        cell += "; password printed" if secret in result.stderr + result.stdout else "; password masked"
    return cell


def jsonl(work: Path, name: str, text: str) -> str:
    (work / name).write_text(text, encoding="utf-8")
    return name


def parquet(work: Path, name: str, columns: dict[str, object]) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), work / name)
    return name


def seeded(code: Path, work: Path, rows: list[dict[str, str]] | None = None) -> None:
    body = "".join(json.dumps(r) + "\n" for r in rows or [ROW, {**ROW, "instruction": "Name a fruit."}])
    result = cli(code, work, "import", jsonl(work, "d.jsonl", body))
    assert result.returncode == 0, result.stderr


def case_import(text: str, name: str = "x.jsonl") -> Callable[[Path, Path], str]:
    return lambda code, work: outcome(cli(code, work, "import", jsonl(work, name, text)))


def case_parquet(columns: dict[str, object]) -> Callable[[Path, Path], str]:
    return lambda code, work: outcome(cli(code, work, "import", parquet(work, "x.parquet", columns)))


def corrupt_parquet(code: Path, work: Path) -> str:
    (work / "broken.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 100)
    return outcome(cli(code, work, "import", "broken.parquet"))


def password(code: Path, work: Path) -> str:
    return outcome(cli(code, work, "stats", "--db", "postgresql://alice:S3cretPW@127.0.0.1:9/x"), "S3cretPW")


def killed_export(code: Path, work: Path) -> str:
    """`augment export` killed with SIGKILL while it writes (its temp file is there), three times."""
    seeded(code, work, [{**ROW, "instruction": f"Task {i}: " + "word " * 200} for i in range(20_000)])
    env = {**os.environ, "PYTHONPATH": str(code), "AUGMENT_DB": f"sqlite:///{work / 'a.db'}"}
    command = [sys.executable, "-m", "augment_core", "export", "out.jsonl"]
    killed = 0
    for _ in range(3):
        before = set(work.glob(".out.jsonl.*tmp"))
        process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and not set(work.glob(".out.jsonl.*tmp")) - before:
            time.sleep(0.005)
        if process.poll() is None:
            time.sleep(0.2)  # midway through the write
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
    left = list(work.glob(".out.jsonl.*tmp"))
    size = sum(p.stat().st_size for p in left) / 1e6
    cli(code, work, "export", "out.jsonl")
    after = len(list(work.glob(".out.jsonl.*tmp")))
    return f"{killed} kills: {len(left)} temp files ({size:.0f} MB) left; after the next export: {after}"


def export_mode(code: Path, work: Path) -> str:
    seeded(code, work)
    result = cli(code, work, "export", "out.jsonl", "--report-file", umask=0o022)
    if result.returncode:
        return outcome(result)
    modes = {oct((work / f).stat().st_mode & 0o777) for f in ("out.jsonl", "out.jsonl.report.json")}
    return f"umask 022: mode {', '.join(sorted(modes))}"


def bad_report_file(code: Path, work: Path) -> str:
    seeded(code, work)
    (work / "out.jsonl").write_text("previous export\n")
    (work / "a-file").write_text("")
    result = cli(code, work, "export", "out.jsonl", "--report-file", "a-file/report.json")
    kept = (work / "out.jsonl").read_text() == "previous export\n"
    return outcome(result) + ("; old export kept" if kept else "; old export REPLACED")


def csv_formulas(code: Path, work: Path) -> str:
    seeded(code, work, [{**ROW, "instruction": "=HYPERLINK(\"http://x\")"}, {**ROW, "instruction": "@here"}])
    result = cli(code, work, "export", "out.csv")
    warned = any("formula" in line for line in result.stdout.splitlines())
    safe = cli(code, work, "export", "safe.csv", "--csv-safe")
    offered = safe.returncode == 0 and "'=HYPERLINK" in (work / "safe.csv").read_text()
    return f"exit {result.returncode}; warned: {'yes' if warned else 'no'}; --csv-safe: {'yes' if offered else 'no'}"


def ids_without_ids(code: Path, work: Path) -> str:
    """Issue 17 point 7 (records without ids), measured the same way."""
    seeded(code, work)
    cli(code, work, "run", "--augmenters", "templates", "--n", "1")
    cli(code, work, "review", "--approve-valid")
    cli(code, work, "settings", "quality.valid_window", "[0.0, 1.0]")
    cli(code, work, "export", "out.jsonl", "--status", "all")
    records = [json.loads(line) for line in (work / "out.jsonl").read_text().splitlines()]
    with_id = sum(1 for r in records if r.get("id"))
    return f"{with_id} of {len(records)} records carry an id"


CASES: dict[str, Callable[[Path, Path], str]] = {
    "4 JSON nested 100,000 deep":
        case_import('{"instruction": ' + "[" * 100_000 + "]" * 100_000 + ', "output": "x"}\n'),
    "4 a 5,000-digit integer": case_import('{"instruction": "a", "output": "x", "n": ' + "9" * 5000 + "}\n"),
    "4 a lone surrogate \\ud800": case_import('{"instruction": "a \\ud800 b", "output": "x"}\n'),
    "4 NaN in a field": case_import('{"instruction": "a", "output": "x", "meta": {"score": NaN}}\n'),
    "4 Parquet timestamp + decimal columns": case_parquet({"instruction": ["a"], "output": ["x"],
        "ts": [datetime.datetime(2020, 1, 1)], "price": [decimal.Decimal("1.5")]}),
    "4 Parquet binary column": case_parquet({"instruction": ["a"], "output": ["x"], "blob": [b"\x00"]}),
    "4 corrupt Parquet": corrupt_parquet,
    "3 a 250,000-character instruction":
        case_import(json.dumps({"instruction": "word " * 50_000, "output": "x"}) + "\n"),
    "5 a database password in an error": password,
    "7 an export killed midway": killed_export,
    "7 export file mode": export_mode,
    "7 --report-file on a bad path": bad_report_file,
    "7 CSV cells starting with = + - @": csv_formulas,
    "17.7 ids on exported records without ids": ids_without_ids,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="an older code tree to run the same cases on")
    args = parser.parse_args()
    trees = {"after": REPO} | ({"before": args.before} if args.before else {})
    table: dict[str, dict[str, str]] = {}
    for case, run in CASES.items():
        table[case] = {}
        for label, code in trees.items():
            with tempfile.TemporaryDirectory(prefix="bench-hardening-") as folder:
                try:
                    table[case][label] = run(code, Path(folder))
                except Exception as exc:  # a case the older tree cannot even set up
                    table[case][label] = f"could not run ({type(exc).__name__})"
            print(f"{case} [{label}]: {table[case][label]}", flush=True)
    columns = [label for label in ("before", "after") if label in trees]
    print("\n| case (issue 16 point) | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for case, cells in table.items():
        print(f"| {case} | " + " | ".join(cells[c].replace("|", "/") for c in columns) + " |")


if __name__ == "__main__":
    main()
