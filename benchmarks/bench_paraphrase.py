"""`augment run --augmenters paraphrase --provider openai` against the loopback LLM server
(tests/llm_server.py, 200 ms latency per request) on 1,000 alpaca records with n=5: seconds,
then the same run again: seconds and requests made (target: zero).

The server answers each request with five distinct paraphrases as a JSON array. Each run is the
real CLI in a child process (default --concurrency 16). Prints both runs, the second last.
Usage: .venv/bin/python benchmarks/bench_paraphrase.py [--records 1000] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SOURCE = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"

from tests.llm_server import Call, serve  # noqa: E402


def responder(call: Call) -> str:
    text = call.prompt.rsplit("Instruction:\n", 1)[-1].strip()
    return json.dumps([f"{lead} {text}" for lead in ("Please:", "Kindly:", "Now:", "Quickly:", "Formally:")])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.json"
        data.write_text(json.dumps(json.loads(SOURCE.read_text())[: args.records]))
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        cli = [sys.executable, "-m", "augment_core"]
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench-not-a-real-key"}
        subprocess.run([*cli, "import", str(data), "--db", db], check=True, capture_output=True, cwd=REPO, env=env)
        with serve(latency=args.latency, responder=responder) as server:
            run = [*cli, "run", "--augmenters", "paraphrase", "--provider", "openai", "--model", "gpt-4o-mini",
                   "--base-url", server.openai_base_url, "--n", "5", "--db", db]  # fmt: skip
            results = []
            for label in ("first run", "same run again"):
                before = server.requests
                start = time.perf_counter()
                done = subprocess.run(run, capture_output=True, text=True, cwd=REPO, env=env)
                seconds = time.perf_counter() - start
                if done.returncode != 0:
                    raise SystemExit(f"{label} failed ({done.returncode}): {done.stderr[-2000:]}")
                stored = re.search(r"(\d+) candidates stored", done.stdout)
                results.append((label, seconds, server.requests - before, stored.group(1) if stored else "?"))
        for label, seconds, requests, stored in results:
            print(f"{label}: {args.records} records, n=5, {args.latency * 1000:.0f} ms latency: "
                  f"{seconds:.2f} s, {requests} requests, {stored} candidates stored")  # fmt: skip


if __name__ == "__main__":
    main()
