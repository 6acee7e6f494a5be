"""Write datasets: JSONL, JSON, CSV, Parquet and Hugging Face ``save_to_disk`` folders, atomically.

A file is written beside its destination and renamed into place, so a failed write leaves no
half-written file. Chat and preference columns whose values Arrow cannot type (a string in one
turn, a list of parts in the next) go into Parquet as JSON text, named in the file's metadata,
so ``formats`` reads them back as they were.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from augment_core.errors import InputError
from augment_core.formats import (
    HF_JSON_NOTE,
    JSON_COLUMNS_KEY,
    NESTED_KEYS,
    PREFERENCE_KEYS,
    file_type_of,
)

PARQUET_CHUNK = 20_000


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write to, renamed into place only if the block succeeds.

    An export that fails midway leaves no half-written file and the previous one untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_records(path: str | Path, records: Iterable[dict[str, Any]], file_type: str | None = None) -> int:
    """Write records atomically (a temporary file renamed into place); returns the count."""
    path = Path(path)
    kind = file_type_of(path, file_type)
    if kind == "hf":
        return _write_hf(path, records)
    writers = {"jsonl": _write_jsonl, "json": _write_json, "csv": _write_csv, "parquet": _write_parquet}
    if kind not in writers:
        raise InputError(f"{path}: cannot write {kind} files; use .jsonl, .json, .csv, .parquet or .hf")
    with atomic_path(path) as tmp:
        return writers[kind](tmp, records)




def _write_hf(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """A ``datasets.save_to_disk`` folder, written beside ``path`` and moved into place when complete.

    An existing folder is replaced only if it is one (it has ``dataset_info.json``): a folder of
    anything else is never deleted.
    """
    import shutil

    import datasets
    from datasets.table import InMemoryTable

    if path.exists() and not (path / "dataset_info.json").is_file():
        raise InputError(f"{path}: exists and is not a datasets folder; choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = tmp.with_suffix(".old")
    try:
        table = records_table(records)
        as_json = json.loads((table.schema.metadata or {}).get(JSON_COLUMNS_KEY, b"[]"))
        info = datasets.DatasetInfo(description=f"{HF_JSON_NOTE} {', '.join(as_json)}" if as_json else "")
        quiet = not datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()  # a bar per save on the CLI's stderr says nothing the report does not
        try:
            datasets.Dataset(InMemoryTable(table), info=info).save_to_disk(str(tmp / "data"))
        finally:
            if not quiet:
                datasets.enable_progress_bars()
        if path.exists():
            path.rename(old)
        (tmp / "data").rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return int(table.num_rows)


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


def _write_json(path: Path, records: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for record in records:
            handle.write(",\n" if count else "\n")
            handle.write(json.dumps(record, ensure_ascii=False))
            count += 1
        handle.write("\n]\n")
    return count


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every key of every row, in first-seen order (records may differ in their extra columns)."""
    header: dict[str, None] = {}
    for record in rows:
        header.update(dict.fromkeys(record))
    return list(header)


def _write_csv(path: Path, records: Iterable[dict[str, Any]]) -> int:
    rows = list(records)
    header = _columns(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for record in rows:
            writer.writerow([_csv_cell(record.get(column)) for column in header])
    return len(rows)


def _write_parquet(path: Path, records: Iterable[dict[str, Any]]) -> int:
    import pyarrow.parquet as pq

    table = records_table(records)
    pq.write_table(table, path)
    return int(table.num_rows)


# Columns of the records' own shape that may fall back to JSON text; any other column that
# Arrow cannot type is the caller's error to report (export names it).
_JSON_FALLBACK = NESTED_KEYS | PREFERENCE_KEYS | {"tools"}
# Parquet metadata key listing the columns written as JSON text (see records_table).


def records_table(records: Iterable[dict[str, Any]]) -> Any:
    """Records as one Arrow table (Parquet, a Hugging Face datasets folder).

    A record column whose values Arrow cannot hold in one type (message content that is a string
    in one turn and a list of parts in the next) is written as JSON text and named in the table's
    metadata under ``JSON_COLUMNS_KEY``, so reading it back gives the records exactly.
    """

    import pyarrow as pa

    # Convert a chunk at a time: Arrow holds the data compactly, so the Python dicts of only one
    # chunk are alive at once. Chunks may differ in columns or null-only types; the concat unifies them.
    tables: list[pa.Table] = []
    as_json: set[str] = set()
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, PARQUET_CHUNK)):
        columns = _columns(chunk)
        try:
            if as_json & set(columns):
                raise pa.ArrowInvalid("columns already held as JSON")
            # from_pylist takes the column names from the first row: give it every column of the chunk.
            first = {column: chunk[0].get(column) for column in columns}
            tables.append(pa.Table.from_pylist([first, *chunk[1:]]))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays = {}
            for column in columns:
                values = [record.get(column) for record in chunk]
                if column not in as_json:
                    try:
                        arrays[column] = pa.array(values)
                        continue
                    except (pa.ArrowInvalid, pa.ArrowTypeError):
                        if column not in _JSON_FALLBACK:
                            raise
                        as_json.add(column)
                        tables = [_json_column(t, column) for t in tables]
                arrays[column] = pa.array([_json_cell(v) for v in values], pa.string())
            tables.append(pa.table(arrays))
    if not tables:
        return pa.table({})
    table = pa.concat_tables(tables, promote_options="permissive")
    if as_json:
        table = table.replace_schema_metadata({JSON_COLUMNS_KEY: json.dumps(sorted(as_json)).encode()})
    return table


def _json_cell(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _json_column(table: Any, column: str) -> Any:
    import pyarrow as pa

    if column not in table.column_names:
        return table
    values = [_json_cell(v) for v in table.column(column).to_pylist()]
    return table.set_column(table.column_names.index(column), column, pa.array(values, pa.string()))
