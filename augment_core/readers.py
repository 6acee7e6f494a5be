"""Read datasets: JSONL, JSON, CSV (and TSV), Parquet and Hugging Face datasets folders.

Reading streams where the file type allows (JSONL, CSV, Parquet), yielding ``(line, record)``
so every error can name where it happened. A record comes back exactly as written, so a
read-then-write round trip of an unchanged dataset gives the same records (``writers.py``).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from augment_core.errors import DatasetFormatError, InputError
from augment_core.formats import HF_JSON_NOTE, JSON_COLUMNS_KEY, decode_nested, file_type_of

csv.field_size_limit(sys.maxsize)


Located = tuple[int, dict[str, Any]]  # (line or row number, record)


def read_records(
    path: str | Path, file_type: str | None = None, on_skip: Callable[[DatasetFormatError], None] | None = None
) -> Iterator[Located]:
    """Yield ``(line, record)`` for every record in the file; raise DatasetFormatError on bad input.

    With ``on_skip``, a problem confined to one record (a malformed JSONL line, a CSV row with the
    wrong number of cells, an array element that is not an object) is passed to it and the record
    left out; a problem with the file as a whole still raises.
    """
    path = Path(path)
    kind = file_type_of(path, file_type)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if kind != "hf" and path.stat().st_size == 0:
        raise DatasetFormatError(str(path), "the file is empty (no records)")
    readers = {"jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv, "tsv": _read_tsv, "parquet": _read_parquet,
               "hf": _read_hf}  # fmt: skip
    count = 0
    for line, item in readers[kind](path):
        if isinstance(item, DatasetFormatError):
            if on_skip is None:
                raise item
            on_skip(item)
            continue
        count += 1
        yield line, item
    if count == 0:
        raise DatasetFormatError(str(path), "the file holds no records")


def count_records(path: str | Path, file_type: str | None = None) -> int | None:
    """How many records the file holds, when its type tells it cheaply (JSONL: its non-blank lines,
    those an import would skip included; Parquet: its metadata); None for other types or a file
    whose metadata cannot be read (read it through instead)."""
    path = Path(path)
    kind = file_type_of(path, file_type)
    if kind == "jsonl":
        with path.open("rb") as handle:
            return sum(1 for raw in handle if raw.strip())
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # whatever Arrow raises: read_records names the problem
            return None
    return None


# Readers yield a DatasetFormatError in place of a record whose problem is its own (see on_skip).
_Item = tuple[int, dict[str, Any] | DatasetFormatError]


def _read_jsonl(path: Path) -> Iterator[_Item]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield (
                    number,
                    DatasetFormatError(str(path), f"not valid UTF-8 (byte {exc.start + 1} of the line)", number),
                )
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (RecursionError, ValueError):  # malformed; nested too deep; a number too long to read
                yield number, _line_fault(path, line, number)
                continue
            if not isinstance(record, dict):
                yield number, DatasetFormatError(str(path), f"expected a JSON object, got {_json_type(record)}", number)
                continue
            yield number, record


def _line_fault(path: Path, line: str, number: int) -> DatasetFormatError:
    """What is wrong with a JSONL line that did not parse, read again without its line break: a
    fault at the line's end is then at its last column, not at column 1 of a next line."""
    try:
        json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        return _malformed(path, exc, number)
    except (RecursionError, ValueError) as exc:
        return _unreadable(path, exc, number)
    raise AssertionError("a line that parses without its line break parses with it")  # pragma: no cover


def _malformed(path: Path, exc: json.JSONDecodeError, line: int | None = None) -> DatasetFormatError:
    return DatasetFormatError(str(path), f"malformed JSON at column {exc.colno}: {exc.msg}", line or exc.lineno)


