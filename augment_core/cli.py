"""The command line: ``augment import|run|score|review|export|stats`` (also ``python -m augment_core``).

Each sub-command parses its flags, calls the library and prints; user mistakes end with one
line on stderr and exit code 2, a failed run with exit code 1, never a bare traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from augment_core.augmenters import AUGMENTERS
from augment_core.augmenters.translators import TRANSLATORS
from augment_core.errors import AugmentError, InputError
from augment_core.formats import FILE_TYPES, parse_mapping
from augment_core.importer import import_file
from augment_core.llm import PROVIDERS
from augment_core.records import SCHEMAS, Dataset, Selection
from augment_core.store import DEFAULT_URL, ROLES, Store
from augment_core.team import local_reviewer
from augment_core.trainers import TRAINERS

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


def plural(count: int, noun: str) -> str:
    """``1 record``, ``2 records``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (counts, limits, retries)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected at least {minimum}, got {value}")
        return value

    return parse


positive_int = whole_number(1)
retries_count = whole_number(0)


def seconds(text: str) -> float:
    """An argparse type for --timeout: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got '{text}'") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def cmd_import(args: argparse.Namespace, store: Store) -> int:
    report = import_file(
        store,
        args.input,
        name=args.name or args.dataset,
        schema=args.format,
        mapping=parse_mapping(args.map or []),
        skip_invalid=args.skip_invalid,
        file_type=args.file_type,
    )
    for skipped in report.skipped:
        print(f"skipped {skipped}", file=sys.stderr)
    print(f"imported {plural(report.imported, 'record')} into dataset '{report.dataset}' (schema {report.schema})")
    if report.skipped:
        print(f"skipped {plural(len(report.skipped), 'invalid record')}")
    return 0


def cmd_import_candidates(args: argparse.Namespace, store: Store) -> int:
    from augment_core.foreign import import_candidates

    dataset = pick_dataset(store, args.dataset)
    report = import_candidates(store, dataset, args.input, file_type=args.file_type)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if report.matched == 0:
        raise InputError(f"{args.input}: no row matched an original in dataset '{dataset.name}'")
    for line in report.lines():
        print(line)
    print("score them with `augment score`, then review them like any other candidate")
    return 0


def cmd_settings(args: argparse.Namespace, store: Store) -> int:
    from augment_core.settings import SETTINGS, change_setting, check_key, current_settings

    if args.key is None:
        for key, value in current_settings(store).items():
            shown = "(default)" if value is None else json.dumps(value)
            print(f"{key:<28} {shown:<24} {SETTINGS[key]}")
        return 0
    check_key(args.key)
    if args.unset or args.value is not None:
        change_setting(store, args.key, None if args.unset else args.value)
    value = current_settings(store)[args.key]
    print(f"{args.key} = {'(default)' if value is None else json.dumps(value)}")
    return 0


def cmd_stats(args: argparse.Namespace, store: Store) -> int:
    dataset = pick_dataset(store, args.dataset)
    counts = store.dataset_counts(dataset.id)
    stats: dict[str, object] = {"dataset": dataset.name, "schema": dataset.schema, **counts.as_dict()}
    from augment_core.quality import Embedder, dataset_diversity, model_name_from_store

    # distinct-n needs no model; the mean pairwise similarity loads the embedder, so it is asked for.
    embedder = Embedder.load(model_name_from_store(store)) if args.similarity else None
    diversity = {k: v.as_dict() for k, v in dataset_diversity(store, dataset, embedder).items()}
    stats["diversity"] = diversity
    stats["review"] = review_progress(store, dataset.id, counts)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"dataset      {dataset.name} ({dataset.schema}, from {dataset.source_path})")
    print(f"examples     {counts.examples}")
    print(f"candidates   {counts.candidates} ({counts.scored} scored)")
    for augmenter, by_status in sorted(counts.by_augmenter.items()):
        print(f"  {augmenter:<16} {by_status['ok']} ok, {by_status['failed']} failed")
    for reason, count in store.failure_reasons(dataset.id):
        print(f"  failed x{count:<6} {reason[:160]}")
    d = counts.decisions
    print(f"decisions    {d.approved} approved, {d.rejected} rejected, {d.pending} pending")
    review: Any = stats["review"]
    rule = review["rule"]
    print(f"review rule  {rule['min_responses']} response(s), agreement {rule['agreement']}")
    for name, answered in review["responses_by_reviewer"].items():
        print(f"  {name:<30} {answered} answered")
    team = review["agreement"]
    alpha = "-" if team["alpha"] is None else f"{team['alpha']:.3f}"
    print(f"agreement    Krippendorff's alpha {alpha} on {team['units']} candidates, "
          f"{len(team['conflicts'])} in conflict")
    for pair in team["pairs"]:
        kappa = "-" if pair["kappa"] is None else f"{pair['kappa']:.3f}"
        print(f"  kappa {pair['first']} / {pair['second']}: {kappa} on {pair['shared']} shared")
    print("diversity    (instructions)    distinct-1  distinct-2  mean pairwise similarity")
    for label, key in (("originals", "originals"), ("+ approved", "with_approved")):
        v = diversity[key]
        mean = v["mean_pairwise_similarity"]
        sim = "-" if mean is None else f"{mean:.3f} (n={v['sampled']})"
        print(f"  {label:<14} {v['texts']:>7}     {v['distinct_1']:>10.3f}  {v['distinct_2']:>10.3f}  {sim}")
    return 0


def review_progress(store: Store, dataset_id: int, counts: Any) -> dict[str, Any]:
    """The review rule, each reviewer's responses, overall progress and agreement, for `augment stats`."""
    from augment_core.agreement import agreement
    from augment_core.review import review_rule

    d = counts.decisions
    return {
        "rule": dataclasses.asdict(review_rule(store)),
        "decided": d.approved + d.rejected,
        "reviewable": d.approved + d.rejected + d.pending,
        "responses_by_reviewer": store.responses_by_reviewer(dataset_id),
        "agreement": agreement(store.dataset_responses(dataset_id)).as_dict(),
    }


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
        trainer=args.trainer,
    )
    report = export_dataset(store, dataset, options, args.output)
    print("\n".join(report.lines()))
    return 0


