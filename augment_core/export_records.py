"""The records an export writes, in order: each original, then its chosen candidates as full records.

Refusals without an original come last. Every record carries an id: its own, else the key the
store knows its original by (``#12``), and each augmented copy ``<id>~<candidate>``, so the export
imports again keyed by them. With provenance, each record gets a ``metadata`` object or
``metadata.*`` columns (``provenance.py`` says what is in them).

This is the export's 100,000-record loop: per-record work is kept to what each record needs
(nothing is copied twice, column names are made once, empty lists need no encoder).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from augment_core.errors import AugmentError
from augment_core.formats import unapply_mapping
from augment_core.jsontext import to_json
from augment_core.mixing import Eligible
from augment_core.provenance import PROVENANCE_FIELDS, candidate_meta, original_meta, pop_earlier_metadata
from augment_core.record_checks import validate_record
from augment_core.records import (
    CHAT_LAYOUT,
    ID_KEYS,
    Candidate,
    CandidateKind,
    Dataset,
    Decision,
    Example,
    RecordError,
    convert_record,
    effective_text,
    record_id,
    to_turns,
    with_field,
)
from augment_core.store import Store

BATCH = 1000  # originals per read (their chosen candidates are read with them)
# The column of each provenance field in CSV and Parquet (``previous``: an earlier export's metadata).
_COLUMNS = {key: f"metadata.{key}" for key in (*PROVENANCE_FIELDS, "previous")}
_SCALARS = frozenset({str, int, float, bool})


def _cell(value: Any) -> Any:
    """A provenance value as one Parquet/CSV cell: a dict or list as JSON text, anything else as it is."""
    if isinstance(value, dict | list):
        return to_json(value) if value else ("{}" if isinstance(value, dict) else "[]")
    return value


def export_records(
    store: Store,
    dataset: Dataset,
    by_example: dict[int | None, tuple[str, ...]],
    target: str,
    include_originals: bool,
    style: str | None,
    left_out: Counter[str],
) -> Iterator[dict[str, Any]]:
    """Every exported record in order: each original (unless left out), then its chosen candidates
    (``by_example``, from the mix); orphan refusals last. ``target`` is the schema to write or
    ``same``; ``style`` is ``object``, ``columns`` or None (no provenance).

    Conversations written to a single-turn schema that lose turns are counted in ``left_out["conversations"]``.
    """
    schema = dataset.schema
    id_key = _id_key(store, dataset)
    shape = _shaper(dataset, target, left_out)
    attach = _attacher(style)
    for batch in store.iter_examples(dataset.id, batch_size=BATCH):
        ids = [cid for example in batch for cid in by_example.get(example.id, ())]
        details = store.export_candidates(ids)
        responses = store.responses_of(ids) if style is not None else {}
        for example in batch:
            keyed = _with_id(example, id_key)
            if include_originals:
                # A copy: the keyed record is the base of its candidates' records below.
                yield attach(shape(dict(keyed)), original_meta(example) if style else None)
            for cid in by_example.get(example.id, ()):
                candidate, score, decision = details[cid]
                meta = None
                if style is not None:
                    meta = candidate_meta(candidate, example, score, decision, schema, responses.get(cid, ()))
                yield attach(shape(_candidate_record(candidate, keyed, decision, schema, id_key)), meta)
    orphans = by_example.get(None, ())
    for start in range(0, len(orphans), BATCH):
        chunk = orphans[start : start + BATCH]
        details = store.export_candidates(chunk)
        responses = store.responses_of(chunk) if style is not None else {}
        for cid in chunk:
            candidate, score, decision = details[cid]
            meta = None
            if style is not None:
                meta = candidate_meta(candidate, None, score, decision, schema, responses.get(cid, ()))
            yield attach(shape(_candidate_record(candidate, None, decision, schema, id_key)), meta)


def _shaper(dataset: Dataset, target: str, left_out: Counter[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The record in the export's schema: its own columns back (``same``), or converted to ``target``.

    Takes a record the caller owns (it may be changed in place).
    """
    if target == "same":
        mapping = dataset.mapping
        return (lambda record: unapply_mapping(record, mapping)) if mapping else (lambda record: record)
    schema = dataset.schema
    if not (schema in CHAT_LAYOUT and target not in CHAT_LAYOUT):
        return lambda record: convert_record(record, schema, target)
    list_key = CHAT_LAYOUT[schema][0]

    def single_turn(record: dict[str, Any]) -> dict[str, Any]:
        if len(first_exchange(record, schema)) < len(record[list_key]):
            left_out["conversations"] += 1
        return convert_record(record, schema, target)

    return single_turn


