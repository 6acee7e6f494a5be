"""The LLM judge's agreement with human labels on calibration pairs, through two providers.

Pairs: ``--pairs`` (default 200) drawn at random (seed 0) from benchmarks/calibration_data.py, the
same number from each domain. Each goes through ``llm_judge.judge_pairs`` (the very code `augment
judge` runs: the request with its JSON schema, ``LLMClient.complete_json``, the repair round).

- loopback: tests/llm_server.py with a responder that answers from the label (an oracle). It shows
  the machinery (request, parsing, the verdict's score, ordering, cache) is right: agreement must
  be 1.000, and a second pass must be answered entirely from the cache.
- local: the bundled SmolLM2-135M-Instruct in llama.cpp (``--local-pairs``, default all of them;
  0 skips it). Expected to be poor: it is why ``augment judge`` refuses that model.

Printed per provider: pairs judged and failed, agreement (keeps_meaning == label), the agreement
of always answering the majority label, ROC-AUC of the judge's score, seconds per pair.
Run: .venv/bin/python benchmarks/bench_llm_judge.py [--pairs 200] [--local-pairs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from calibration_data import DOMAINS, Pair, calibration_pairs  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from augment_core.llm import LLMClient, LocalProvider, OpenAIProvider, Provider  # noqa: E402
from augment_core.llm_judge import PairToJudge, judge_pairs  # noqa: E402
from augment_core.store import Store  # noqa: E402
from tests.llm_server import Call, serve  # noqa: E402


def sample(n: int, seed: int = 0) -> list[Pair]:
    rng = random.Random(seed)
    pairs = calibration_pairs()
    chosen: list[Pair] = []
    for domain in DOMAINS:
        pool = [p for p in pairs if p.domain == domain]
        chosen += rng.sample(pool, n // len(DOMAINS))
    return chosen


def measure(name: str, provider: Provider, pairs: list[Pair], store: Store, passes: int = 1) -> None:
    todo = [PairToJudge(str(i), p.first, p.second) for i, p in enumerate(pairs)]
    for round_ in range(passes):
        client = LLMClient(provider, store, concurrency=8, timeout=120)
        start = time.perf_counter()

        async def go(client: LLMClient = client) -> object:
            async with client:
                return await judge_pairs(client, todo)

        report = asyncio.run(go())
        seconds = time.perf_counter() - start
        verdicts = report.verdicts  # type: ignore[attr-defined]
        judged = [(pairs[int(cid)].label, v) for cid, v in verdicts.items()]
        labels = [y for y, _ in judged]
        agree = sum(int(v.keeps_meaning) == y for y, v in judged) / max(len(judged), 1)
        majority = max(sum(labels), len(labels) - sum(labels)) / max(len(labels), 1)
        auc = roc_auc_score(labels, [v.score for _, v in judged]) if 0 < sum(labels) < len(labels) else float("nan")
        said_keep = sum(v.keeps_meaning for _, v in judged) / max(len(judged), 1)
        u = client.usage
        print(f"{name} (pass {round_ + 1}): {len(judged)} judged, {report.failed} failed of {len(pairs)}; "  # type: ignore[attr-defined]
              f"agreement {agree:.3f} (majority label alone {majority:.3f}); ROC-AUC {auc:.3f}; "
              f"said 'keeps' for {said_keep:.1%}; {u.calls} calls, {u.cached} cached; "
              f"{seconds / max(len(pairs), 1):.2f} s per pair", flush=True)  # fmt: skip
        for line in report.errors[:2]:  # type: ignore[attr-defined]
            print(f"  e.g. failed: {line[:160]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--local-pairs", type=int, default=None, help="default: all --pairs; 0 skips the local model")
    parser.add_argument("--db", default="sqlite:///:memory:", help="the response cache (default: in memory)")
    args = parser.parse_args()
    pairs = sample(args.pairs)
    print(f"{len(pairs)} calibration pairs ({len(pairs) // len(DOMAINS)} per domain), "
          f"{sum(p.label for p in pairs)} same meaning")  # fmt: skip
    store = Store(args.db)
    label_of = {(p.first[:4000], p.second[:4000]): p.label for p in pairs}

    def oracle(call: Call) -> str:
        original, candidate = re.findall(r"<<<(.*?)>>>", call.prompt, re.DOTALL)
        keeps = bool(label_of[(original, candidate)])
        return json.dumps({"keeps_meaning": keeps, "confidence": 0.9, "changed": "" if keeps else "the meaning",
                           "reason": "the label says so"})  # fmt: skip

    with serve(responder=oracle) as server:
        loopback = OpenAIProvider("oracle", api_key="sk-loopback", base_url=server.openai_base_url)
        measure("loopback oracle", loopback, pairs, store, passes=2)
    local_n = len(pairs) if args.local_pairs is None else args.local_pairs
    if local_n:
        measure("local SmolLM2-135M", LocalProvider(), pairs[:: max(1, len(pairs) // local_n)][:local_n], store)
    store.close()


if __name__ == "__main__":
    main()
