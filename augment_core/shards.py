"""Sharded inputs: a folder or a glob of dataset files of one type, imported as one dataset.

The shards are taken in name order and each is read by ``readers.read_records``, the reader of a
single file, so a record is parsed and an error located (file:line, field) exactly as there. The
Ray engine reads the same shards on its workers (``engines.ray_input``), with the same reader.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from augment_core.errors import DatasetFormatError, InputError
from augment_core.formats import FILE_TYPES, file_type_of
from augment_core.readers import read_records

Row = tuple[str, int, dict[str, Any]]  # (the shard, line or row in it, record)
# A Hugging Face save_to_disk folder holds one of these; it is read whole, not as shards.
HF_MARKERS = ("state.json", "dataset_dict.json")


def shard_files(path: str | Path, file_type: str | None = None) -> tuple[list[Path], str] | None:
    """The shards ``path`` names, in name order, and their one file type: every file matching a
    glob (``data/part-*.jsonl``), or the dataset files in a folder that is not a Hugging Face
    datasets folder. None for a single file or such a folder (read as before)."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise InputError(f"{text}: no file matches")
    elif Path(text).is_dir() and file_type != "hf" and not any((Path(text) / m).exists() for m in HF_MARKERS):
        files = sorted(p for p in Path(text).iterdir() if p.is_file() and _dataset_file(p))
        if not files:
            return None
    else:
        return None
    kinds = {file_type_of(f, file_type) for f in files}
    if len(kinds) > 1:
        raise InputError(f"{text}: shards must be of one file type; found {', '.join(sorted(kinds))}")
    return files, kinds.pop()


def _dataset_file(path: Path) -> bool:
    if path.name.startswith((".", "_")):  # hidden files, Spark's _SUCCESS
        return False
    try:
        return file_type_of(path) in FILE_TYPES
    except InputError:
        return False


def read_shards(
    files: list[Path], kind: str, on_skip: Callable[[DatasetFormatError], None] | None = None
) -> Iterator[Row]:
    """Every record of every shard, in order, named by its shard and line."""
    for shard in files:
        for line, record in read_records(shard, kind, on_skip):
            yield str(shard), line, record
