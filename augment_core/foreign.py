"""Candidates made elsewhere (another generator's output), attached to the originals they rewrite.

Each row of the file names its original by ``source_id`` (the example's id or key) or by
``original`` (the text of one of its fields), and carries the candidate's ``text``; optional are
``augmenter`` (default ``imported``), ``target_field`` (a path such as ``instruction`` or
``messages.1.content``; default: the field whose text is ``original``, else the first prompt
field) and ``metadata`` (an object, kept as the candidate's params). From then on they are
scored, reviewed, mixed and exported like the studio's own.

Ids are deterministic (example, augmenter, field, text), so importing a file twice adds nothing.
Rows that match no original are reported one line each (file:line: field: problem) and skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augment_core.augmenters.base import candidate_id
from augment_core.errors import DatasetFormatError
from augment_core.readers import read_records
from augment_core.records import Candidate, Dataset, Example, get_field, instruction_fields, output_fields
from augment_core.store import Store, now

DEFAULT_AUGMENTER = "imported"
_BATCH = 1000


@dataclass
class CandidateImport:
    """What an import of foreign candidates did."""

    dataset: str
    rows: int = 0
    matched: int = 0  # rows attached to an original
    attached: int = 0  # new candidates stored (the others were stored by an earlier import)
    problems: list[DatasetFormatError] = field(default_factory=list)

    def lines(self) -> list[str]:
        already = self.matched - self.attached
        return [
            f"attached {self.attached} candidates to dataset '{self.dataset}' ({self.rows} rows, "
            f"{self.matched} matched, {already} already stored, {len(self.problems)} not attached)"
        ]


class _Originals:
    """The dataset's examples, found by id/key and by the text of any of their fields."""

    def __init__(self, store: Store, dataset: Dataset) -> None:
        self.by_key: dict[str, Example] = {}
        self.by_text: dict[str, tuple[Example, str]] = {}
        for batch in store.iter_examples(dataset.id, batch_size=_BATCH):
            for example in batch:
                self.by_key[example.key] = example
                paths = instruction_fields(example.record, dataset.schema, include_input=True)
                for path in [*paths, *output_fields(example.record, dataset.schema)]:
                    # The first example with a text wins: duplicates rewrite alike.
                    self.by_text.setdefault(get_field(example.record, path).strip(), (example, path))


def _has_field(record: dict[str, Any], path: str) -> bool:
    node: Any = record
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return isinstance(node, str)


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _candidates(
    path: Path, rows: Iterator[tuple[int, dict[str, Any]]], dataset: Dataset, originals: _Originals,
    report: CandidateImport,
) -> Iterator[Candidate]:  # fmt: skip
    where = str(path)
    for line, row in rows:
        report.rows += 1

        def problem(name: str, text: str, line: int = line) -> None:
            report.problems.append(DatasetFormatError(where, text, line, name))

        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            problem("text", "missing or empty: the candidate's text")
            continue
        source, original = _text(row, "source_id"), _text(row, "original")
        target = _text(row, "target_field")
        example: Example | None = None
        if source is not None:
            example = originals.by_key.get(source)
            if example is None:
                problem("source_id", f"no example '{source}' in dataset '{dataset.name}'")
                continue
        elif original is not None:
            found = originals.by_text.get(original.strip())
            if found is None:
                problem("original", f"no field of any example in dataset '{dataset.name}' has this text")
                continue
            example, target = found[0], target or found[1]
        else:
            problem("source_id", "missing: give source_id or original")
            continue
        target = target or instruction_fields(example.record, dataset.schema)[0]
        if not _has_field(example.record, target):
            problem("target_field", f"'{target}' is no field of example '{example.key}'")
            continue
        metadata = row.get("metadata") or {}
        if not isinstance(metadata, dict):
            problem("metadata", f"expected an object, got {type(metadata).__name__}")
            continue
        augmenter = _text(row, "augmenter") or DEFAULT_AUGMENTER
        slot = "import:" + hashlib.sha256(text.encode()).hexdigest()[:16]
        yield Candidate(
            id=candidate_id(dataset.id, example.id, augmenter, {"imported": True}, target, slot),
            dataset_id=dataset.id,
            example_id=example.id,
            augmenter=augmenter,
            target_field=target,
            text=text,
            params=metadata,
            provenance={"augmenter": augmenter, "imported_from": path.name, "line": line, "created_at": now()},
        )


def import_candidates(
    store: Store, dataset: Dataset, path: str | Path, file_type: str | None = None
) -> CandidateImport:
    """Attach the file's candidates to their originals in ``dataset``; rows that match none are in ``problems``.

    A file that cannot be read at all raises DatasetFormatError, as a dataset import does.
    """
    path = Path(path)
    report = CandidateImport(dataset=dataset.name)
    originals = _Originals(store, dataset)
    # The whole file is read before anything is stored: a file that breaks midway adds nothing.
    found: dict[str, Candidate] = {}  # by id: the same row twice in a file is one candidate
    for candidate in _candidates(path, read_records(path, file_type), dataset, originals, report):
        report.matched += 1
        found[candidate.id] = candidate
    items = list(found.values())
    for start in range(0, len(items), _BATCH):
        report.attached += store.add_candidates(items[start : start + _BATCH])
    return report
