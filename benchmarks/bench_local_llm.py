"""The bundled local model (SmolLM2-135M-Instruct GGUF, in the llama.cpp server the provider starts).

Generation speed in tokens per second, and seconds per paraphrase request as the paraphrase
augmenter makes it (a JSON array of rewrites, schema-constrained). Each request uses a new
sample index, so nothing is answered from a cache; the first (warm-up) request is not counted.
Usage: .venv/bin/python benchmarks/bench_local_llm.py [--requests 10] [--threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from augment_core.llm import LLMClient, LocalProvider, ReplyParseError, Request  # noqa: E402
from augment_core.llm.local_provider import default_threads  # noqa: E402

INSTRUCTIONS = [
    "Give three tips for staying healthy.",
    "Explain why the sky is blue.",
    "Write a short poem about autumn.",
    "Summarize the plot of Romeo and Juliet in two sentences.",
    "List five uses of baking soda around the house.",
]
SYSTEM = "You rewrite instructions. Keep the meaning, change the wording."
SCHEMA = {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 3}


def paraphrase_request(text: str, index: int) -> Request:
    prompt = f"Write 3 different rewrites of this instruction as a JSON array of strings.\nInstruction: {text}"
    return Request(prompt=prompt, system=SYSTEM, max_tokens=200, temperature=0.8, json_schema=SCHEMA,
                   sample_index=index)


async def run(requests: int, threads: int | None) -> None:
    provider = LocalProvider(n_threads=threads)
    started = time.perf_counter()
    provider.load()
    load_seconds = time.perf_counter() - started
    client = LLMClient(provider, timeout=300)
    async with client:
        await client.complete(paraphrase_request(INSTRUCTIONS[0], 10_000))  # warm-up
        per_request: list[float] = []
        tokens = 0
        generating = 0.0
        failed = 0
        for i in range(requests):
            request = paraphrase_request(INSTRUCTIONS[i % len(INSTRUCTIONS)], i)
            started = time.perf_counter()
            try:
                _, completion = await client.complete_json(request)
                tokens += completion.output_tokens
            except ReplyParseError as exc:  # a weak model can ramble to max_tokens; count it, go on
                failed += 1
                tokens += exc.completion.output_tokens
                print(f"request {i}: {exc}")
            elapsed = time.perf_counter() - started
            per_request.append(elapsed)
            generating += elapsed
        # Plain generation speed, no grammar: one long free-text answer.
        started = time.perf_counter()
        story = await client.complete(Request(prompt="Write a story about a lighthouse keeper.", max_tokens=256))
        free_seconds = time.perf_counter() - started
    print(f"model {provider.model}, {threads or default_threads()} thread(s) on {os.cpu_count()} cores, "
          f"load {load_seconds:.2f} s")
    print(f"free text: {story.output_tokens} tokens in {free_seconds:.2f} s = "
          f"{story.output_tokens / free_seconds:.1f} tokens/s")
    print(f"schema-constrained paraphrase: {requests} requests ({failed} failed), {tokens} output tokens, "
          f"{tokens / generating:.1f} tokens/s (failed replies and repairs included); "
          f"per request median {statistics.median(per_request):.2f} s, "
          f"max {max(per_request):.2f} s")
    print(f"local SmolLM2: {story.output_tokens / free_seconds:.1f} tokens/s, "
          f"{statistics.median(per_request):.2f} s per paraphrase request (median of {requests})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.threads))


if __name__ == "__main__":
    main()
