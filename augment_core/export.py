"""Curated set -> file: the originals, the chosen candidates as full records, and their provenance.

One entry point for both faces: the CLI builds an :class:`ExportOptions` from its flags, the
studio builds the same object from its widgets, and both call :func:`export_dataset` (or
:func:`export_bytes` for a download button), so the studio's download equals `augment export`
for the same settings.

The records stream from the store a batch of originals at a time (``export_records``). Writing goes through
``writers.write_records`` (a temporary file renamed into place), so a failed export leaves no
half-written file behind.
"""

from __future__ import annotations

import gc
import json
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from augment_core.errors import AugmentError, InputError
from augment_core.export_records import export_records, first_exchange_filter
from augment_core.formats import file_type_of
from augment_core.mixing import Eligible, MixPlan, MixReport, MixSettings, mix_settings, plan_for_dataset
from augment_core.records import CHAT_LAYOUT, SCHEMAS, Dataset, Selection, convert_record, convertible
from augment_core.store import Store, now
from augment_core.trainers import TRAINERS, check_trainer, write_trainer_file
from augment_core.writers import atomic_path, check_writable, write_records

FORMATS = ("same", *SCHEMAS)
PROVENANCE_STYLES = ("auto", "object", "columns")


@dataclass(frozen=True)
class ExportOptions:
    """Everything an export depends on; mix values left None come from the store's settings."""

    format: str = "same"  # same | alpaca | sharegpt | messages | prompt-completion
    status: str = Selection.APPROVED  # approved | valid (+ pending ones the accept rule approves) | all (not rejected)
    ratio: str | None = None
    max_augmented_share: float | None = None
    max_refusal_share: float | None = None
    seed: int | None = None
    include_originals: bool = True
    provenance: bool = False
    provenance_style: str = "auto"  # object (a `metadata` object) | columns (`metadata.*`) | auto
    file_type: str | None = None  # jsonl | json | csv | parquet | hf; None: from the file name
    report_file: str | None = None  # a side file with the settings and the report
    trainer: str | None = None  # llama-factory | axolotl: also write that trainer's side file (trainers.py)
    csv_safe: bool = False  # CSV: prefix cells starting with = + - @ with ' (a spreadsheet runs them as formulas)

    def check(self) -> None:
        """InputError naming the first bad option."""
        if self.format not in FORMATS:
            raise InputError(f"--format '{self.format}': choose one of {', '.join(FORMATS)}")
        if self.status not in tuple(Selection):
            raise InputError(f"--status '{self.status}': choose one of {', '.join(Selection)}")
        if self.trainer is not None and self.trainer not in TRAINERS:
            raise InputError(f"--trainer '{self.trainer}': choose one of {', '.join(TRAINERS)}")
        if self.provenance_style not in PROVENANCE_STYLES:
            raise InputError(
                f"provenance style '{self.provenance_style}': choose one of {', '.join(PROVENANCE_STYLES)}"
            )


@dataclass
class ExportReport:
    """What an export wrote."""

    path: str
    file_type: str
    schema: str
    records: int
    provenance: bool
    mix: MixReport
    report_file: str | None = None
    trainer_file: str | None = None
    # Chat exported to a single-turn schema: conversations written that lost turns, and the
    # candidates left out because they rewrote a turn the single-turn record cannot hold.
    conversations_cut: int = 0
    later_turn_candidates: int = 0
    formula_cells: int = 0  # CSV cells starting with = + - @ (prefixed with ' when csv_safe)
    csv_safe: bool = False

    def lines(self) -> list[str]:
        head = f"exported {self.records} records to {self.path} ({self.schema}, {self.file_type})"
        cut = []
        if self.conversations_cut or self.later_turn_candidates:
            cut = [
                f"single-turn      {self.conversations_cut} multi-turn conversations kept only their first exchange "
                f"(system prompt and later turns dropped); {self.later_turn_candidates} candidates for later turns "
                "left out"
            ]
        if self.formula_cells and self.csv_safe:
            cut.append(f"csv-safe         {self.formula_cells} cells starting with = + - @ prefixed with '")
        elif self.formula_cells:
            cut.append(
                f"warning          {self.formula_cells} cells start with = + - or @, which a spreadsheet may run "
                "as formulas; kept as they are (training data); --csv-safe prefixes them with '"
            )
        tail = [f"report written to {self.report_file}"] if self.report_file else []
        tail += [f"trainer file written to {self.trainer_file}"] if self.trainer_file else []
        return [head, *self.mix.lines(), *cut, *tail]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mix"] = self.mix.as_dict()
        return data


def side_file_path(path: str | Path) -> Path:
    """The default side file next to an export: ``out.jsonl`` -> ``out.jsonl.report.json``."""
    path = Path(path)
    return path.with_name(path.name + ".report.json")


@dataclass
class ExportPlan:
    """What an export will hold, before anything is written (the studio's preview shows it)."""

    plan: MixPlan
    settings: MixSettings
    schema: str
    left_out: Counter[str]  # conversations cut and later-turn candidates, for single-turn schemas