def _run_options(args: argparse.Namespace, names: list[str]) -> dict[str, dict[str, object]]:
    """Settings per augmenter from the run flags and --set NAME.SETTING=VALUE (which wins)."""

    flags: dict[str, object] = {
        "n": args.n, "pivots": args.pivots, "translator": args.translator, "libre_url": args.libre_url,
        "chain": args.chain or None, "prompts_file": args.refusal_prompts, "writer": args.refusal_writer,
        "include_input": args.include_input or None, "seed": args.seed,
    }  # fmt: skip
    options: dict[str, dict[str, object]] = {}
    for name in names:
        known = {s.name for s in AUGMENTERS[name].settings}
        options[name] = {k: v for k, v in flags.items() if v is not None and k in known}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        name, dot, setting = key.partition(".")
        if not sep or not dot or name not in options:
            raise InputError(f"--set {item}: expected AUGMENTER.SETTING=VALUE for one of {', '.join(names)}")
        options[name][setting] = value
    return options


def cmd_run(args: argparse.Namespace, store: Store) -> int:
    import time

    from augment_core.progress import Progress
    from augment_core.runs import Job, RunSpec, preview_rows

    dataset = pick_dataset(store, args.dataset)
    names = [n.strip() for n in args.augmenters.split(",") if n.strip()]
    unknown = [n for n in names if n not in AUGMENTERS]
    if unknown or not names:
        raise InputError(f"--augmenters: unknown '{', '.join(unknown)}'; choose from {', '.join(AUGMENTERS)}")
    spec = RunSpec(
        dataset=dataset.name, augmenters=_run_options(args, names), provider=args.provider, model=args.model,
        base_url=args.base_url, concurrency=args.concurrency, rpm=args.rpm, tpm=args.tpm,
        batch_size=args.batch_size, limit=args.limit, sample=args.sample, seed=args.sample_seed,
        timeout=args.timeout, max_retries=args.max_retries,
    )  # fmt: skip
    last = [time.monotonic()]
    noted = [""]

    def show(event: Progress) -> None:
        if event.note and event.note != noted[0]:  # a long wait is said at once, and once
            print(f"  {event.note}", file=sys.stderr)
        noted[0] = event.note
        if time.monotonic() - last[0] < 1.0 and event.done < event.total:
            return
        last[0] = time.monotonic()
        eta = "" if event.eta_seconds is None else f", about {event.eta_seconds:.0f} s left"
        print(f"  {event.done}/{event.total} items, {event.added} new, {event.failed} failed{eta}", file=sys.stderr)

    with Job(store, spec) as job:
        planned = job.estimate()
        covered = f"{dataset.example_count} examples"
        if args.limit is not None:
            covered = (f"preview of {plural(planned.examples, 'example')}, "
                       f"{'the first' if args.sample == 'first' else f'at random (seed {args.sample_seed})'}"
                       f" of {dataset.example_count}")  # fmt: skip
        print(f"estimate for dataset '{dataset.name}' ({covered}, LLM: {planned.llm}):")
        for row in planned.rows.values():
            money = f"${row.cost_usd:.4f}" if row.priced else "cost unknown (no price for this model)"
            money = money if row.llm_calls else "$0"
            # Said only when there is some, so a first run reads as it always did.
            free = f"; {row.skipped} items already stored, {row.cached} calls cached"
            free = free if row.skipped or row.cached else ""
            print(f"  {row.name:<16} {row.items} items, {row.calls} calls ({row.llm_calls} to the LLM, "
                  f"~{row.input_tokens} in + ~{row.output_tokens} out tokens), {money}{free}")  # fmt: skip
        if args.dry_run:
            return 0
        try:
            result = job.run(show)
        except KeyboardInterrupt:
            job.cancel.set()
            raise
    report = result.report
    print(f"ran in {report.seconds:.1f} s: {report.added} candidates stored, {report.failed} of them failed, "
          f"{report.skipped} items already done, {report.duplicates} duplicates not stored")  # fmt: skip
    for s in report.by_augmenter.values():
        u = s.usage
        print(f"  {s.name:<16} {s.added} stored, {s.failed} failed, {s.skipped} skipped, {s.duplicates} duplicates"
              f" | {u.calls} calls, {u.cached} cached, {u.input_tokens} in + {u.output_tokens} out tokens,"
              f" ${u.cost_usd:.4f}")  # fmt: skip
    if args.limit is not None:
        print(f"candidates of the {plural(result.examples, 'previewed example')} (a run without --limit skips them):")
        for shown in preview_rows(store, result):
            text = f"failed: {shown.error}" if shown.error else shown.text
            print(f"  {shown.augmenter:<16} {_one_line(shown.original)}\n  {'':<16} -> {_one_line(text)}")
    if report.failed:
        print(f"error: {report.failed} candidates failed (reasons stored on them); rerun to retry", file=sys.stderr)
        return 1
    return 0


