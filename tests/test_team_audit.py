"""The audit of the accept rule on a store with known ground truth, through the CLI and the queue."""

from __future__ import annotations

import json
import random

import pytest

from augment_core.audit import audit_report, draw_audit, wilson
from augment_core.records import Candidate, Score
from augment_core.review import accept_rule
from augment_core.store import Store


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(81, 263)  # the classic example: 0.2553 - 0.3662
    assert (low, high) == (pytest.approx(0.2553, abs=1e-4), pytest.approx(0.3662, abs=1e-4))
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)  # type: ignore[index]
    assert wilson(0, 0) is None


def _truth_store(store: Store, n: int = 1200) -> tuple[int, dict[str, bool], float, float]:
    """Scored candidates, half inside the validity window; a person would approve 90 % of those inside
    and 20 % of those outside. Returns (dataset id, truth per candidate, true precision, true miss rate)."""
    rng = random.Random(7)
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "truth", "alpaca", "t.jsonl", "jsonl", {})
        store.add_examples(conn, dataset_id, [(1, "e", {"instruction": "Say hi", "output": "Hi"})])
    example = next(store.iter_examples(dataset_id))[0]
    truth: dict[str, bool] = {}
    items, scores = [], []
    for i in range(n):
        cid = f"t{i:05d}"
        inside = i % 2 == 0
        sim = 0.85 if inside else 0.5
        truth[cid] = rng.random() < (0.9 if inside else 0.2)
        items.append(
            Candidate(
                id=cid,
                dataset_id=dataset_id,
                example_id=example.id,
                augmenter="paraphrase",
                target_field="instruction",
                text=f"Say hi {i}",
            )
        )
        scores.append(
            Score(
                candidate_id=cid,
                semantic_similarity=sim,
                is_valid=inside,
                in_optimal_band=inside,
                length_ratio=1.0,
                unique_words=1,
                meaning_preserved=0.99 if inside else 0.1,
            )
        )
    store.add_candidates(items)
    store.save_scores(scores)
    inside_ids = [c for i, c in enumerate(truth) if i % 2 == 0]
    outside_ids = [c for i, c in enumerate(truth) if i % 2 == 1]
    precision = sum(truth[c] for c in inside_ids) / len(inside_ids)
    miss = sum(truth[c] for c in outside_ids) / len(outside_ids)
    return dataset_id, truth, precision, miss


def test_the_audit_interval_contains_the_true_precision_and_miss_rate(store: Store) -> None:
    dataset_id, truth, precision, miss = _truth_store(store)
    dataset = store.get_dataset("truth")
    assert dataset is not None
    store.bulk_decide(dataset_id, accept_rule(store), "approved")
    assert draw_audit(store, dataset, 200, seed=3) == (100, 100)
    assert draw_audit(store, dataset, 200, seed=3) == (100, 100)  # 200 more, none drawn twice
    report = audit_report(store, dataset)
    assert (report.accepted.drawn, report.accepted.answered) == (200, 0)  # a bulk approval is not a person's
    # People answer the queue: the audit sample comes first, each candidate once.
    seen = set()
    while (cid := store.next_in_queue(dataset_id, "ann")) is not None and len(seen) < 400:
        assert cid not in seen
        seen.add(cid)
        store.set_decision(cid, "approved" if truth[cid] else "rejected", reviewer="ann")
    assert len(seen) == 400 and {cid for cid, _, _ in store.audit_results(dataset_id)} == seen
    report = audit_report(store, dataset)
    assert report.accepted.answered == report.rejected.answered == 200
    low, high = report.accepted.interval  # type: ignore[misc]
    assert low <= precision <= high and 0.8 < report.accepted.rate < 0.97  # type: ignore[operator]
    low, high = report.rejected.interval  # type: ignore[misc]
    assert low <= miss <= high


def test_augment_audit_draws_queues_and_reports(run_cli, store: Store) -> None:  # type: ignore[no-untyped-def]
    dataset_id, truth, _, _ = _truth_store(store, 40)
    code, out, err = run_cli("audit", "--sample", "10", "--seed", "1", "--for", "bob")
    assert code == 0, err
    assert "queued 5 candidates the accept rule approves and 5 it does not, for bob" in out
    assert "precision  5 drawn, none answered yet" in out
    assert store.next_in_queue(dataset_id, "ann") not in {cid for cid, _, _ in store.audit_results(dataset_id)}
    while (cid := store.next_in_queue(dataset_id, "bob")) in truth and cid in {
        c for c, _, _ in store.audit_results(dataset_id)
    }:
        store.set_decision(cid, "approved", reviewer="bob")
    code, out, err = run_cli("audit", "--json")
    report = json.loads(out)
    assert report["precision"]["answered"] == 5 and report["precision"]["rate"] == 1.0
    assert report["miss_rate"]["interval"][0] > 0.5
    store.set_reviewer("ann", "admin")
    code, out, err = run_cli("audit", "--sample", "2", "--reviewer", "bob")
    assert code == 2 and "drawing an audit sample is for admins" in err
