"""``augment import PATH --engine ray``: the shards of PATH read on Ray workers, the records
streamed back to the driver in order, where the importer checks and stores them.

Each shard is one task running ``readers.read_records`` (the reader of a local import, so the
records and the error locations are the same); its records come back a few thousand at a time,
in shard order (``preserve_order``), so positions and ids match a local import of the same
shards. A problem with one record is sent back in its place and handled by the driver as the
local import handles it (skipped with ``--skip-invalid``, else the import fails); a problem with
a whole shard stops the import at that shard. ``ray.data.read_json``/``read_parquet`` are not
used: they parse with Arrow's readers, a second parser with other rules (docs/ray.md).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from augment_core.engines.ray_cluster import ray_session
from augment_core.engines.ray_engine import _column, _results
from augment_core.errors import DatasetFormatError, InputError
from augment_core.shards import Row

ROWS_PER_BLOB = 2000
READER_CPUS = 1.0


def read_shards_on_ray(
    files: list[Path],
    kind: str,
    address: str | None,
    actors: int,
    on_skip: Callable[[DatasetFormatError], None] | None = None,
) -> Iterator[Row]:
    """The records of ``files`` as ``shards.read_shards`` yields them, read on ``actors`` Ray workers."""
    with ray_session(address) as ray:
        options = ray.data.DataContext.get_current().execution_options
        kept, options.preserve_order = options.preserve_order, True
        try:
            items = [{"path": str(f.resolve())} for f in files]
            stream = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
                read_shard, batch_size=1, fn_kwargs={"kind": kind}, concurrency=min(actors, len(items)),
                num_cpus=READER_CPUS,
            )  # fmt: skip
            for blob in _results(stream, "rows"):
                path, rows = pickle.loads(blob)
                for line, record in rows:
                    if isinstance(record, tuple):  # a problem, sent as data (an exception may not unpickle)
                        if len(record) == 1:
                            raise InputError(record[0])
                        error = DatasetFormatError(*record[:4])
                        if on_skip is None or record[4]:  # [4]: the whole shard is unreadable
                            raise error
                        on_skip(error)
                        continue
                    yield path, line, record
        finally:
            options.preserve_order = kept


def read_shard(batch: dict[str, Any], kind: str) -> Iterator[dict[str, Any]]:
    """One shard's records, ``ROWS_PER_BLOB`` at a time; record problems in their place."""
    from augment_core.readers import read_records

    for path in batch["path"]:
        rows: list[tuple[int, Any]] = []
        skipped: list[DatasetFormatError] = []
        try:
            for line, record in read_records(path, kind, skipped.append):
                rows += [(e.line or 0, _problem(e)) for e in skipped] + [(line, record)]
                skipped.clear()
                if len(rows) >= ROWS_PER_BLOB:
                    yield {"rows": _column([pickle.dumps((str(path), rows))])}
                    rows = []
            rows += [(e.line or 0, _problem(e)) for e in skipped]
        except DatasetFormatError as exc:
            rows += [(exc.line or 0, _problem(exc, fatal=True))]
        except InputError as exc:
            rows += [(0, (str(exc),))]
        yield {"rows": _column([pickle.dumps((str(path), rows))])}


def _problem(error: DatasetFormatError, fatal: bool = False) -> tuple[Any, ...]:
    return (error.path, error.problem, error.line, error.field, fatal)
