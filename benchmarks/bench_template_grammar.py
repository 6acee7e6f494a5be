"""The templates over all of alpaca_5000: which shape and which frame each instruction got, a sample to read.

Prints the share of instructions per shape (imperative, question, noun phrase, ...) and per frame
(template id), then a random sample of instructions with every variant written for them, for a
person to read, then the held-out check of tests/data/template_cases.jsonl (every variant of a
frame family its label allows, and the shape agreeing with the label). The figure last.
Usage: .venv/bin/python benchmarks/bench_template_grammar.py [--sample 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"
sys.path.insert(0, str(REPO))

from augment_core.augmenters.templates import TEMPLATES, parse, variations  # noqa: E402
from tests.test_template_grammar import CASES, families  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=30, help="instructions to print with their variants")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    texts = [record["instruction"] for record in json.loads(SOURCE.read_text(encoding="utf-8"))]
    shapes: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    none = 0
    for text in texts:
        parsed = parse(text)
        shapes[f"{parsed.kind}{'' if parsed.simple else ' (embedded content)'}"] += 1
        found = variations(text)
        frames.update(found.keys())
        none += not found
    total = len(texts)
    print(f"alpaca_5000: {total} instructions")
    print("shape:")
    for shape, count in shapes.most_common():
        print(f"  {shape:32} {count:5}  {count / total:6.1%}")
    print("frame (share of instructions that got it, before the n of a run picks among them):")
    for template_id in TEMPLATES:
        print(f"  {template_id:16} {frames[template_id]:5}  {frames[template_id] / total:6.1%}")
    print(f"  {'(no frame fits)':16} {none:5}  {none / total:6.1%}")

    print(f"\nsample of {args.sample} (seed {args.seed}), for reading:")
    for text in random.Random(args.seed).sample(texts, args.sample):
        parsed = parse(text)
        print(f"- [{parsed.kind}] {text!r}")
        for template_id, variant in variations(text).items():
            print(f"    {template_id:14} {variant!r}")

    allowed = sum(all(families(c, v) & set(c["allowed"]) for v in variations(c["text"]).values()) for c in CASES)
    agree = sum(parse(c["text"]).kind == c["kind"] for c in CASES)
    kinds = Counter(c["kind"] for c in CASES)
    print(f"\nheld-out set: {len(CASES)} hand-labelled cases ({', '.join(f'{k} {n}' for k, n in kinds.most_common())})")
    print(f"shape agrees with the label: {agree}/{len(CASES)}")
    print(f"held-out cases whose every variant is a frame the label allows: {allowed}/{len(CASES)}")


if __name__ == "__main__":
    main()
