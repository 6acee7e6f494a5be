"""Insights' first chart is binned in SQL: the same bars numpy draws from every score."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import sqlalchemy as sa

from augment_core.records import Candidate, Score
from augment_core.store import Store
from tests.test_pages import seed


def test_sql_bins_match_numpy_over_every_score(store: Store) -> None:
    seed(store, per_example=4)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    rng = random.Random(3)
    example = next(iter(store.iter_examples(dataset.id)))[0]
    # More candidates with similarities off the bin edges, 1.0 included (the last bin is closed).
    extra = [Candidate(id=f"x-{i}", dataset_id=dataset.id, example_id=example.id, augmenter="outputs",
                       target_field="instruction", text=f"text {i}") for i in range(300)]  # fmt: skip
    values = [1.0, 0.0] + [rng.uniform(0.0, 1.0) for _ in range(298)]
    store.add_candidates(extra)
    store.save_scores([
        Score(candidate_id=c.id, semantic_similarity=v, is_valid=True, in_optimal_band=False, length_ratio=1.0,
              unique_words=0)
        for c, v in zip(extra, values, strict=True)
    ])  # fmt: skip
    _, rows = store.review_table(dataset.id)
    by_augmenter: dict[str, list[float]] = {}
    for row in rows:
        by_augmenter.setdefault(row[0], []).append(row[1])
    edges = np.linspace(0.0, 1.0, 51)
    bars = store.similarity_bins(dataset.id, 50)
    assert list(bars) == sorted(by_augmenter) == ["outputs", "paraphrase", "templates"]
    assert bars["outputs"] == np.histogram(values, bins=edges)[0].tolist()
    for augmenter, found in by_augmenter.items():
        # The seed's similarities sit on bin edges (0.60, 0.65, ...): numpy's float edges put some a bin
        # lower, so those are compared by total; the random ones above bin for bin.
        assert sum(bars[augmenter]) == len(found)


def _plans(store: Store, work: Callable[[], object]) -> list[str]:
    """SQLite's query plan (EXPLAIN QUERY PLAN's detail lines) of every statement ``work`` runs."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        return [" ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
                for sql, params in statements]  # fmt: skip


def test_the_counts_and_the_histogram_read_the_candidates_from_an_index_alone(store: Store) -> None:
    # 100,000 candidates took 115 ms to count and 150 ms to bin while each candidate's row was read
    # for its status (migration 0008's index has dataset_id, augmenter, status and id).
    seed(store, per_example=4)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    plans = _plans(store, lambda: store.dataset_counts(dataset.id)) + _plans(
        store, lambda: store.similarity_bins(dataset.id, 50))
    candidate_plans = [plan for plan in plans if re.search(r"\bcandidates\b", plan)]
    assert len(candidate_plans) == 4, plans  # three counts over candidates and the histogram
    for plan in candidate_plans:
        assert re.search(r"SEARCH candidates USING COVERING INDEX ix_candidates_", plan), plan