def _one_line(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def cmd_score(args: argparse.Namespace, store: Store) -> int:
    from tqdm import tqdm

    from augment_core.quality import model_name_from_store
    from augment_core.runs import score_new

    dataset = pick_dataset(store, args.dataset)
    bars: list[tqdm[Any]] = []

    def show(done: int, total: int) -> None:
        if not bars:  # called first with 0 once there is something to score
            bars.append(tqdm(total=total, unit="cand", desc="scoring", file=sys.stderr, disable=args.quiet))
        bars[0].update(done - bars[0].n)

    try:
        done = score_new(store, dataset, model_batch_size=args.batch_size,
                         examples_per_batch=args.examples_per_batch, progress=show)  # fmt: skip
    finally:
        for bar in bars:
            bar.close()
    if not bars:
        print(f"nothing to score in '{dataset.name}': every candidate has its scores")
        return 0
    print(f"scored {done} candidates of '{dataset.name}' with {model_name_from_store(store)}")
    return 0


def cmd_review(args: argparse.Namespace, store: Store) -> int:
    from augment_core.review import bulk_review
    from augment_core.team import require_admin

    dataset = pick_dataset(store, args.dataset)
    require_admin(store, args.reviewer, "a bulk decision")
    if store.count_unscored_candidates(dataset.id):
        print("note: some candidates are not scored yet and are left alone; run `augment score`", file=sys.stderr)
    count = bulk_review(store, dataset, args.action)
    verb = "rejected" if args.action.startswith("reject") else "approved"
    print(f"{verb} {count} candidates")
    return 0


def cmd_audit(args: argparse.Namespace, store: Store) -> int:
    from augment_core.audit import audit_report, draw_audit
    from augment_core.team import require_admin

    dataset = pick_dataset(store, args.dataset)
    if args.sample:
        require_admin(store, args.reviewer, "drawing an audit sample")
        accepted, rejected = draw_audit(store, dataset, args.sample, reviewer=args.queue_for, seed=args.seed)
        whom = f"for {args.queue_for}" if args.queue_for else "for every reviewer"
        print(f"queued {accepted} candidates the accept rule approves and {rejected} it does not, {whom} "
              "(first in the studio's queue)")
    report = audit_report(store, dataset)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    for line in report.lines():
        print(line)
    return 0


def cmd_reviewers(args: argparse.Namespace, store: Store) -> int:
    from augment_core import team

    if args.change == "add":
        team.set_reviewer(store, args.reviewer, args.name, args.role)
    elif args.change == "remove":
        team.remove_reviewer(store, args.reviewer, args.name)
    listed = store.reviewers()
    if not listed:
        print("no reviewers listed: everyone is an admin (add one with `augment reviewers add NAME --role admin`)")
    for name, role in listed.items():
        print(f"{name:<32} {role}")
    return 0


def _choices(augmenter: str, setting: str) -> list[str]:
    """The choices of an augmenter's setting, from the augmenter registry."""
    return next(list(s.choices) for s in AUGMENTERS[augmenter].settings if s.name == setting)


REVIEWER_FLAG = ("--reviewer",)
REVIEWER_OPTIONS = {"default": local_reviewer(), "help": "who acts (default: the OS user); roles: `augment reviewers`"}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", default=os.environ.get("AUGMENT_DB", DEFAULT_URL), help="SQLAlchemy URL (env AUGMENT_DB)"
    )
    common.add_argument("--dataset", help="dataset name, where more than one is stored")

    parser = argparse.ArgumentParser(
        prog="augment", description="Augment LLM fine-tuning data with a human in the loop."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", parents=[common], help="import a dataset file (JSONL, JSON, CSV, Parquet)")
    p.add_argument("input", help="the dataset file")
    p.add_argument("--name", help="dataset name (default: --dataset, else the file name without extension)")
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", *SCHEMAS],
        help="schema (default: detected)",
    )
    p.add_argument(
        "--map", action="append", metavar="FIELD=COLUMN", help="use COLUMN as FIELD, e.g. instruction=question"
    )
    p.add_argument("--skip-invalid", action="store_true", help="import the valid records, report the others")
    p.add_argument("--file-type", choices=list(FILE_TYPES), help="default: from the file's extension")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "import-candidates", parents=[common], help="attach candidates made elsewhere to their originals"
    )
    p.add_argument("input", help="rows with source_id or original, text, and optionally augmenter, "
                   "target_field, metadata")  # fmt: skip
    p.add_argument("--file-type", choices=list(FILE_TYPES), help="default: from the file's extension")
    p.set_defaults(func=cmd_import_candidates)

    p = sub.add_parser("run", parents=[common], help="run augmenters over a dataset")
    p.add_argument("--augmenters", required=True, help=f"comma-separated, from: {', '.join(AUGMENTERS)}")
    p.add_argument(
        "--provider",
        choices=list(PROVIDERS),
        help="LLM provider (default: anthropic when ANTHROPIC_API_KEY is set, else local)",
    )
    p.add_argument("--model", help="model name (a .gguf path for local)")
    p.add_argument("--base-url", help="API base URL (an OpenAI-compatible server, a proxy)")
    p.add_argument("--n", type=positive_int, help="variants per field (paraphrase default 5, templates 3)")
    p.add_argument("--pivots", help="backtranslation pivot languages, e.g. de,fr,ja (default de)")
    p.add_argument("--chain", action="store_true", help="backtranslate through all pivots in one chain")
    p.add_argument(
        "--translator",
        choices=list(TRANSLATORS),
        help="default llm (the configured LLM; works offline)",
    )
    p.add_argument("--libre-url", help="URL of your LibreTranslate server")
    p.add_argument("--refusal-prompts", metavar="FILE", help="prompts, one per line: '[category] prompt'")
    p.add_argument("--refusal-writer", choices=_choices("refusal", "writer"), help="who writes the reason")
    p.add_argument(
        "--include-input",
        action="store_true",
        help="also rewrite the input field (paraphrase, backtranslation; templates never touch it)",
    )
    p.add_argument("--seed", type=int, help="templates seed")
    p.add_argument("--set", action="append", metavar="AUGMENTER.SETTING=VALUE", help="any augmenter setting")
    p.add_argument("--concurrency", type=positive_int, default=16, help="parallel calls (default 16)")
    p.add_argument("--rpm", type=positive_int, help="requests per minute limit")
    p.add_argument("--tpm", type=positive_int, help="tokens per minute limit")
    p.add_argument("--timeout", type=seconds, help="seconds to wait for one reply (setting llm.timeout, default 60)")
    p.add_argument("--max-retries", type=retries_count,
                   help="retries of a failed request (setting llm.max_retries, default 5)")  # fmt: skip
    p.add_argument("--batch-size", type=positive_int, default=200, help="examples per batch written to the store")
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="a preview: only N records (their candidates are kept; the full run skips them)")
    p.add_argument("--sample", choices=["first", "random"], default="first",
                   help="which records --limit takes (default first)")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of --sample random (default 0)")
    p.add_argument("--dry-run", action="store_true", help="print the estimate and stop")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("score", parents=[common], help="score every unscored candidate (a rerun is a no-op)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="texts per model call (default 64)")
    p.add_argument("--examples-per-batch", type=positive_int, default=200, help="examples read and saved at a time")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("review", parents=[common], help="bulk decisions from the scores (undecided candidates only)")
    actions = p.add_mutually_exclusive_group(required=True)
    actions.add_argument(
        "--approve-valid",
        dest="action",
        action="store_const",
        const="approve-valid",
        help="approve those in the validity window with no flag, no duplicate, meaning kept",
    )
    actions.add_argument(
        "--approve-optimal",
        dest="action",
        action="store_const",
        const="approve-optimal",
        help="the same, within the optimal band",
    )
    actions.add_argument(
        "--reject-invalid",
        dest="action",
        action="store_const",
        const="reject-invalid",
        help="reject those outside the validity window and the near-duplicates",
    )
    p.add_argument(*REVIEWER_FLAG, **REVIEWER_OPTIONS)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("audit", parents=[common], help="check the accept rule against people: draw a sample, report")
    p.add_argument("--sample", type=positive_int, help="queue N more candidates, half per verdict of the accept rule")
    p.add_argument("--for", dest="queue_for", metavar="NAME", help="queue them for this reviewer only")
    p.add_argument("--seed", type=int, help="random seed of the draw")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(*REVIEWER_FLAG, **REVIEWER_OPTIONS)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("reviewers", parents=[common], help="list, add or remove reviewers and their roles")
    p.add_argument("change", nargs="?", choices=["add", "remove"], help="without it, list them")
    p.add_argument("name", nargs="?", help="the reviewer to add or remove")
    p.add_argument("--role", default="reviewer", choices=list(ROLES))
    p.add_argument(*REVIEWER_FLAG, **REVIEWER_OPTIONS)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_reviewers)

    p = sub.add_parser("export", parents=[common], help="export the curated set with a controlled mix")
    p.add_argument("output", help="file to write (.jsonl, .json, .csv, .parquet)")
    p.add_argument("--format", default="same", choices=["same", *SCHEMAS])
    p.add_argument(
        "--status",
        default="approved",
        choices=[s.value for s in Selection],
        help="approved ones; valid: also the pending ones `augment review --approve-valid` would approve, "
        "and pending refusals (never scored; the studio is the only place to approve them one by one); "
        "all: every one not rejected",
    )
    p.add_argument("--ratio", help="target ORIGINALS:AUGMENTED (setting mix.ratio, default 1:2)")
    p.add_argument("--max-augmented-share", type=float, help="cap on the augmented share (setting, default 0.7)")
    p.add_argument("--max-refusal-share", type=float, help="cap on refusal examples in the set (setting, default 0.1)")
    p.add_argument("--seed", type=int, help="tie-break seed for the choice (setting mix.seed, default 0)")
    p.add_argument("--no-originals", action="store_true", help="write only the augmented records")
    p.add_argument(
        "--provenance",
        action="store_true",
        help="add provenance (metadata object/columns); metadata a record already has is kept under metadata.previous",
    )
    p.add_argument("--provenance-style", default="auto", choices=["auto", "object", "columns"])
    p.add_argument("--file-type", choices=list(FILE_TYPES),
                   help="default: from OUTPUT's extension; hf: a datasets.save_to_disk folder")  # fmt: skip
    p.add_argument("--trainer", choices=list(TRAINERS),
                   help="also write llama-factory's dataset_info.json or an axolotl datasets: snippet beside OUTPUT")
    p.add_argument("--report-file", nargs="?", const="", metavar="PATH", help="also write settings and report as JSON")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("stats", parents=[common], help="counts and diversity for a dataset")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--similarity", action="store_true", help="also mean pairwise similarity (loads the model)")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("settings", parents=[common], help="show or change the settings (window, band, mix, prices)")
    p.add_argument("key", nargs="?", help="a setting; without it, list them all")
    p.add_argument("value", nargs="?", help="new value: JSON ([0.7, 0.98], 0.5, {...}) or text (1:2)")
    p.add_argument("--unset", action="store_true", help="back to the default")
    p.set_defaults(func=cmd_settings)

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
    except BrokenPipeError:  # `augment ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a path that is a directory, a missing folder, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except sa.exc.OperationalError as exc:  # the database cannot be opened or written
        print(f"error: database {args.db}: {exc.orig}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; what finished is stored", file=sys.stderr)
        return 130
    finally:
        if store is not None:
            store.close()


if __name__ == "__main__":
    raise SystemExit(main())
