"""Write datasets: JSONL, JSON, CSV, Parquet and Hugging Face ``save_to_disk`` folders, atomically.

A file is written beside its destination and renamed into place, so a failed write leaves no
half-written file. Chat and preference columns whose values Arrow cannot type (a string in one
turn, a list of parts in the next) go into Parquet as JSON text, named in the file's metadata,
so ``formats`` reads them back as they were.
"""

from __future__ import annotations

import csv
import errno
import itertools
import json
import os
import secrets
import shutil
from collections import Counter
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
from augment_core.jsontext import to_json, to_json_bytes

PARQUET_CHUNK = 20_000


TEMP_SUFFIX = ".tmp"


def temp_prefix(path: Path) -> str:
    """The name start of our temporary files for ``path``: ``.out.jsonl.<pid>-`` (the pid says whose)."""
    return f".{path.name}.{os.getpid()}-"


def clear_stale_temp_files(path: Path) -> int:
    """Remove what killed writes of ``path`` left beside it: our temporary files and folders
    (``.out.jsonl.<pid>-<random>.tmp``, ``... .tmp.old``) whose process is gone. Returns how many.

    Only names of exactly our pattern, and only of a dead process: a write in progress (in this
    process or another) is left alone.
    """
    removed = 0
    start = f".{path.name}."
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not name.startswith(start) or not (name.endswith(TEMP_SUFFIX) or name.endswith(TEMP_SUFFIX + ".old")):
            continue
        pid, dash, _ = name[len(start) :].partition("-")
        if not dash or not pid.isdigit() or _alive(int(pid)):
            continue
        if name.endswith(".old") and not path.exists():  # killed between the two renames: the only copy
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _new_temp(path: Path, folder: bool = False) -> Path:
    """A fresh temporary file (or folder) beside ``path``, created with the mode the umask gives
    (as any tool's output; ``mkstemp`` would always make it 0600)."""
    for _ in range(100):
        tmp = path.parent / f"{temp_prefix(path)}{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            if folder:
                os.mkdir(tmp, 0o777)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"{path.parent}: no free temporary name for {path.name}")


def check_writable(path: Path, folder: bool = False) -> None:
    """Refuse, before anything is written, a destination that cannot be written: its folder cannot
    be made or written (OSError), or it is a folder (for a datasets ``folder``: one not of ours)."""
    if folder and path.exists() and not (path / "dataset_info.json").is_file():
        raise InputError(f"{path}: exists and is not a datasets folder; choose another name")
    if not folder and path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")
    ancestor = next(p for p in path.parents if p.exists())
    if not ancestor.is_dir():
        raise OSError(errno.ENOTDIR, f"{ancestor.name} is a file, not a folder", str(ancestor))
    path.parent.mkdir(parents=True, exist_ok=True)
    _new_temp(path).unlink()


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write to, renamed into place only if the block succeeds.

    An export that fails midway leaves no half-written file and the previous one untouched; one
    that was killed left its temporary file, removed by the next write of the same path.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_temp_files(path)
    tmp = _new_temp(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_records(
    path: str | Path,
    records: Iterable[dict[str, Any]],
    file_type: str | None = None,
    *,
    csv_safe: bool = False,
    notes: Counter[str] | None = None,
) -> int:
    """Write records atomically (a temporary file renamed into place); returns the count.

    CSV: cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``
    or ``@``) are counted in ``notes["formula_cells"]``; ``csv_safe`` prefixes them with ``'``.
    """
    path = Path(path)
    kind = file_type_of(path, file_type)
    if kind == "hf":
        return _write_hf(path, records)
    if kind not in ("jsonl", "json", "csv", "parquet"):
        raise InputError(f"{path}: cannot write {kind} files; use .jsonl, .json, .csv, .parquet or .hf")
    with atomic_path(path) as tmp:
        if kind == "csv":
            return _write_csv(tmp, records, csv_safe, notes if notes is not None else Counter())
        writers = {"jsonl": _write_jsonl, "json": _write_json, "parquet": _write_parquet}
        return writers[kind](tmp, records)


def _write_hf(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """A ``datasets.save_to_disk`` folder, written beside ``path`` and moved into place when complete.

    An existing folder is replaced only if it is one (it has ``dataset_info.json``): a folder of
    anything else is never deleted.
    """
    import datasets
    from datasets.table import InMemoryTable

    if path.exists() and not (path / "dataset_info.json").is_file():
        raise InputError(f"{path}: exists and is not a datasets folder; choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_temp_files(path)
    tmp = _new_temp(path, folder=True)
    old = tmp.with_name(tmp.name + ".old")
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
    return _write_lines(path, records, "", "\n", "\n")


def _write_json(path: Path, records: Iterable[dict[str, Any]]) -> int:
    return _write_lines(path, records, "[\n", ",\n", "\n]\n", empty="[\n]\n")


def _write_lines(
    path: Path, records: Iterable[dict[str, Any]], head: str, between: str, tail: str, empty: str = ""
) -> int:
    """``head``, one JSON text per record with ``between`` them, ``tail`` (``empty`` alone for no records).

    A thousand records go in one write call: two calls per record cost more than encoding them.
    """
    count = 0
    before, separator = head.encode(), between.encode()
    with path.open("wb") as handle:
        iterator = iter(records)
        while chunk := [to_json_bytes(record) for record in itertools.islice(iterator, 1000)]:
            handle.write((separator if count else before) + separator.join(chunk))
            count += len(chunk)
        handle.write((tail if count else empty).encode())
    return count


FORMULA_STARTS = ("=", "+", "-", "@")  # text a spreadsheet runs as a formula (numbers stay numbers)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else to_json(value)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every key of every row, in first-seen order (records may differ in their extra columns)."""
    header: dict[str, None] = {}
    for record in rows:
        header.update(dict.fromkeys(record))
    return list(header)


def _write_csv(path: Path, records: Iterable[dict[str, Any]], csv_safe: bool, notes: Counter[str]) -> int:
    rows = list(records)
    header = _columns(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for record in rows:
            cells = []
            for column in header:
                value = record.get(column)
                if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                    notes["formula_cells"] += 1
                    value = "'" + value if csv_safe else value
                cells.append(_csv_cell(value))
            writer.writerow(cells)
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
    return None if value is None else to_json(value)


def _json_column(table: Any, column: str) -> Any:
    import pyarrow as pa

    if column not in table.column_names:
        return table
    values = [_json_cell(v) for v in table.column(column).to_pylist()]
    return table.set_column(table.column_names.index(column), column, pa.array(values, pa.string()))
