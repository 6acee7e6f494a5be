"""What the readers and writers share: the file types, the record schemas a file's columns fit, the columns mapped.

``file_type_of`` names a file's type; ``detect_schema`` tells Alpaca from ShareGPT, OpenAI messages,
prompt-completion and preference data; ``apply_mapping`` renames a user's columns to a schema's
names (and ``unapply_mapping`` back, for an export); ``decode_nested`` turns chat columns held as
JSON text (CSV) into lists of turns. Reading files is ``readers.py``, writing them ``writers.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from augment_core.errors import InputError
from augment_core.records import CHAT_LAYOUT, REQUIRED_KEYS, SCHEMAS

FILE_TYPES = ("jsonl", "json", "csv", "parquet", "hf")  # hf: a Hugging Face datasets save_to_disk folder
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",  # read only (`augment score-pairs`, import); nothing is written as TSV
    ".parquet": "parquet",
    ".pq": "parquet",
    ".hf": "hf",  # a folder, named so (any existing folder is read as one too)
}
# Fields that hold a list of turns; in CSV they are stored as a JSON string.
NESTED_KEYS = {layout[0] for layout in CHAT_LAYOUT.values()}
# Preference fields that may hold messages or a turn object (JSON text in CSV).
PREFERENCE_KEYS = {"prompt", "chosen", "rejected", "completion"}
# Parquet metadata key listing the columns written as JSON text (values of mixed types), and the
# note naming them in a datasets folder's description (datasets keeps no schema metadata of ours).
JSON_COLUMNS_KEY = b"augment.json_columns"
HF_JSON_NOTE = "Columns held as JSON text (values of mixed types):"
# Every column decode_nested may change.
_DECODED_KEYS = frozenset({*NESTED_KEYS, *PREFERENCE_KEYS, "label"})
# Schemas whose first required column must hold a list of turns for the schema to fit.
_LIST_FIRST = {*CHAT_LAYOUT, "sharegpt-ranking"}


def file_type_of(path: str | Path, explicit: str | None = None) -> str:
    """The file type from an explicit choice or the file's extension."""
    if explicit:
        if explicit not in FILE_TYPES:
            raise InputError(f"unknown file type '{explicit}'; choose one of {', '.join(FILE_TYPES)}")
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS and Path(path).is_dir():
        return "hf"
    if suffix not in _EXTENSIONS:
        raise InputError(
            f"{path}: cannot tell the file type from '{suffix or 'no extension'}'; use .jsonl, .json, .csv, "
            ".parquet or .hf (a datasets folder; or --file-type hf)"
        )
    return _EXTENSIONS[suffix]


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``["instruction=question", ...]`` -> ``{"instruction": "question"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError(f"--map '{pair}': expected FIELD=COLUMN, e.g. instruction=question")
        mapping[field.strip()] = column.strip()
    return mapping


def decode_nested(record: dict[str, Any]) -> dict[str, Any]:
    """Turn a chat column held as JSON text (CSV cells) into its list of turns.

    Lenient on purpose: a cell that is not a JSON list stays text, so a plain-text column that
    happens to be called ``messages`` is left alone, and validation names the field if the
    chosen schema needs a list there.
    """
    if _DECODED_KEYS.isdisjoint(record):  # the common case: no column it could change (Alpaca)
        return record
    for key in NESTED_KEYS & record.keys():
        value = record[key]
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                decoded = json.loads(value)
            except (json.JSONDecodeError, RecursionError, ValueError):  # stays text; validation names it
                continue
            if isinstance(decoded, list):
                record[key] = decoded
    # A preference answer may be text that looks like JSON: only messages or a turn object decode.
    for key in PREFERENCE_KEYS & record.keys():
        value = record[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                continue
            turns = decoded if isinstance(decoded, list) else [decoded]
            if turns and all(isinstance(t, dict) and ("role" in t or "from" in t) for t in turns):
                record[key] = decoded
    label = record.get("label")
    if isinstance(label, str) and label in ("true", "false") and {"prompt", "completion"} <= record.keys():
        record["label"] = record["label"] == "true"  # KTO's label, written by CSV as JSON text
    return record


def apply_mapping(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Rename the user's columns to the schema's names (``{"instruction": "question"}``)."""
    if not mapping:
        return record
    renamed = {column: field for field, column in mapping.items()}
    return {renamed.get(key, key): value for key, value in record.items()}


def unapply_mapping(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Give mapped fields back their original column names, for an export in the input's shape."""
    if not mapping:
        return record
    return {mapping.get(key, key): value for key, value in record.items()}


def detect_schema(record: dict[str, Any]) -> str:
    """The schema a (mapped) record fits; InputError when none or several fit."""
    fits = []
    for schema in SCHEMAS:
        if all(key in record for key in REQUIRED_KEYS[schema]):
            if schema in _LIST_FIRST and not isinstance(record[REQUIRED_KEYS[schema][0]], list):
                continue
            if schema == "kto" and not isinstance(record["label"], bool):
                continue  # a prompt/completion file with a label column of its own
            fits.append(schema)
    # A schema whose keys include another's is the one meant: conversations with a chosen and a
    # rejected turn are ShareGPT ranking, a prompt and completion with a true/false label are KTO.
    fits = [s for s in fits if not any(set(REQUIRED_KEYS[s]) < set(REQUIRED_KEYS[o]) for o in fits)]
    if len(fits) == 1:
        return fits[0]
    columns = ", ".join(sorted(record)) or "none"
    partial = [schema for schema in SCHEMAS if any(key in record for key in REQUIRED_KEYS[schema])]
    if not fits and len(partial) == 1:
        missing = next((key for key in REQUIRED_KEYS[partial[0]] if key not in record), None)
        if missing is None:  # a chat column that does not hold a list of turns
            raise InputError(f"column '{REQUIRED_KEYS[partial[0]][0]}' must be a list of turns")
        raise InputError(
            f"missing required column '{missing}' for the {partial[0]} schema (columns: {columns})"
            + _nesting_hint(record)
        )
    if not fits:
        raise InputError(
            f"cannot detect the schema from the columns ({columns}); expected instruction/output, "
            "prompt/completion, messages or conversations. Map yours with --map instruction=COLUMN "
            "or choose one with --format"
        )
    raise InputError(f"the columns ({columns}) fit several schemas: {', '.join(fits)}; choose one with --format")


def _nesting_hint(record: dict[str, Any]) -> str:
    """A hint for records that nest their fields (Self-Instruct's ``instances``), which no schema reads."""
    nested = [key for key, value in record.items() if isinstance(value, list) and value and isinstance(value[0], dict)]
    if not nested:
        return ""
    return f"; '{nested[0]}' holds a list of objects: flatten it to one record per item first"
