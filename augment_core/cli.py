"""The command line: ``augment import|run|score|review|export|stats`` (also ``python -m augment_core``).

Each sub-command parses its flags, calls the library and prints; user mistakes end with one
line on stderr and exit code 2, a failed run with exit code 1, never a bare traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from augment_core.errors import AugmentError, InputError, NotAvailableError
from augment_core.formats import parse_mapping
from augment_core.importer import import_file
from augment_core.records import Dataset
from augment_core.store import DEFAULT_URL, Store

Command = Callable[[argparse.Namespace, Store], int]


def pick_dataset(store: Store, name: str | None) -> Dataset:
    """The dataset named by --dataset, or the only one stored."""
    dataset = store.get_dataset(name)
    if dataset is not None:
        return dataset
    names = store.dataset_names()
    if name is not None:
        raise InputError(f"no dataset called '{name}'; stored: {', '.join(names) or 'none'}")
    if not names:
        raise InputError("no dataset stored yet; run `augment import FILE` first")
    raise InputError(f"several datasets are stored ({', '.join(names)}); choose one with --dataset")


def cmd_import(args: argparse.Namespace, store: Store) -> int:
    report = import_file(
        store,
        args.input,
        name=args.name,
        schema=args.format,
        mapping=parse_mapping(args.map or []),
        skip_invalid=args.skip_invalid,
    )
    for skipped in report.skipped:
        print(f"skipped {skipped}", file=sys.stderr)
    print(f"imported {report.imported} records into dataset '{report.dataset}' (schema {report.schema})")
    if report.skipped:
        print(f"skipped {len(report.skipped)} invalid records")
    return 0


def cmd_stats(args: argparse.Namespace, store: Store) -> int:
    dataset = pick_dataset(store, args.dataset)
    counts = store.dataset_counts(dataset.id)
    stats = {"dataset": dataset.name, "schema": dataset.schema, **counts}
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"dataset      {dataset.name} ({dataset.schema}, from {dataset.source_path})")
    print(f"examples     {counts['examples']}")
    print(f"candidates   {counts['candidates']} ({counts['scored']} scored)")
    for augmenter, by_status in sorted(counts["by_augmenter"].items()):
        print(f"  {augmenter:<16} {by_status['ok']} ok, {by_status['failed']} failed")
    d = counts["decisions"]
    print(f"decisions    {d['approved']} approved, {d['rejected']} rejected, {d['pending']} pending")
    return 0


def cmd_export(args: argparse.Namespace, store: Store) -> int:
    from augment_core.export import ExportOptions, export_dataset, side_file_path

    dataset = pick_dataset(store, args.dataset)
    report_file = args.report_file
    if report_file == "":  # --report-file without a path: next to the export
        report_file = str(side_file_path(args.output))
    options = ExportOptions(
        format=args.format,
        status=args.status,
        ratio=args.ratio,
        max_augmented_share=args.max_augmented_share,
        max_refusal_share=args.max_refusal_share,
        seed=args.seed,
        include_originals=not args.no_originals,
        provenance=args.provenance,
        provenance_style=args.provenance_style,
        file_type=args.file_type,
        report_file=report_file,
    )
    report = export_dataset(store, dataset, options, args.output)
    print("\n".join(report.lines()))
    return 0


def not_available(feature: str) -> Command:
    def command(args: argparse.Namespace, store: Store) -> int:
        raise NotAvailableError(f"`augment {feature}` is not available yet")

    return command


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=os.environ.get("AUGMENT_DB", DEFAULT_URL), help="SQLAlchemy URL (env AUGMENT_DB)")
    common.add_argument("--dataset", help="dataset name, where more than one is stored")

    parser = argparse.ArgumentParser(prog="augment", description="Augment LLM fine-tuning data with a human in the loop.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", parents=[common], help="import a dataset file (JSONL, JSON, CSV, Parquet)")
    p.add_argument("input")
    p.add_argument("--name", help="dataset name (default: the file name without extension)")
    p.add_argument("--format", default="auto", choices=["auto", "alpaca", "sharegpt", "messages", "prompt-completion"])
    p.add_argument("--map", action="append", metavar="FIELD=COLUMN", help="use COLUMN as FIELD, e.g. instruction=question")
    p.add_argument("--skip-invalid", action="store_true", help="import the valid records, report the others")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("stats", parents=[common], help="counts for a dataset")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("export", parents=[common], help="export the curated set with a controlled mix")
    p.add_argument("output", help="file to write (.jsonl, .json, .csv, .parquet)")
    p.add_argument("--format", default="same", choices=["same", "alpaca", "sharegpt", "messages", "prompt-completion"])
    p.add_argument("--status", default="approved", choices=["approved", "valid", "all"], help="candidates that may go in")
    p.add_argument("--ratio", help="target ORIGINALS:AUGMENTED (setting mix.ratio, default 1:2)")
    p.add_argument("--max-augmented-share", type=float, help="cap on the augmented share (setting, default 0.7)")
    p.add_argument("--max-refusal-share", type=float, help="cap on refusal examples in the set (setting, default 0.1)")
    p.add_argument("--seed", type=int, help="tie-break seed for the choice (setting mix.seed, default 0)")
    p.add_argument("--no-originals", action="store_true", help="write only the augmented records")
    p.add_argument("--provenance", action="store_true", help="add provenance (metadata object/columns)")
    p.add_argument("--provenance-style", default="auto", choices=["auto", "object", "columns"])
    p.add_argument("--file-type", choices=["jsonl", "json", "csv", "parquet"], help="default: from OUTPUT's extension")
    p.add_argument("--report-file", nargs="?", const="", metavar="PATH", help="also write settings and report as JSON")
    p.set_defaults(func=cmd_export)

    for name, help_text in [
        ("run", "run augmenters over a dataset"),
        ("score", "score every unscored candidate"),
        ("review", "bulk decisions"),
    ]:
        p = sub.add_parser(name, parents=[common], help=help_text)
        p.set_defaults(func=not_available(name))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    store: Store | None = None
    try:
        store = Store(args.db)
        code: int = args.func(args, store)
        return code
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AugmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; what finished is stored", file=sys.stderr)
        return 130
    finally:
        if store is not None:
            store.close()


if __name__ == "__main__":
    raise SystemExit(main())
