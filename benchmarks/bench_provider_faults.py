"""A 20-record paraphrase run (`augment run`, default settings) against a provider that fails:
retry-after 3600 on every request, a server that hangs, a dead server, a refused key (and a
healthy one: the cost of starting the CLI, which the other figures include).

Each case runs the CLI in a subprocess against its own loopback server and database, with a
deadline; ``--before PATH`` also runs the code at PATH (e.g. an exported older commit) for the
before/after table. Prints one row per case, the table last.

Usage: .venv/bin/python benchmarks/bench_provider_faults.py [--before /tmp/before] [--deadline 300]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.llm_server import LLMServer, serve  # noqa: E402

KEY = "sk-ant-bench-0123456789abcdef"
CASES = ("healthy", "retry-after 3600", "hang", "dead server", "401")


def paraphrases(call: object) -> str:
    text = getattr(call, "prompt", "").rsplit("Instruction:\n", 1)[-1].strip()
    return json.dumps([f"{style} {text}" for style in ("Kindly:", "Quickly:", "Formally:")])


@contextlib.contextmanager
def server_for(case: str) -> Iterator[tuple[str, LLMServer | None]]:
    if case == "dead server":
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"http://127.0.0.1:{port}", None
        return
    with serve(responder=paraphrases) as server:
        if case == "retry-after 3600":
            server.fail("429", times=10**6, retry_after=3600)
        elif case == "hang":
            server.fail("hang", times=10**6)
        elif case == "401":
            server.fail("401", times=10**6)
        yield server.base_url, server


def run_case(code: Path, case: str, deadline: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(code), "ANTHROPIC_API_KEY": KEY, "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="faults-"))
    db = f"sqlite:///{work / 'f.db'}"
    data = work / "d.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Describe item {i} in two sentences.", "input": "",
                                        "output": "Fine."}) + "\n" for i in range(20)))  # fmt: skip
    cli = [sys.executable, "-m", "augment_core"]
    subprocess.run([*cli, "import", str(data), "--db", db], env=env, check=True, capture_output=True, cwd=work)
    with server_for(case) as (url, server):
        started = time.monotonic()
        command = [*cli, "run", "--augmenters", "paraphrase", "--provider", "anthropic", "--base-url", url,
                   "--n", "3", "--db", db]  # fmt: skip
        process = subprocess.Popen(
            command, env=env, cwd=work, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            out, err = process.communicate(timeout=deadline)
            exit_code: object = process.returncode
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            exit_code = f"killed at {deadline:g} s"
        seconds = time.monotonic() - started
        requests = server.requests if server is not None else 0
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        by_status = conn.execute(sa.text("select status, count(*) from candidates group by status")).all()
        counts: dict[str, int] = {str(status): int(n) for status, n in by_status}
    engine.dispose()
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    said = next((line for line in lines if line.startswith("error:")), lines[-1] if lines else "")
    failed = counts.get("failed", 0)
    reasons = []
    if failed:
        engine = sa.create_engine(db)
        with engine.connect() as conn:
            reasons = [r[0] for r in conn.execute(sa.text("select distinct error from candidates where error != ''"))]
        engine.dispose()
    notes = [line for line in lines if "rate limited by the provider until" in line and not line.startswith("error")]
    return {"case": case, "seconds": round(seconds, 1), "exit": exit_code, "requests": requests,
            "ok": counts.get("ok", 0), "failed": failed, "said": said[:160], "note": notes[:1],
            "reasons": [r[:140] for r in reasons[:2]]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the older code to compare with")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds before a run is killed")
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    versions = [("after", REPO)] + ([("before", args.before)] if args.before else [])
    jobs = [(label, code, case) for case in args.cases.split(",") for label, code in versions]
    results: dict[tuple[str, str], dict[str, object]] = {}

    def work(label: str, code: Path, case: str) -> None:
        results[(label, case)] = result = run_case(code, case, args.deadline)
        print(json.dumps({"version": label, **result}), flush=True)

    threads = [threading.Thread(target=work, args=job) for job in jobs]  # they wait, they do not compute
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("\ncase               version  seconds  exit               requests  ok  failed")
    for case in args.cases.split(","):
        for label, _ in versions:
            r = results[(label, case)]
            print(f"{case:<18} {label:<8} {r['seconds']:>7}  {r['exit']!s:<18} {r['requests']:>8}  {r['ok']:>2}  "
                  f"{r['failed']:>6}")  # fmt: skip


if __name__ == "__main__":
    main()
