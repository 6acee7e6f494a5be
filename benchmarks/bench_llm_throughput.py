"""LLM client throughput against the loopback server with 200 ms injected latency.

1,000 distinct requests at concurrency 32 through the real ``anthropic`` SDK (or
``--provider openai``) and the full client (cache lookups and writes in SQLite, limiter, retries armed). The ideal is
1000 x 0.2 s / 32 = 6.25 s; the target is within 1.25x of it. Then the same job again: the
requests that reach the server (target 0, all from the cache). The server runs in its own
process so its work does not share the client's interpreter lock.
Usage: .venv/bin/python benchmarks/bench_llm_throughput.py [--requests 1000] [--concurrency 32] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from augment_core.llm import LLMClient, Request, make_provider  # noqa: E402
from augment_core.store import Store  # noqa: E402


def stats(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base_url}/_stats", timeout=5) as response:
        return dict(json.load(response))


async def job(base_url: str, store: Store, n: int, concurrency: int, provider_name: str) -> tuple[float, LLMClient]:
    url = base_url if provider_name == "anthropic" else f"{base_url}/v1"
    provider = make_provider(provider_name, model="bench-model", base_url=url, api_key="bench-key-not-real")
    client = LLMClient(provider, store, concurrency=concurrency)
    requests = [
        Request(prompt=f"Paraphrase instruction number {i}: explain photosynthesis.", max_tokens=64) for i in range(n)
    ]
    async with client:
        started = time.perf_counter()
        await asyncio.gather(*(client.complete(r, label="bench") for r in requests))
        return time.perf_counter() - started, client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--provider", choices=["anthropic", "openai"], default="anthropic")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_server", "--latency", str(args.latency)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
            cpu = time.process_time()
            seconds, client = asyncio.run(job(base_url, store, args.requests, args.concurrency, args.provider))
            cpu = time.process_time() - cpu
            first = stats(base_url)
            again_seconds, again = asyncio.run(job(base_url, store, args.requests, args.concurrency, args.provider))
            second = stats(base_url)
            store.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    ideal = args.requests * args.latency / args.concurrency
    print(f"first run: {args.requests} requests, concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms: "
          f"{seconds:.2f} s (ideal {ideal:.2f} s, ratio {seconds / ideal:.2f}x, target <= 1.25x); "
          f"server saw {first['requests']} requests, at most {first['max_in_flight']} at once; "
          f"client usage {client.usage.calls} calls, {client.usage.input_tokens} in / "
          f"{client.usage.output_tokens} out tokens; client CPU {cpu:.2f} s "
          f"({cpu / args.requests * 1000:.1f} ms a request), load average {os.getloadavg()[0]:.1f}")
    print(f"second run (same job): {again_seconds:.2f} s, {again.usage.cached} answered from the cache, "
          f"requests made: {second['requests'] - first['requests']} (target 0)")
    print(f"throughput: {seconds:.2f} s for {args.requests} requests = {seconds / ideal:.2f}x ideal; "
          f"rerun requests made: {second['requests'] - first['requests']}")


if __name__ == "__main__":
    main()
