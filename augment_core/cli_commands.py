"""What each ``augment`` sub-command does: read its parsed flags, call the library, print.

The flags themselves are in ``cli``; errors rise to ``cli.main``, which prints them as one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from augment_core.errors import InputError
from augment_core.formats import parse_mapping
from augment_core.importer import import_file
from augment_core.records import Dataset
from augment_core.store import Store

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


def cmd_import(args: argparse.Namespace, store: Store) -> int:
    report = import_file(
        store,
        args.input,
        name=args.name or args.dataset,
        schema=args.format,
        mapping=parse_mapping(args.map or []),
        skip_invalid=args.skip_invalid,
        file_type=args.file_type,
        engine=args.engine,
        ray_address=args.ray_address,
        actors=args.actors,
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
    from augment_core.diversity import dataset_diversity
    from augment_core.quality import Embedder, model_name_from_store

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
    if args.push_to_hub:  # a bad id is refused before anything is written
        from augment_core.hub import check_repo_id

        check_repo_id(args.push_to_hub)
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
        csv_safe=args.csv_safe,
    )
    report = export_dataset(store, dataset, options, args.output)
    print("\n".join(report.lines()))
    if args.push_to_hub:
        from augment_core.hub import push_export

        sides = [Path(f) for f in (report.trainer_file, report.report_file) if f]
        pushed = push_export(Path(report.path), sides, args.push_to_hub, private=args.private)
        print("\n".join(pushed.lines()))
    return 0


def _run_options(args: argparse.Namespace, names: list[str]) -> dict[str, dict[str, object]]:
    """Settings per augmenter from the run flags and --set NAME.SETTING=VALUE (which wins)."""

    flags: dict[str, object] = {
        "n": args.n, "pivots": args.pivots, "translator": args.translator, "libre_url": args.libre_url,
        "chain": args.chain or None, "prompts_file": args.refusal_prompts, "writer": args.refusal_writer,
        "include_input": args.include_input or None, "seed": args.seed,
    }  # fmt: skip
    options: dict[str, dict[str, object]] = {}
    from augment_core.augmenters import AUGMENTERS

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

    from augment_core.augmenters import AUGMENTERS
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
        engine=args.engine, ray_address=args.ray_address, actors=args.actors, output=args.output,
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
                         examples_per_batch=args.examples_per_batch, progress=show, engine=args.engine,
                         ray_address=args.ray_address, actors=args.actors, output=args.output)  # fmt: skip
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


