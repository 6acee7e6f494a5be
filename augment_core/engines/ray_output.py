"""``--output DIR``: what a Ray run or scoring pass stored, also written as Parquet shards.

The driver writes them, right after it stores a range (one writer, as for the store), one shard a
range: ``part-00000.parquet``, ``part-00001.parquet``, ... Each row is a candidate as the store
holds it then: ids, text, status, its scores (null before scoring) and provenance. Every shard has
the same Arrow schema (nested values are JSON text), so ``pandas.read_parquet(DIR)`` or
``ray.data.read_parquet(DIR)`` reads the folder as one table; a bulk load (PostgreSQL ``COPY``)
can take the shards as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augment_core.errors import InputError

if TYPE_CHECKING:
    from augment_core.store import Store

# (column, Arrow type name): the one schema of every shard.
COLUMNS = (
    ("candidate_id", "string"), ("dataset_id", "int64"), ("example_id", "int64"), ("augmenter", "string"),
    ("target_field", "string"), ("kind", "string"), ("status", "string"), ("error", "string"), ("text", "string"),
    ("params", "string"), ("provenance", "string"), ("record", "string"), ("created_at", "string"),
    ("semantic_similarity", "float64"), ("is_valid", "bool_"), ("in_optimal_band", "bool_"),
    ("length_ratio", "float64"), ("unique_words", "int64"), ("near_duplicate", "bool_"),
    ("meaning_preserved", "float64"), ("flags", "string"), ("truncated", "bool_"), ("embedding_model", "string"),
)  # fmt: skip
JSON_COLUMNS = ("params", "provenance", "record", "flags")


class ShardWriter:
    """Parquet shards of stored candidates in ``folder``, which must be new or empty (so a folder
    holds one job's results, never a mix of two)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and (not self.folder.is_dir() or any(self.folder.iterdir())):
            raise InputError(f"--output {self.folder}: not an empty folder; give a new one")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.shards = 0
        self.rows = 0

    def write(self, store: Store, ids: Iterable[str]) -> None:
        """One shard of the candidates ``ids`` as stored now (an id not stored, a duplicate, is left out)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from augment_core.writers import atomic_path

        found = store.export_candidates(ids)
        if not found:
            return
        rows = [row_of(c, s) for c, s, _ in found.values()]
        schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in COLUMNS])
        table = pa.Table.from_pylist(rows, schema=schema)
        with atomic_path(self.folder / f"part-{self.shards:05d}.parquet") as tmp:
            pq.write_table(table, tmp)
        self.shards += 1
        self.rows += len(rows)


def row_of(candidate: Any, score: Any) -> dict[str, Any]:
    """One shard row: a candidate and its score (None: not scored), nested values as JSON text."""
    row: dict[str, Any] = {
        "candidate_id": candidate.id, "dataset_id": candidate.dataset_id, "example_id": candidate.example_id,
        "augmenter": candidate.augmenter, "target_field": candidate.target_field, "kind": str(candidate.kind),
        "status": str(candidate.status), "error": candidate.error, "text": candidate.text,
        "params": candidate.params, "provenance": candidate.provenance, "record": candidate.record,
        "created_at": candidate.created_at,
    }  # fmt: skip
    if score is not None:
        row |= {
            "semantic_similarity": score.semantic_similarity, "is_valid": score.is_valid,
            "in_optimal_band": score.in_optimal_band, "length_ratio": score.length_ratio,
            "unique_words": score.unique_words, "near_duplicate": score.near_duplicate,
            "meaning_preserved": score.meaning_preserved, "flags": [vars(f) for f in score.flags],
            "truncated": score.truncated, "embedding_model": score.model,
        }  # fmt: skip
    for name in JSON_COLUMNS:
        if row.get(name) is not None:
            row[name] = json.dumps(row[name], sort_keys=True)
    return row
