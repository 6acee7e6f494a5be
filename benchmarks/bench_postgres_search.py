"""The review search on PostgreSQL with and without its pg_trgm indexes (migration 0009): what the
indexes cost an import and what they give a search.

A PostgreSQL server of its own (as bench_team_postgres.py). Two databases: one as the store makes
it (the GIN indexes on candidates.text and examples.record::text), one with both indexes dropped
before anything is stored. Into each: RECORDS Alpaca records (alpaca_5000.json; past 5,000 with a
set marker, so every text is new) through ``import_file``, then ``augment run --augmenters
templates`` (3 candidates a record); the wall time of each. Then the review search (count + a page
of 20, after an ANALYZE), median of 5, for a string that is in the data and one that is not.
Run: .venv/bin/python benchmarks/bench_postgres_search.py [--records 20000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from augment_core import runs  # noqa: E402
from augment_core.importer import import_file  # noqa: E402
from augment_core.review import ReviewFilter  # noqa: E402
from augment_core.runs import RunSpec  # noqa: E402
from augment_core.store import Store, search_index  # noqa: E402
from benchmarks.bench_ray_score import ALPACA, distinct_records  # noqa: E402
from benchmarks.bench_review_tools import median_ms  # noqa: E402
from benchmarks.bench_team_postgres import start_server  # noqa: E402

SEARCHES = {"hit": "photosynthesis", "miss": "zqxj no such text"}


def one_database(admin_url: str, name: str, indexed: bool, source: Path) -> str:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    store = Store(url)
    if not indexed:
        with store.engine.begin() as conn:
            search_index.drop_trigram_indexes(conn)
    t0 = time.perf_counter()
    import_file(store, str(source), name="alpaca")
    imported = time.perf_counter() - t0
    t0 = time.perf_counter()
    runs.run(store, RunSpec(dataset="alpaca", augmenters={"templates": {}}, llm=False))
    generated = time.perf_counter() - t0
    dataset = runs.find_dataset(store, "alpaca")
    with store.engine.begin() as conn:  # committed: ANALYZE's statistics are transactional
        conn.exec_driver_sql("ANALYZE")  # as autovacuum would within a minute: the planner's row counts
    searched = {}
    for label, text in SEARCHES.items():
        flt = ReviewFilter(search=text)

        def search(flt: ReviewFilter = flt) -> None:
            store.count_review(dataset.id, flt)
            store.review_page(dataset.id, flt, "file order", 20, 0)

        search()
        searched[label] = (median_ms(search, 5), store.count_review(dataset.id, flt))
    store.close()
    found = ", ".join(f"search {label} {ms:.0f} ms ({n:,} found)" for label, (ms, n) in searched.items())
    which = "with" if indexed else "without"
    return f"{which} the indexes: import {imported:.1f} s, templates run {generated:.1f} s; {found}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="augment-pg-bench-") as tmp:
        source = Path(tmp) / "alpaca.jsonl"
        rows = distinct_records(json.loads(ALPACA.read_text()), args.records)
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        data = Path(tempfile.mkdtemp(prefix="augment-pg-"))
        url, stop = start_server(data)
        try:
            print(f"{args.records:,} records, 3 template candidates each, PostgreSQL on 127.0.0.1")
            for name, indexed in (("with_index", True), ("without_index", False)):
                print(one_database(url, name, indexed, source), flush=True)
        finally:
            subprocess.run(stop, capture_output=True)


if __name__ == "__main__":
    main()