def _attacher(style: str | None) -> Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]]:
    """Put the provenance ``meta`` on a record: a ``metadata`` object, ``metadata.*`` columns, or nothing.

    Metadata the record already carries (a re-imported provenance export) goes under ``previous``.
    """

    def with_previous(record: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
        previous = pop_earlier_metadata(record)
        return meta if previous is None else {**meta, "previous": previous}

    def as_object(record: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, Any]:
        assert meta is not None
        record["metadata"] = with_previous(record, meta)
        return record

    def as_columns(record: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, Any]:
        assert meta is not None
        # Nested values become JSON text so every column has one type (CSV, Parquet); most values
        # are None or plain scalars, told apart by their exact class (cheaper than isinstance).
        record.update(
            {
                _COLUMNS[key]: value if value is None or value.__class__ in _SCALARS else _cell(value)
                for key, value in with_previous(record, meta).items()
            }
        )
        return record

    if style == "object":
        return as_object
    if style == "columns":
        return as_columns
    return lambda record, _meta: record


def first_exchange(record: dict[str, Any], schema: str) -> tuple[int, ...]:
    """Indexes of the turns a single-turn schema keeps: the first user and the first assistant turn."""
    turns = [role for role, _ in to_turns(record, schema)]
    return tuple(turns.index(role) for role in ("user", "assistant") if role in turns)


def first_exchange_filter(store: Store, dataset: Dataset, left_out: Counter[str]) -> Callable[[Eligible], bool]:
    """A mix filter keeping only rewrites of a turn in their conversation's first exchange.

    Counts what it leaves out in ``left_out["candidates"]``. Refusals are whole records: kept.
    """
    list_key, _, text_key, _, _ = CHAT_LAYOUT[dataset.schema]
    kept = {
        example.id: first_exchange(example.record, dataset.schema)
        for batch in store.iter_examples(dataset.id, batch_size=BATCH)
        for example in batch
    }

    def keep(item: Eligible) -> bool:
        if item.kind == CandidateKind.REFUSAL or item.example_id is None:
            return True
        # A text part of a turn (``messages.1.content.0.text``) belongs to that turn.
        for i in kept.get(item.example_id, ()):
            turn = f"{list_key}.{i}.{text_key}"
            if item.target_field == turn or (item.target_field or "").startswith(turn + "."):
                return True
        left_out["candidates"] += 1
        return False

    return keep


def _with_id(example: Example, id_key: str | None) -> dict[str, Any]:
    """The example's record with an id: its own, else the key the store knows it by (``#12`` for
    the 12th record of a file without ids), so every exported record carries one and each
    augmented copy (``<id>~<candidate>``) names its original. Not a copy when it has its own."""
    if record_id(example.record) is not None:
        return example.record
    return {id_key or "id": example.key, **example.record}


def _id_key(store: Store, dataset: Dataset) -> str | None:
    """The id key the dataset's records carry (the first record's), None when they carry none."""
    first = next(store.iter_examples(dataset.id, batch_size=1), [])
    return next((key for key in ID_KEYS for e in first if e.record.get(key) not in (None, "")), None)


def _candidate_record(
    candidate: Candidate,
    original: dict[str, Any] | None,
    decision: Decision | None,
    schema: str,
    id_key: str | None = None,
) -> dict[str, Any]:
    """The full record a candidate stands for (a new dict): its (edited) text put into its
    original's record, or its own record.

    A refusal without an id gets ``refusal~<candidate id>`` under ``id_key`` (the dataset's own id
    key, else ``id``), so every exported record has an id and the export imports again keyed by them.
    """
    text = effective_text(candidate, decision)
    where = f"candidate {candidate.id} ({candidate.augmenter})"
    try:
        if candidate.kind == CandidateKind.REFUSAL:
            if candidate.record is None:
                raise AugmentError(f"{where}: a refusal without a record")
            record = dict(candidate.record)
            if candidate.target_field and text != candidate.text:
                record = with_field(record, candidate.target_field, text)
        else:
            if original is None or not candidate.target_field:
                raise AugmentError(f"{where}: a rewrite needs an original example and a target field")
            if "." in candidate.target_field:
                record = with_field(original, candidate.target_field, text)
            else:  # a top-level field: a shallow copy is enough (nothing below it changes) and far cheaper
                record = {**original, candidate.target_field: text}
        validate_record(record, schema)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        problem = exc.problem if isinstance(exc, RecordError) else f"field '{candidate.target_field}' not found"
        field = f" field '{exc.field}':" if isinstance(exc, RecordError) and exc.field else ""
        raise AugmentError(f"{where}:{field} {problem}") from None
    # Copies of an original must not repeat its id, or the export could not be imported again.
    for key in ID_KEYS:
        if record.get(key) not in (None, ""):
            record[key] = f"{record[key]}~{candidate.id[:16]}"
            break
    else:
        if candidate.kind == CandidateKind.REFUSAL:
            record = {id_key or "id": f"refusal~{candidate.id[:16]}", **record}
    return record
