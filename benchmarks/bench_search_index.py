"""The review search on real records: alpaca_5000 repeated to 100,000 records (as bench_import.py),
imported, one candidate per record; the search before the index has caught up, the catch-up
(Store.refresh_search_index: seconds and CPU seconds), the search through the index, and the LIKE
alone in the same run. Median of several runs for the searches; a SQLite file in a temp folder.

    .venv/bin/python benchmarks/bench_search_index.py [--records 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SOURCE = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"

from augment_core.importer import import_file  # noqa: E402
from augment_core.records import Candidate  # noqa: E402
from augment_core.review import ReviewFilter  # noqa: E402
from augment_core.store import Store  # noqa: E402
from augment_core.store.review_queries import review_from, review_where, search_like  # noqa: E402
from augment_core.store.schema import candidates  # noqa: E402
from benchmarks.bench_review_tools import median_ms  # noqa: E402


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall s, CPU s) of ``work``."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - t0, time.process_time() - cpu0


def db_size(store: Store, folder: Path) -> int:
    """The database's bytes on disk, its WAL written back first."""
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(f.stat().st_size for f in folder.glob("bench.db*"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = json.loads(SOURCE.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "alpaca.jsonl"
        source.write_text("".join(json.dumps(base[i % len(base)]) + "\n" for i in range(args.records)))
        store = Store(f"sqlite:///{tmp}/bench.db")
        _, seconds, cpu = timed(lambda: import_file(store, source, name="alpaca"))
        print(f"import of {args.records:,} records: {seconds:.1f} s ({cpu:.1f} CPU s)")
        dataset = store.get_dataset("alpaca")
        assert dataset is not None
        for batch in store.iter_examples(dataset.id, 5000):
            store.add_candidates([Candidate(id=f"c{e.id}", dataset_id=dataset.id, example_id=e.id,
                                            augmenter="paraphrase", target_field="instruction",
                                            text=e.record["instruction"].upper()) for e in batch])  # fmt: skip

        def card(text: str) -> None:
            store.count_review(dataset.id, ReviewFilter(search=text))
            store.review_page(dataset.id, ReviewFilter(search=text), limit=20)

        def card_like(text: str) -> None:
            with store.engine.connect() as conn:
                for columns in ((sa.func.count(),), (candidates.c.id,)):
                    query = sa.select(*columns).select_from(review_from(ReviewFilter(search=text)))
                    query = review_where(query, dataset.id, ReviewFilter()).where(search_like(text))
                    conn.execute(query.limit(20)).all()

        hit, miss = "crowdfund", "xqzzyq"
        hits = store.count_review(dataset.id, ReviewFilter(search=hit))
        figures = {
            f"search hit '{hit}' ({hits} candidates), nothing indexed yet": median_ms(lambda: card(hit), args.runs),
            f"search miss '{miss}', nothing indexed yet": median_ms(lambda: card(miss), args.runs),
        }
        size = db_size(store, Path(tmp))
        done, seconds, cpu = timed(store.refresh_search_index)
        grown = db_size(store, Path(tmp)) - size
        print(f"catch-up: {done.candidates:,} candidates and {done.examples:,} examples indexed in "
              f"{seconds:.1f} s ({cpu:.1f} CPU s); the database {size / 1e6:.0f} MB, "
              f"{grown / 1e6:+.0f} MB with the index")  # fmt: skip
        common = "the the"  # its trigrams in most records, the string in few: the index's worst kind of search
        found = store.count_review(dataset.id, ReviewFilter(search=common))
        figures |= {
            f"search hit '{hit}', indexed": median_ms(lambda: card(hit), args.runs),
            f"search miss '{miss}', indexed": median_ms(lambda: card(miss), args.runs),
            f"search '{common}' ({found} candidates), indexed": median_ms(lambda: card(common), args.runs),
            "  the same hit, LIKE alone": median_ms(lambda: card_like(hit), args.runs),
            "  the same miss, LIKE alone": median_ms(lambda: card_like(miss), args.runs),
            f"  the same '{common}', LIKE alone": median_ms(lambda: card_like(common), args.runs),
        }
        assert store.count_review(dataset.id, ReviewFilter(search=hit)) == hits
        store.close()
    for name, ms in figures.items():
        print(f"{name}: {ms:.0f} ms")


if __name__ == "__main__":
    main()