def _unreadable(path: Path, exc: RecursionError | ValueError, line: int | None) -> DatasetFormatError:
    """JSON that parses in principle but not here: nested deeper than Python's stack, or an integer
    with more digits than Python converts (4,300)."""
    if isinstance(exc, RecursionError):
        return DatasetFormatError(str(path), "JSON nested too deeply to read (hundreds of levels)", line)
    return DatasetFormatError(str(path), f"a number too long to read ({exc})".split(";")[0] + ")", line)


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "a number")


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _read_json(path: Path) -> Iterator[_Item]:
    """A JSON array read element by element, so each record is named by the line it starts on."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DatasetFormatError(str(path), "not valid UTF-8", line) from None
    pos = _WHITESPACE.match(text).end()  # type: ignore[union-attr]
    if text.startswith("{", pos):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _malformed(path, exc) from None
        except (RecursionError, ValueError) as exc:
            raise _unreadable(path, exc, None) from None
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise DatasetFormatError(str(path), 'expected a JSON array of records or {"data": [...]}')
        # {"data": [...]}: records are numbered by position, as the wrapper hides their lines.
        for index, record in enumerate(data["data"], start=1):
            problem = None if isinstance(record, dict) else f"record {index}: expected a JSON object"
            yield index, record if problem is None else DatasetFormatError(str(path), problem)
        return
    if not text.startswith("[", pos):
        raise DatasetFormatError(str(path), 'expected a JSON array of records or {"data": [...]}')
    decoder = json.JSONDecoder()
    pos, line, counted = pos + 1, 1, 0
    while True:
        pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("]", pos):
            break
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            record, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _malformed(path, exc) from None
        except (RecursionError, ValueError) as exc:
            raise _unreadable(path, exc, line) from None
        if isinstance(record, dict):
            yield line, record
        else:
            yield line, DatasetFormatError(str(path), f"expected a JSON object, got {_json_type(record)}", line)
        pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            lineno = text.count("\n", 0, pos) + 1
            raise DatasetFormatError(str(path), "malformed JSON: expected ',' or ']' after a record", lineno)
    if text[pos + 1 :].strip():
        raise DatasetFormatError(str(path), "malformed JSON: extra data after the array", text.count("\n", 0, pos) + 1)


def _read_tsv(path: Path) -> Iterator[_Item]:
    return _read_csv(path, "\t")


def _read_csv(path: Path, delimiter: str = ",") -> Iterator[_Item]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        kind = "CSV" if delimiter == "," else "TSV"
        line = 1
        try:
            header = next(reader, None)
            if not header:
                raise DatasetFormatError(str(path), "no header row")
            seen: set[str] = set()
            for column in header:
                if column in seen:
                    raise DatasetFormatError(str(path), f"column '{column}' appears twice in the header", 1)
                seen.add(column)
            line = reader.line_num + 1
            for row in reader:
                start, line = line, reader.line_num + 1
                if not row:
                    continue
                if len(row) != len(header):
                    problem = f"expected {len(header)} columns, found {len(row)}"
                    yield start, DatasetFormatError(str(path), problem, start)
                    continue
                record: dict[str, Any] = dict(zip(header, row, strict=True))
                yield start, decode_nested(record)
        except UnicodeDecodeError:
            raise DatasetFormatError(str(path), "not valid UTF-8", line) from None
        except csv.Error as exc:
            raise DatasetFormatError(str(path), f"malformed {kind}: {exc}", line) from None


def _read_parquet(path: Path) -> Iterator[Located]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DatasetFormatError(str(path), f"not a readable Parquet file: {exc}") from None
    # Columns JSON cannot hold as they are: times and decimals become text (ISO 8601, exact digits),
    # as Hugging Face's own Parquet files carry them; bytes have no text form and are refused.
    as_text: list[str] = []
    for column in parquet.schema_arrow:
        kind = column.type
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
            raise DatasetFormatError(
                str(path), f"column '{column.name}' holds binary data, which a text dataset cannot; drop or convert it"
            )
        if pa.types.is_temporal(kind) or pa.types.is_decimal(kind):
            as_text.append(column.name)

    def batches() -> Iterator[Any]:
        for batch in parquet.iter_batches(batch_size=2000):
            for name in as_text:
                index = batch.schema.get_field_index(name)
                batch = batch.set_column(index, name, batch.column(index).cast(pa.string()))
            yield batch

    return _read_batches(path, parquet.schema_arrow.metadata, batches())


def _read_hf(path: Path) -> Iterator[Located]:
    """A ``save_to_disk`` folder, read with the library that wrote it (one split)."""
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError as exc:
        raise DatasetFormatError(str(path), f"not a Hugging Face datasets folder: {exc}") from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = ", ".join(loaded)
        problem = f"holds several splits ({splits}): give the folder of one, e.g. {path}/train"
        raise DatasetFormatError(str(path), problem)
    table = loaded.data.table
    # datasets keeps its own schema metadata only: the JSON columns are named in the description.
    described = (loaded.info.description or "").partition(HF_JSON_NOTE)[2].strip()
    metadata = {JSON_COLUMNS_KEY: json.dumps(described.split(", ") if described else []).encode()}
    return _read_batches(path, metadata, table.to_batches(max_chunksize=2000))


def _read_batches(path: Path, metadata: dict[bytes, bytes] | None, batches: Iterable[Any]) -> Iterator[Located]:
    import pyarrow as pa

    as_json = json.loads((metadata or {}).get(JSON_COLUMNS_KEY, b"[]"))
    row = 0
    try:
        for batch in batches:
            for record in batch.to_pylist():
                row += 1
                for column in as_json:
                    if isinstance(record.get(column), str):
                        record[column] = json.loads(record[column])
                # A null cell is an absent field: Parquet has one schema for all rows. The same holds
                # inside nested values (turns with and without tool_calls, image and text parts),
                # which Arrow stores as structs having every key any of them has.
                yield (
                    row,
                    {
                        k: _drop_nulls(v) if isinstance(v, list | dict) and k not in as_json else v
                        for k, v in record.items()
                        if v is not None
                    },
                )
    except (OSError, pa.ArrowException) as exc:  # a damaged page found while reading
        raise DatasetFormatError(str(path), f"not a readable Parquet file after row {row}: {exc}") from None


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value
