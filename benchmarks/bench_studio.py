"""Studio responsiveness with 100,000 candidates in the store (SQLite file, WAL).

Two figures, both server-side (the script run Streamlit does before it sends the page):
  - a review-page rerun after an Approve click (AppTest: the click's callback writes the decision,
    then the whole app script reruns: sidebar counts, filters, the SQL-paged card, bulk counts),
    as the browser does too since the card is no longer a fragment (its counts went stale);
  - an Insights page run (the histogram binned in SQL and drawn first, then one query for every
    scored candidate for the other charts, both cached per store version; a 5,000-point scatter
    sample, acceptance and mix figures; distinct-n diversity, cached per number of approvals).
Median of several runs each. Candidates and scores are synthetic (random similarity), written
straight to the store: this measures the studio's queries and drawing, not generation or scoring.

    .venv/bin/python benchmarks/bench_studio.py [--candidates 100000] [--clicks 15]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from augment_core.records import Candidate, Flag, Score  # noqa: E402
from augment_core.review import ReviewFilter  # noqa: E402
from augment_core.store import Store  # noqa: E402

PER_EXAMPLE = 4
AUGMENTERS = ("templates", "paraphrase", "backtranslation", "outputs")


def fill(store: Store, n_candidates: int) -> int:
    """A dataset of n/4 examples with 4 scored candidates each; returns the dataset id."""
    n_examples = n_candidates // PER_EXAMPLE
    rng = random.Random(0)
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "bench", "alpaca", "bench.jsonl", "jsonl", {})
        rows = [
            (i + 1, f"ex-{i}", {"instruction": f"Explain topic number {i} in two sentences.", "input": "",
                                "output": f"Topic {i} is explained here in two short sentences."})
            for i in range(n_examples)
        ]
        for start in range(0, len(rows), 5000):
            store.add_examples(conn, dataset_id, rows[start : start + 5000])
    ids = [e.id for batch in store.iter_examples(dataset_id, 5000) for e in batch]
    for start in range(0, len(ids), 2500):
        candidates, scores = [], []
        for example_id in ids[start : start + 2500]:
            for k in range(PER_EXAMPLE):
                cid = f"c-{example_id}-{k}"
                sim = min(0.999, max(0.3, rng.gauss(0.86, 0.07)))
                candidates.append(Candidate(id=cid, dataset_id=dataset_id, example_id=example_id,
                                            augmenter=AUGMENTERS[k], target_field="instruction",
                                            text=f"Could you explain topic number {example_id} in two sentences?"))
                scores.append(Score(candidate_id=cid, semantic_similarity=sim, is_valid=0.70 < sim < 0.98,
                                    in_optimal_band=0.75 <= sim <= 0.95, length_ratio=rng.uniform(0.8, 1.6),
                                    unique_words=rng.randint(0, 6),
                                    flags=[Flag("number", "3", "changed to 4")] if rng.random() < 0.05 else []))
        store.add_candidates(candidates)
        store.save_scores(scores)
    return dataset_id


def apptest_class() -> Any:
    """Streamlit's AppTest, with the quirk of tests/test_pages.py: keep st.navigation's "no pages/
    directory" flag (shared by the studio benchmarks)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest, app_test

    class NavigationOnly(PagesManager):
        pass

    app_test.PagesManager = NavigationOnly  # type: ignore[misc]
    PagesManager.uses_pages_directory = False
    return AppTest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--clicks", type=int, default=15)
    parser.add_argument("--insights-runs", type=int, default=5)
    args = parser.parse_args()

    AppTest = apptest_class()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        os.environ["AUGMENT_DB"] = url
        store = Store(url)
        started = time.perf_counter()
        dataset_id = fill(store, args.candidates)
        total = store.count_review(dataset_id, ReviewFilter())
        print(f"store: {total:,} candidates on {total // PER_EXAMPLE:,} examples, filled in "
              f"{time.perf_counter() - started:.1f} s")

        # The card's own queries (what a rerun does after the callback).
        flt = ReviewFilter(status="pending")
        sql = []
        for _ in range(args.clicks):
            t0 = time.perf_counter()
            store.count_review(dataset_id, flt)
            store.review_page(dataset_id, flt, "file order", limit=20, offset=0)
            sql.append(time.perf_counter() - t0)
        print(f"review card queries (count + one page of 20, pending, file order): "
              f"median {statistics.median(sql) * 1000:.0f} ms")

        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        at.session_state["dataset"] = "bench"
        at.run()
        at.switch_page("views/review.py").run()
        assert not at.exception, at.exception
        review = []
        for _ in range(args.clicks):
            at.button(key="rv_approve").click()
            t0 = time.perf_counter()
            at.run()
            review.append(time.perf_counter() - t0)
            assert not at.exception, at.exception
        approved = store.dataset_counts(dataset_id).decisions.approved
        assert approved == args.clicks, approved

        at.switch_page("views/insights.py")
        insights = []
        for _ in range(args.insights_runs):
            t0 = time.perf_counter()
            at.run()
            insights.append(time.perf_counter() - t0)
            assert not at.exception, at.exception
        store.close()

    print(f"review rerun after approve, whole app script (AppTest, {args.clicks} clicks): "
          f"median {statistics.median(review) * 1000:.0f} ms, max {max(review) * 1000:.0f} ms")
    print(f"insights page run ({args.insights_runs} runs): median {statistics.median(insights):.2f} s; "
          f"first run {insights[0]:.2f} s (cold: the bins counted, every scored row read and diversity computed, "
          f"then cached per store version; the median is the warm rerun)")
    print(f"FIGURES: review rerun after approve {statistics.median(review) * 1000:.0f} ms median (target < 300 ms); "
          f"insights {statistics.median(insights):.2f} s median (target < 2 s), {total:,} candidates")


if __name__ == "__main__":
    main()
