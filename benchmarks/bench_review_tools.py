"""The review page's new queries with 100,000 candidates in the store (SQLite file, WAL).

Search (a substring over candidate text, edits and the original record) before the search index
has caught up (every row read with the LIKE), the catch-up itself (Store.refresh_search_index), the
search through the index and, for comparison in the same run, the LIKE alone; the place of a linked
candidate in a sorted list, a bulk preview of every candidate, the bulk action itself and its undo.
Median of several runs; synthetic data from bench_studio.fill.

    .venv/bin/python benchmarks/bench_review_tools.py [--candidates 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_studio import fill  # noqa: E402

from augment_core.records import DecisionStatus  # noqa: E402
from augment_core.review import ReviewFilter, bulk_plan  # noqa: E402
from augment_core.store import Store  # noqa: E402
from augment_core.store.review_queries import review_from, review_where, search_like  # noqa: E402
from augment_core.store.schema import candidates  # noqa: E402


def median_ms(work: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        dataset_id = fill(store, args.candidates)
        total = store.count_review(dataset_id, ReviewFilter())
        print(f"store: {total:,} candidates")

        def card(flt: ReviewFilter, sort: str = "file order") -> None:
            store.count_review(dataset_id, flt)
            store.review_page(dataset_id, flt, sort, limit=20)

        def card_like(text: str) -> None:
            """The search as the LIKE alone: a count and a page of 20."""
            with store.engine.connect() as conn:
                for columns in ((sa.func.count(),), (candidates.c.id,)):
                    query = review_where(sa.select(*columns).select_from(review_from(ReviewFilter(search=text))),
                                         dataset_id, ReviewFilter())  # fmt: skip
                    conn.execute(query.where(search_like(text)).limit(20)).all()

        hit, miss = ReviewFilter(search="topic number 12345"), ReviewFilter(search="zebra")
        pending = ReviewFilter(status=DecisionStatus.PENDING)
        figures = {
            "card, pending (count + page of 20)": median_ms(lambda: card(pending), args.runs),
            "card, search hit 'topic number 12345', nothing indexed yet": median_ms(lambda: card(hit), args.runs),
            "card, search miss 'zebra', nothing indexed yet": median_ms(lambda: card(miss), args.runs),
        }
        t0, cpu0 = time.perf_counter(), time.process_time()
        done = store.refresh_search_index()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        figures[f"catch-up of the index ({done.candidates:,} candidates, {done.examples:,} examples; "
                f"{cpu:.1f} CPU s)"] = seconds * 1000  # fmt: skip
        figures |= {
            "card, search hit 'topic number 12345'": median_ms(lambda: card(hit), args.runs),
            "card, search miss 'zebra'": median_ms(lambda: card(miss), args.runs),
            "  the same hit, LIKE alone (no index)": median_ms(lambda: card_like("topic number 12345"), args.runs),
            "  the same miss, LIKE alone (no index)": median_ms(lambda: card_like("zebra"), args.runs),
            "card, sort by meaning": median_ms(lambda: card(pending, "meaning, low first"), args.runs),
            "place of a linked candidate (similarity sort)": median_ms(
                lambda: store.review_position(dataset_id, pending, "similarity, high first", "c-20000-1"), args.runs),
            "bulk preview of every candidate (count + 50 rows)": median_ms(
                lambda: store.bulk_preview(dataset_id, bulk_plan(store, "reject-filtered", ReviewFilter())),
                args.runs),
        }
        t0 = time.perf_counter()
        change = store.apply_bulk(dataset_id, bulk_plan(store, "reject-filtered", ReviewFilter()))
        figures[f"bulk reject of {change.count:,} (with the undo snapshot)"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        result = store.undo_bulk(change)
        figures[f"undo of it ({result.restored:,} restored)"] = (time.perf_counter() - t0) * 1000
        assert store.dataset_counts(dataset_id).decisions.pending == total
        store.close()
    for name, ms in figures.items():
        print(f"{name}: {ms:.0f} ms")


if __name__ == "__main__":
    main()