def plan_export(store: Store, dataset: Dataset, options: ExportOptions) -> ExportPlan:
    """Choose the mix for ``options``: the one plan both the CLI export and the studio preview use."""
    options.check()
    settings = mix_settings(
        store,
        ratio=options.ratio,
        max_augmented_share=options.max_augmented_share,
        max_refusal_share=options.max_refusal_share,
        seed=options.seed,
    )
    schema = dataset.schema if options.format == "same" else options.format
    if not convertible(dataset.schema, schema):
        raise InputError(
            f"--format {schema}: {dataset.schema} records cannot be written as {schema} "
            "(no rejected answer is made up, and a KTO label stays with its completion)"
        )
    # Chat to a single-turn schema keeps the first user and assistant turns of each conversation
    # (records.convert_record): a rewrite of any other turn would come out as a copy of its original.
    single_turn = dataset.schema in CHAT_LAYOUT and schema not in CHAT_LAYOUT
    left_out = Counter[str]()
    keep = first_exchange_filter(store, dataset, left_out) if single_turn else None
    plan = plan_for_dataset(
        store, dataset.id, dataset.example_count, options.status, settings, options.include_originals, keep
    )
    return ExportPlan(plan, settings, schema, left_out)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while the mix is chosen and the records are written.

    An export allocates hundreds of thousands of objects without reference cycles (refcounting
    frees them); the collector rescanning the growing heap cost ~15 % of the time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def export_dataset(store: Store, dataset: Dataset, options: ExportOptions, path: str | Path) -> ExportReport:
    """Choose the mix, write the curated set to ``path`` atomically, and the side file when asked."""
    with _no_cyclic_gc():
        return _export(store, dataset, options, Path(path))


def _export(store: Store, dataset: Dataset, options: ExportOptions, path: Path) -> ExportReport:
    planned = plan_export(store, dataset, options)
    file_type = file_type_of(path, options.file_type)
    schema, settings, left_out, plan = planned.schema, planned.settings, planned.left_out, planned.plan
    del planned
    style = options.provenance_style
    if style == "auto":
        style = "object" if file_type in ("jsonl", "json") else "columns"
    by_example = _group_by_example(plan.chosen)
    # Only ids go on: 66k chosen Eligible objects kept alive would be rescanned by every full
    # garbage collection while the records are built.
    mix = plan.report
    del plan
    # Both destinations checked before anything is written: a bad --report-file must not cost the old export.
    _check_destination(path, str(path), file_type == "hf")
    side = Path(options.report_file) if options.report_file else None
    if side is not None:
        if side.resolve() == path.resolve():
            raise InputError(f"--report-file {side}: the same path as the export")
        _check_destination(side, f"--report-file {side}")
    sample: dict[str, Any] = {}
    if options.trainer:  # refused before anything is written when the trainer could not read it
        first = next(store.iter_examples(dataset.id, batch_size=1), [])
        sample = convert_record(first[0].record, dataset.schema, schema) if first else {}
        check_trainer(options.trainer, path, schema, file_type, sample)
    provenance = style if options.provenance else None
    records = export_records(
        store, dataset, by_example, options.format, options.include_originals, provenance, left_out
    )
    notes = Counter[str]()
    try:
        count = write_records(path, records, file_type, csv_safe=options.csv_safe, notes=notes)
    except OSError as exc:
        raise AugmentError(f"{path}: could not write the export: {exc.strerror or exc}") from None
    except Exception as exc:
        # pyarrow infers one type per column; a nested metadata object can hold values of mixed types.
        if type(exc).__module__.startswith("pyarrow"):
            hint = "; try --provenance-style columns" if options.provenance and style == "object" else ""
            raise AugmentError(f"{path}: Parquet cannot hold these records: {exc}{hint}") from None
        raise
    report = ExportReport(
        path=str(path),
        file_type=file_type,
        schema=schema,
        records=count,
        provenance=options.provenance,
        mix=mix,
        conversations_cut=left_out["conversations"],
        later_turn_candidates=left_out["candidates"],
        formula_cells=notes["formula_cells"],
        csv_safe=options.csv_safe,
    )
    if options.trainer:
        column = dataset.mapping if options.format == "same" else {}
        report.trainer_file = str(write_trainer_file(options.trainer, path, schema, file_type, sample, column))
    if side is not None:
        report.report_file = str(side)
        side_data = {
            "dataset": dataset.name,
            "written_at": now(),
            "options": asdict(options),
            "settings": asdict(settings),
            "report": report.as_dict(),
        }
        _write_text(side, json.dumps(side_data, indent=2, ensure_ascii=False) + "\n")
    return report


def _check_destination(path: Path, label: str, folder: bool = False) -> None:
    try:
        check_writable(path, folder)
    except OSError as exc:
        raise InputError(f"{label}: cannot be written: {exc.strerror or exc}") from None


def export_bytes(
    store: Store, dataset: Dataset, options: ExportOptions, file_type: str = "jsonl"
) -> tuple[bytes, ExportReport]:
    """The export as bytes (the studio's download button), through exactly the same path as the CLI.

    A datasets folder, or a file with its trainer's side file, comes as one ZIP archive.
    """
    with tempfile.TemporaryDirectory(prefix="augment-export-") as folder:
        path = Path(folder) / "out" / f"{dataset_file_stem(dataset)}.{file_type}"  # never a user-typed path
        report = export_dataset(store, dataset, replace(options, file_type=file_type, report_file=None), path)
        if file_type != "hf" and not options.trainer:
            return path.read_bytes(), report
        archive = shutil.make_archive(str(Path(folder) / "export"), "zip", root_dir=path.parent)
        return Path(archive).read_bytes(), report


def dataset_file_stem(dataset: Dataset) -> str:
    """A file name for the dataset's export inside an archive: its name, reduced to safe characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", dataset.name).strip("-") or "dataset"


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _group_by_example(chosen: list[Eligible]) -> dict[int | None, tuple[str, ...]]:
    """Chosen candidate ids by original (None: refusals without one), each group by augmenter and id.

    Tuples of strings, which the garbage collector stops tracking.
    """
    groups: dict[int | None, list[str]] = {}
    for item in sorted(chosen, key=lambda i: (i.augmenter, i.candidate_id)):
        groups.setdefault(item.example_id, []).append(item.candidate_id)
    return {example_id: tuple(ids) for example_id, ids in groups.items()}
