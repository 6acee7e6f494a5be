"""An LLM job on the Ray engine under one cluster-wide requests-per-minute limit.

REQUESTS Alpaca records (../shared/datasets/alpaca_5000.json), one paraphrase request each (n=3
variants), through ``--engine ray`` with ACTORS workers x CONCURRENCY calls in flight, against the
loopback OpenAI-compatible server of the tests (tests/llm_server.py, on a thread of this process)
at LATENCY seconds per reply, under an RPM limit shared by all actors (a Ray started on this
machine). Without the limit the actors could send ACTORS x CONCURRENCY / LATENCY a second; the
limit allows RPM / 60. Prints the wall time of the run (Ray start and actor start included), the
span from the first to the last request the server saw, the ideal that the limit allows, and the
most requests the server received in any 10-second window (the limit allows RPM / 6, plus the limiter's
burst of a tenth of a second). Then the job again: the requests a rerun sends (target 0).
Run: .venv/bin/python benchmarks/bench_ray_llm.py [--requests 2000] [--rpm 3000] [--actors 4]
     [--concurrency 16] [--latency 0.2]; the issue's job: --requests 10000 --rpm 6000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from augment_core import runs  # noqa: E402
from augment_core.importer import import_file  # noqa: E402
from augment_core.runs import RunSpec  # noqa: E402
from augment_core.store import Store  # noqa: E402
from benchmarks.bench_ray_score import ALPACA, distinct_records  # noqa: E402
from tests.llm_server import serve  # noqa: E402
from tests.test_pipeline import paraphrases  # noqa: E402

WINDOW = 10.0


def busiest(times: list[float], window: float) -> int:
    """The most of ``times`` in any half-open window of ``window`` seconds (two pointers)."""
    times = sorted(times)
    most, left = 0, 0
    for right, t in enumerate(times):
        while times[left] <= t - window:
            left += 1
        most = max(most, right - left + 1)
    return most


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rpm", type=int, default=3000)
    parser.add_argument("--actors", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    # The key as a team sets it: in the environment Ray starts in (the workers read it there).
    os.environ.setdefault("OPENAI_API_KEY", "sk-test-not-a-real-key")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "alpaca.jsonl"
        rows = distinct_records(json.loads(ALPACA.read_text()), args.requests)  # past 5,000: marked copies
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        store = Store(f"sqlite:///{tmp}/llm.db")
        import_file(store, str(source), name="alpaca")
        with serve(latency=args.latency, responder=lambda call: paraphrases(call.prompt)) as server:
            spec = RunSpec(dataset="alpaca", augmenters={"paraphrase": {"n": 3}}, provider="openai",
                           model="test-model", base_url=server.openai_base_url,
                           rpm=args.rpm, concurrency=args.concurrency, engine="ray", actors=args.actors)  # fmt: skip
            started = time.monotonic()
            result = runs.run(store, spec)
            wall = time.monotonic() - started
            sent = server.requests
            arrivals = [call.received for call in server.calls]
            again = runs.run(store, spec)
            rerun = server.requests - sent
        store.close()
    report = result.report
    span = max(arrivals) - min(arrivals)
    ideal = (sent - 1) / (args.rpm / 60)
    unlimited = args.actors * args.concurrency / args.latency
    print(f"{sent} requests, {report.added} candidates stored, {report.failed} failed; "
          f"{args.actors} actors x {args.concurrency} in flight at {args.latency * 1000:.0f} ms "
          f"(up to {unlimited:.0f}/s without the limit), limit {args.rpm}/min = {args.rpm / 60:.0f}/s")
    print(f"first to last request: {span:.1f} s, ideal under the limit {ideal:.1f} s ({span / ideal:.2f}x); "
          f"wall time with Ray and actor start {wall:.1f} s")
    allowed = args.rpm / 60 * WINDOW
    print(f"most requests in any {WINDOW:.0f} s window: {busiest(arrivals, WINDOW)} "
          f"(the limit allows {allowed:.0f}, plus a burst of {max(1.0, args.rpm / 600):.0f})")
    print(f"rerun: {rerun} requests, {again.report.skipped} items already stored")


if __name__ == "__main__":
    main()
