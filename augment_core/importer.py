"""Import a dataset file into the store in one transaction: all of it, or nothing.

Records are streamed from the file and inserted in batches inside a single transaction, so a
200 MB file never sits in memory whole and a bad record leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from augment_core.errors import DatasetFormatError, InputError
from augment_core.formats import apply_mapping, decode_nested, detect_schema, file_type_of
from augment_core.record_checks import check_values, text_problem, validate_record
from augment_core.records import SCHEMAS, RecordError, record_id
from augment_core.settings import MAX_FIELD_CHARS_KEY, setting
from augment_core.shards import Row, read_shards, shard_files
from augment_core.store import Store

BATCH_SIZE = 2000
MAX_KEY_CHARS = 200  # the store's key and name columns (PostgreSQL enforces it)


@dataclass
class ImportReport:
    """What an import stored and what it skipped (with where and why)."""

    dataset: str
    schema: str
    imported: int = 0
    skipped: list[str] = field(default_factory=list)


def import_file(
    store: Store,
    path: str | Path,
    name: str | None = None,
    schema: str = "auto",
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    file_type: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    actors: int = 2,
) -> ImportReport:
    """Read ``path`` and store its records as a new dataset; raise DatasetFormatError on bad input.

    ``path`` is a file, or a folder or glob of shards of one file type (``shards``), read in name
    order as one file. With ``skip_invalid`` a record that does not fit (bad fields, duplicate id)
    is reported and left out; a file that cannot be parsed at all still fails as a whole.
    ``engine`` "ray": the files are read on Ray workers; the records are checked and stored here.
    """
    from augment_core.engines import check_engine

    check_engine(engine, None, actors)
    path = Path(path)
    mapping = dict(mapping or {})
    sharded = shard_files(path, file_type)
    files, kind = sharded if sharded is not None else ([path], file_type_of(path, file_type))
    glob_name = path.parent.name if any(ch in str(path) for ch in "*?[") else None
    name = name or glob_name or path.stem
    if schema != "auto" and schema not in SCHEMAS:
        raise InputError(f"unknown format '{schema}'; choose auto or one of {', '.join(SCHEMAS)}")
    if len(name) > MAX_KEY_CHARS:
        raise InputError(f"--name: a dataset name of {len(name):,} characters; at most {MAX_KEY_CHARS}")
    if text_problem(name) is not None:
        raise InputError(f"--name: the dataset name {text_problem(name)}")
    max_chars = int(setting(store, MAX_FIELD_CHARS_KEY))
    # What a killed import of this name left (hidden: never complete) goes before the name is checked.
    store.delete_incomplete_dataset(name)
    if name in store.dataset_names():
        raise InputError(f"a dataset called '{name}' is already stored; pick another name with --name")

    report = ImportReport(dataset=name, schema=schema)
    keys: set[str] = set()
    batch: list[tuple[int, str, dict[str, Any]]] = []
    position = 0
    ordinal = 0
    dataset_id: int | None = None
    rows: Iterator[Row] = iter(())
    # All or nothing without one long write transaction (which would lock a SQLite file for as long
    # as the import takes and make a reviewer's decision fail): the dataset is stored incomplete,
    # its examples a batch per transaction, then marked complete; on any failure it is deleted.
    try:
        on_skip = (lambda error: report.skipped.append(str(error))) if skip_invalid else None
        if engine == "ray":
            from augment_core.engines.ray_input import read_shards_on_ray

            rows = read_shards_on_ray(files, kind, ray_address, actors, on_skip)
        else:
            rows = read_shards(files, kind, on_skip)
        for source, line, raw in rows:
            ordinal += 1
            if dataset_id is None:
                _check_mapping(Path(source), line, raw, mapping)
                record = decode_nested(apply_mapping(raw, mapping))
                if report.schema == "auto":
                    try:
                        report.schema = detect_schema(record)
                    except InputError as exc:
                        # In a CSV the columns are the header's: point there, not at the first row.
                        where = 1 if kind in ("csv", "tsv") else line
                        raise DatasetFormatError(source, str(exc), where) from None
                with store.transaction() as conn:
                    dataset_id = store.create_dataset(
                        conn, name, report.schema, str(path), kind, mapping, complete=False
                    )
            else:
                record = decode_nested(apply_mapping(raw, mapping))
            try:
                validate_record(record, report.schema)
                check_values(record, max_chars)
                # Without an id of its own a record is known by its place among the records read
                # (not its line: a JSON array may hold every record on one line).
                key = record_id(record) or f"#{ordinal}"
                if key in keys:
                    raise RecordError(f"duplicate id '{key}'", "id")
                if len(key) > MAX_KEY_CHARS:
                    raise RecordError(f"an id of {len(key):,} characters; at most {MAX_KEY_CHARS}", "id")
            except RecordError as exc:
                error = DatasetFormatError(source, exc.problem, line, exc.field)
                if not skip_invalid:
                    raise error from None
                report.skipped.append(str(error))
                continue
            keys.add(key)
            position += 1
            batch.append((position, key, record))
            if len(batch) >= BATCH_SIZE:
                with store.transaction() as conn:
                    store.add_examples(conn, dataset_id, batch)
                batch = []
        assert dataset_id is not None  # read_records raises on a file with no records
        if position == 0:
            raise DatasetFormatError(str(path), "no valid records to import")
        with store.transaction() as conn:
            store.add_examples(conn, dataset_id, batch)
        store.complete_dataset(dataset_id)
    except BaseException as exc:
        getattr(rows, "close", lambda: None)()  # a Ray reader: its session ends now, not when collected
        if dataset_id is not None:
            store.delete_dataset(dataset_id)
        if isinstance(exc, sa.exc.IntegrityError):  # e.g. two imports racing for one name
            raise InputError(f"{path}: could not store the dataset: {exc.orig}") from None
        raise
    report.imported = position
    return report


def _check_mapping(path: Path, line: int, record: dict[str, Any], mapping: dict[str, str]) -> None:
    missing = [column for column in mapping.values() if column not in record]
    if missing:
        columns = ", ".join(sorted(record))
        raise DatasetFormatError(str(path), f"mapped column '{missing[0]}' not found; the columns are: {columns}", line)
    # A column already called like a mapped field would be overwritten silently: refuse instead.
    for name, column in mapping.items():
        if name != column and name in record and name not in mapping.values():
            raise DatasetFormatError(
                str(path),
                f"--map {name}={column}: the file already has a column '{name}'; map that one too or drop it",
                line,
            )
