"""Datasets and their examples (the original records, kept whole)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from augment_core.jsontext import to_json
from augment_core.records import Dataset, Example
from augment_core.store import search_index
from augment_core.store.db import Database, chunks, now
from augment_core.store.rows import example_of
from augment_core.store.schema import datasets, examples


class DatasetQueries:
    """Create, find and walk datasets; part of the Store facade."""

    db: Database

    def create_dataset(
        self,
        conn: Connection,
        name: str,
        schema: str,
        source_path: str,
        file_type: str,
        mapping: dict[str, str],
        complete: bool = True,
    ) -> int:
        """Insert a dataset row inside ``conn``'s transaction; returns its id.

        ``complete=False`` keeps it out of sight (``dataset_names``, ``get_dataset``) until
        ``complete_dataset``: an import adds its examples in several transactions.
        """
        result = conn.execute(
            datasets.insert().values(
                name=name,
                schema=schema,
                source_path=source_path,
                file_type=file_type,
                mapping=mapping,
                created_at=now(),
                complete=complete,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def complete_dataset(self, dataset_id: int) -> None:
        with self.db.begin() as conn:
            conn.execute(datasets.update().where(datasets.c.id == dataset_id).values(complete=True))

    def delete_incomplete_dataset(self, name: str) -> bool:
        """Remove what an interrupted import of ``name`` left; True if there was something."""
        with self.db.begin() as conn:
            result = conn.execute(datasets.delete().where(datasets.c.name == name, datasets.c.complete.is_(False)))
            search_index.after_delete(conn)
            return bool(result.rowcount)

    def add_examples(self, conn: Connection, dataset_id: int, rows: Sequence[tuple[int, str, dict[str, Any]]]) -> None:
        """Insert (position, key, record) rows inside ``conn``'s transaction."""
        if rows:
            # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing was a
            # fifth of a 100,000-record import's CPU time. The record goes in as the JSON text the
            # column's own serializer (to_json) would have written.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            insert = f"INSERT INTO examples (dataset_id, position, key, record) VALUES ({mark}, {mark}, {mark}, {mark})"
            conn.exec_driver_sql(insert, [(dataset_id, p, k, to_json(r)) for p, k, r in rows])

    def dataset_names(self) -> list[str]:
        with self.db.connect() as conn:
            query = sa.select(datasets.c.name).where(datasets.c.complete).order_by(datasets.c.id)
            return list(conn.execute(query).scalars())

    def get_dataset(self, name: str | None = None) -> Dataset | None:
        """The dataset called ``name``; without a name, the only one (None when zero or several)."""
        count = sa.select(sa.func.count()).where(examples.c.dataset_id == datasets.c.id).scalar_subquery()
        query = sa.select(datasets, count.label("example_count")).where(datasets.c.complete)
        with self.db.connect() as conn:
            if name is not None:
                rows = conn.execute(query.where(datasets.c.name == name)).mappings().all()
            else:
                rows = conn.execute(query.limit(2)).mappings().all()
                if len(rows) != 1:
                    return None
        if not rows:
            return None
        row = rows[0]
        return Dataset(
            id=row["id"],
            name=row["name"],
            schema=row["schema"],
            source_path=row["source_path"],
            file_type=row["file_type"],
            mapping=dict(row["mapping"]),
            created_at=row["created_at"],
            example_count=int(row["example_count"]),
        )

    def delete_dataset(self, dataset_id: int) -> None:
        with self.db.begin() as conn:
            conn.execute(datasets.delete().where(datasets.c.id == dataset_id))
            search_index.after_delete(conn)  # its examples and candidates went with it (a cascade)

    def iter_examples(self, dataset_id: int, batch_size: int = 1000) -> Iterator[list[Example]]:
        """Examples in file order, a batch at a time, never the whole dataset in memory."""
        last = -1
        while True:
            with self.db.connect() as conn:
                rows = (
                    conn.execute(
                        sa.select(examples)
                        .where(examples.c.dataset_id == dataset_id, examples.c.position > last)
                        .order_by(examples.c.position)
                        .limit(batch_size)
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                return
            yield [example_of(row) for row in rows]
            last = rows[-1]["position"]

    def example_ranges(self, dataset_id: int, size: int, by: str = "position") -> Iterator[tuple[int, int]]:
        """(first, last) ``position`` (or ``id``) of each run of ``size`` examples, in order: how an engine
        shares a dataset out without reading its records."""
        column = examples.c.position if by == "position" else examples.c.id
        query = sa.select(column).where(examples.c.dataset_id == dataset_id).order_by(column)
        run: list[int] = []
        with self.db.connect() as conn:
            for value in conn.execution_options(yield_per=10_000).execute(query).scalars():
                run.append(value)
                if len(run) == size:
                    yield run[0], run[-1]
                    run = []
        if run:
            yield run[0], run[-1]

    def examples_between(self, dataset_id: int, first: int, last: int) -> list[Example]:
        """The examples at positions ``first`` to ``last`` (both included), in file order."""
        with self.db.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(examples)
                    .where(examples.c.dataset_id == dataset_id, examples.c.position.between(first, last))
                    .order_by(examples.c.position)
                )
                .mappings()
                .all()
            )
        return [example_of(row) for row in rows]

    def get_examples(self, example_ids: Iterable[int]) -> dict[int, Example]:
        ids = list(example_ids)
        found: dict[int, Example] = {}
        with self.db.connect() as conn:
            for chunk in chunks(ids):
                rows = conn.execute(sa.select(examples).where(examples.c.id.in_(chunk))).mappings().all()
                found.update({row["id"]: example_of(row) for row in rows})
        return found
