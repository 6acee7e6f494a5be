"""The `augment score-pairs` command: score a file of (original, candidate) pairs, one JSON line each."""

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
