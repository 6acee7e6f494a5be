"""The judge's commands: `augment score-pairs` (pairs from a file, one JSON line each), `augment judge` (LLM)."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

from augment_core.errors import InputError
from augment_core.store import Store

CHUNK = 512  # pairs embedded at a time: a file of any length is scored in bounded memory


def parse_columns(text: str) -> tuple[str, str]:
    """``--columns A,B`` -> ("A", "B")."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise InputError(f"--columns '{text}': expected two column names, ORIGINAL,CANDIDATE")
    return parts[0], parts[1]


def cmd_score_pairs(args: argparse.Namespace, store: Store) -> int:
    from augment_core.pairs import DEFAULT_COLUMNS, label_report, read_pairs, score_text_pairs
    from augment_core.quality import Embedder, model_name_from_store, thresholds_from_store
    from augment_core.review import accept_rule
    from augment_core.scoring import load_meaning_model
    from augment_core.writers import atomic_path

    columns = parse_columns(args.columns) if args.columns else DEFAULT_COLUMNS
    pairs = list(read_pairs(args.input, columns, args.label))  # read whole first: bad input writes nothing
    embedder = Embedder.load(model_name_from_store(store))
    thresholds, meaning, rule = thresholds_from_store(store), load_meaning_model(), accept_rule(store)
    rows: list[dict[str, Any]] = []
    with atomic_path(Path(args.output)) if args.output else nullcontext(None) as tmp:
        with tmp.open("w", encoding="utf-8") if tmp else nullcontext(sys.stdout) as out:
            handle: IO[str] = out
            for start in range(0, len(pairs), CHUNK):
                scored = score_text_pairs(pairs[start : start + CHUNK], embedder, thresholds, meaning, rule)
                for row in scored:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                if args.label:
                    rows.extend(scored)
    if args.label:
        print(label_report(rows), file=sys.stdout if args.output else sys.stderr)
    if args.output:
        print(f"scored {len(pairs)} pairs to {args.output}")
    return 0


def cmd_judge(args: argparse.Namespace, store: Store) -> int:
    from augment_core.cli_commands import pick_dataset
    from augment_core.llm import LLMClient, make_provider
    from augment_core.llm_judge import judge_dataset
    from augment_core.records import DecisionStatus
    from augment_core.review import ReviewFilter

    dataset = pick_dataset(store, args.dataset)
    provider = make_provider(args.provider, args.model, args.base_url)
    client = LLMClient(provider, store, concurrency=args.concurrency, timeout=args.timeout)
    flt = ReviewFilter(status=DecisionStatus.PENDING, llm_judged=None if args.again else False)
    report = judge_dataset(store, dataset, client, flt, args.limit)
    usage = client.usage
    print(f"judged {report.judged} candidates of '{dataset.name}' with {provider.name} {provider.model}"
          f" ({report.failed} failed): {usage.calls} calls, {usage.cached} cached, ${usage.cost_usd:.4f}")  # fmt: skip
    for line in report.errors:
        print(f"  failed: {line}", file=sys.stderr)
    if not report.judged and not report.failed:
        print("nothing to judge: no pending candidate without a verdict (--again judges them anew)")
    return 1 if report.failed else 0
