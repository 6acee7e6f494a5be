"""The review page with a team's responses in the store: 10 reviewers on 100,000 candidates (SQLite, WAL).

The store of ``bench_studio.py`` (100,000 scored candidates), then ``--reviewers`` reviewers'
responses: each candidate of the first ``--answered`` share of the file answered by
``--per-candidate`` of them (chosen at random), the decisions derived as the store does (the
default rule: the latest response). Then, as in bench_studio, a review-page rerun after an
Approve click (AppTest: the callback stores the response and derives the decision, then the whole
app script reruns: sidebar counts, filters, the reviewer's progress, the SQL-paged card).

    .venv/bin/python benchmarks/bench_team_review.py [--candidates 100000] [--reviewers 10] [--per-candidate 3]
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_studio import apptest_class, fill  # noqa: E402

from augment_core.review import ReviewFilter  # noqa: E402
from augment_core.store import Store  # noqa: E402
from augment_core.store.schema import candidates, decisions, responses  # noqa: E402


def respond(
    store: Store, dataset_id: int, n_reviewers: int, per_candidate: int, answered: float, decisions_only: bool = False
) -> int:
    """Store the team's responses and the decisions they derive; returns how many responses
    (``decisions_only``: the same decisions without their responses, the store as one reviewer left it)."""
    rng = random.Random(1)
    names = [f"reviewer-{i:02d}" for i in range(n_reviewers)]
    with store.engine.connect() as conn:
        ids = list(conn.execute(candidates.select().with_only_columns(candidates.c.id)
                                .where(candidates.c.dataset_id == dataset_id)
                                .order_by(candidates.c.example_id, candidates.c.id)).scalars())
    ids = ids[: int(len(ids) * answered)]
    n = 0
    with store.transaction() as conn:
        for start in range(0, len(ids), 5000):
            rows, derived = [], []
            for cid in ids[start : start + 5000]:
                latest = None
                for k, name in enumerate(rng.sample(names, per_candidate)):
                    status = "approved" if rng.random() < 0.8 else "rejected"
                    at = f"2026-01-01T00:00:{k:02d}.000+00:00"
                    rows.append({"candidate_id": cid, "reviewer": name, "dataset_id": dataset_id,
                                 "status": status, "edited_text": None, "decided_at": at})
                    latest = (status, at)
                assert latest is not None
                derived.append({"candidate_id": cid, "status": latest[0], "edited_text": None,
                                "decided_at": latest[1]})
            if not decisions_only:
                conn.execute(responses.insert(), rows)
                n += len(rows)
            conn.execute(decisions.insert(), derived)
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=10)
    parser.add_argument("--per-candidate", type=int, default=3)
    parser.add_argument("--answered", type=float, default=0.6, help="share of the file already answered")
    parser.add_argument("--clicks", type=int, default=15)
    parser.add_argument("--queue", action="store_true", help="review from My queue instead of the filtered list")
    parser.add_argument("--decisions-only", action="store_true",
                        help="the same decisions without responses: what the page costs without a team")
    args = parser.parse_args()

    AppTest = apptest_class()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        os.environ["AUGMENT_DB"] = url
        store = Store(url)
        started = time.perf_counter()
        dataset_id = fill(store, args.candidates)
        n_responses = respond(
            store, dataset_id, args.reviewers, args.per_candidate, args.answered, args.decisions_only
        )
        pending = store.count_review(dataset_id, ReviewFilter(status="pending"))
        print(f"store: {args.candidates:,} candidates, {n_responses:,} responses by {args.reviewers} reviewers, "
              f"{pending:,} pending; filled in {time.perf_counter() - started:.1f} s")

        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        at.session_state["dataset"] = "bench"
        at.run()
        at.switch_page("views/review.py").run()
        if args.queue:
            at.toggle(key="rv_queue").set_value(True).run()
        assert not at.exception, at.exception
        review = []
        for _ in range(args.clicks):
            at.button(key="rv_approve").click()
            t0 = time.perf_counter()
            at.run()
            review.append(time.perf_counter() - t0)
            assert not at.exception, at.exception
        left = store.count_review(dataset_id, ReviewFilter(status="pending"))
        assert left == pending - args.clicks, (pending, left)
        store.close()

    print(f"review rerun after approve, whole app script (AppTest, {args.clicks} clicks): "
          f"median {statistics.median(review) * 1000:.0f} ms, max {max(review) * 1000:.0f} ms")
    mode = "My queue" if args.queue else "pending list"
    print(f"FIGURES: review rerun ({mode}) with {args.reviewers} reviewers' responses ({n_responses:,}) on "
          f"{args.candidates:,} candidates: {statistics.median(review) * 1000:.0f} ms median (target < 300 ms)")


if __name__ == "__main__":
    main()
