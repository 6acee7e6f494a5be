"""The mix control on hand-made pools and stores: exact counts for every cap, spread, determinism."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from typing import Any

import pytest

from augment_core.errors import InputError
from augment_core.mixing import (
    Eligible,
    MixSettings,
    budget,
    mix_settings,
    plan_for_dataset,
    plan_mix,
    save_mix_settings,
)
from augment_core.records import Candidate, Flag, Score
from augment_core.review import accept_rule, bulk_review
from augment_core.store import Store


def cid(*parts: Any) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def pool(per_original: dict[str, int], n_originals: int, **fields: Any) -> list[Eligible]:
    """``per_original[augmenter]`` eligible rewrites for each of ``n_originals`` originals."""
    return [
        Eligible(cid(e, a, i), e, a, **fields)
        for a, n in per_original.items()
        for e in range(1, n_originals + 1)
        for i in range(n)
    ]


def refusals(n: int, augmenter: str = "refusal") -> list[Eligible]:
    return [Eligible(cid("refusal", augmenter, i), None, augmenter, kind="refusal") for i in range(n)]


def counts(plan_items: list[Eligible]) -> tuple[Counter[str], Counter[int | None]]:
    return Counter(i.augmenter for i in plan_items), Counter(i.example_id for i in plan_items)


# ---- budget and caps --------------------------------------------------------------------


def test_one_to_two_exact_and_spread() -> None:
    items = pool({"paraphrase": 3, "backtranslation": 3}, 10)
    plan = plan_mix(items, 10, MixSettings())
    by_aug, by_orig = counts(plan.chosen)
    assert len(plan.chosen) == 20
    assert by_aug == {"paraphrase": 10, "backtranslation": 10}
    assert set(by_orig.values()) == {2} and len(by_orig) == 10  # every original gets two, none hogs
    r = plan.report
    assert (r.originals, r.augmented, r.refusals, r.eligible) == (10, 20, 0, 60)
    assert r.ratio_reached == "1:2.00" and r.limited_by == "ratio"
    assert r.augmented_share == pytest.approx(2 / 3) and r.growth_factor == pytest.approx(3.0)


def test_augmented_share_cap_seventy_percent() -> None:
    plan = plan_mix(pool({"paraphrase": 6}, 10), 10, MixSettings(ratio="1:5"))
    # 1:5 asks for 50; 70 % of the set allows 10 * 0.7 / 0.3 = 23.33 -> 23 (23/33 = 69.7 %, 24/34 = 70.6 %).
    assert len(plan.chosen) == 23
    assert plan.report.target_augmented == 50 and plan.report.budget == 23
    assert plan.report.limited_by == "augmented share cap"
    assert plan.report.augmented_share <= 0.70 < 24 / 34


def test_share_cap_exact_on_round_numbers() -> None:
    # Fractions from the decimal text: 0.75 of the set over 100 originals allows exactly 300.
    assert budget(100, MixSettings(ratio="1:4", max_augmented_share=0.75)) == (400, 300, "augmented share cap")
    assert budget(100, MixSettings(ratio="1:2.5", max_augmented_share=1.0)) == (250, 250, "ratio")
    assert budget(7, MixSettings()) == (14, 14, "ratio")


def test_refusal_cap_ten_percent_of_the_set() -> None:
    items = pool({"paraphrase": 3}, 100) + refusals(80)
    plan = plan_mix(items, 100, MixSettings())
    by_aug, _ = counts(plan.chosen)
    # Budget 200 over a set of 300: refusals at most 30, the rest rewrites.
    assert len(plan.chosen) == 200
    assert by_aug == {"paraphrase": 170, "refusal": 30}
    assert plan.report.refusals == 30 and plan.report.refusals / plan.report.total == pytest.approx(0.10)


def test_refusal_cap_holds_against_a_smaller_set() -> None:
    items = pool({"paraphrase": 1}, 5) + refusals(10)
    plan = plan_mix(items, 10, MixSettings())
    # Only 5 rewrites: the set is 10 + 5 + R, and R <= 10 % of it allows R = 1 (1/16), not 2 (2/17).
    assert plan.report.refusals == 1 and len(plan.chosen) == 6
    assert plan.report.limited_by == "refusal cap"
    assert plan.report.refusals / plan.report.total <= 0.10


def test_fewer_candidates_than_the_target() -> None:
    items = pool({"paraphrase": 1}, 7)
    plan = plan_mix(items, 10, MixSettings())
    assert len(plan.chosen) == 7 and plan.report.limited_by == "candidates"
    assert plan.report.ratio_reached == "1:0.70" and plan.report.growth_factor == pytest.approx(1.7)
    assert "limited by candidates" in "\n".join(plan.report.lines())


def test_one_original_with_many_candidates() -> None:
    items = pool({"paraphrase": 2}, 10) + [Eligible(cid("hog", i), 1, "paraphrase") for i in range(50)]
    plan = plan_mix(items, 10, MixSettings())
    _, by_orig = counts(plan.chosen)
    assert len(plan.chosen) == 20 and set(by_orig.values()) == {2}
    # With spare budget and nothing else left, the many-candidate original takes the rest.
    plan = plan_mix(items, 10, MixSettings(ratio="1:3", max_augmented_share=1.0))
    _, by_orig = counts(plan.chosen)
    assert len(plan.chosen) == 30 and by_orig[1] == 12 and all(by_orig[e] == 2 for e in range(2, 11))


def test_no_original_goes_past_the_ratio_while_others_have_candidates() -> None:
    # An augmenter that only rewrote original 1 must not push it past 2 (at 1:2) while originals
    # 2-4 still have candidates of another augmenter.
    items = [Eligible(cid("only-one", i), 1, "a") for i in range(5)] + pool({"b": 2}, 4)
    plan = plan_mix(items, 4, MixSettings())
    by_aug, by_orig = counts(plan.chosen)
    assert len(plan.chosen) == 8 and by_orig == {1: 2, 2: 2, 3: 2, 4: 2}
    assert by_aug == {"a": 2, "b": 6}
    # When the others have no candidate left, the spare budget goes to the original that has.
    plan = plan_mix(items, 4, MixSettings(ratio="1:3", max_augmented_share=1.0))
    _, by_orig = counts(plan.chosen)
    assert len(plan.chosen) == 12 and by_orig == {1: 6, 2: 2, 3: 2, 4: 2}
    # A ratio of 1:2.5 allows ceil(2.5) = 3 per original.
    items = [Eligible(cid("only-one", i), 1, "a") for i in range(5)] + pool({"b": 3}, 4)
    plan = plan_mix(items, 4, MixSettings(ratio="1:2.5", max_augmented_share=1.0))
    _, by_orig = counts(plan.chosen)
    assert len(plan.chosen) == 10 and by_orig[1] == 3 and sorted(by_orig.values()) == [2, 2, 3, 3]


def test_no_augmenter_crowds_out_the_rest() -> None:
    items = pool({"templates": 10}, 10) + pool({"backtranslation": 1}, 5)
    plan = plan_mix(items, 10, MixSettings())
    by_aug, by_orig = counts(plan.chosen)
    assert by_aug == {"templates": 15, "backtranslation": 5}
    assert max(by_orig.values()) - min(by_orig.values()) <= 1


def test_best_scores_in_the_optimal_band_preferred() -> None:
    good = [
        Eligible(cid("g", e), e, "p", scored=True, is_valid=True, in_optimal_band=True, similarity=0.85)
        for e in range(1, 6)
    ]
    flagged = [
        Eligible(cid("f", e), e, "p", scored=True, is_valid=True, in_optimal_band=True, similarity=0.9, flag_count=1)
        for e in range(1, 6)
    ]
    outside = [Eligible(cid("o", e), e, "p", scored=True, is_valid=True, similarity=0.97) for e in range(1, 6)]
    unscored = [Eligible(cid("u", e), e, "p") for e in range(1, 6)]
    rejected = [
        Eligible(
            cid("r", e), e, "p", decision="rejected", scored=True, is_valid=True, in_optimal_band=True, similarity=0.9
        )
        for e in range(1, 6)
    ]
    approved = [Eligible(cid("a", e), e, "p", decision="approved", similarity=0.5) for e in range(1, 6)]
    items = unscored + outside + flagged + rejected + good + approved
    for n, expected in [
        (5, approved),
        (10, approved + good),
        (15, approved + good + flagged),
        (20, approved + good + flagged + outside),
        (25, approved + good + flagged + outside + unscored),
    ]:
        plan = plan_mix(items, 5, MixSettings(ratio=f"1:{n // 5}", max_augmented_share=1.0))
        assert {i.candidate_id for i in plan.chosen} == {i.candidate_id for i in expected}, n


def test_deterministic_for_a_seed_whatever_the_row_order() -> None:
    items = pool({"paraphrase": 4, "templates": 4}, 25)
    first = plan_mix(items, 25, MixSettings(seed=7)).selected
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    assert sorted(plan_mix(shuffled, 25, MixSettings(seed=7)).selected) == sorted(first)
    assert set(plan_mix(items, 25, MixSettings(seed=8)).selected) != set(first)


def test_bad_settings_name_the_flag() -> None:
    for settings, word in [
        (MixSettings(ratio="2"), "--ratio '2'"),
        (MixSettings(ratio="0:2"), "--ratio '0:2'"),
        (MixSettings(ratio="a:b"), "--ratio 'a:b'"),
        (MixSettings(max_augmented_share=1.5), "--max-augmented-share"),
        (MixSettings(max_refusal_share=1.0), "--max-refusal-share"),
    ]:
        with pytest.raises(InputError, match=word):
            plan_mix([], 10, settings)


# ---- settings in the store ----------------------------------------------------------------


def test_settings_defaults_stored_and_overridden(store: Store) -> None:
    assert mix_settings(store) == MixSettings(ratio="1:2", max_augmented_share=0.7, max_refusal_share=0.1, seed=0)
    save_mix_settings(store, MixSettings(ratio="1:3", max_augmented_share=0.8, seed=5))
    assert store.get_setting("mix.ratio") == "1:3"
    assert mix_settings(store) == MixSettings(ratio="1:3", max_augmented_share=0.8, max_refusal_share=0.1, seed=5)
    assert mix_settings(store, ratio="1:1", seed=None).ratio == "1:1"
    with pytest.raises(InputError, match="--ratio"):
        save_mix_settings(store, MixSettings(ratio="x"))


# ---- a hand-made store ---------------------------------------------------------------------


def build_dataset(
    store: Store,
    n_originals: int,
    per_original: dict[str, int],
    name: str = "hand",
    approve: bool = True,
    score: bool = True,
    n_refusals: int = 0,
) -> int:
    """An alpaca dataset with ``per_original[augmenter]`` instruction rewrites per original; returns its id."""
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, name, "alpaca", "hand.jsonl", "jsonl", {})
        store.add_examples(
            conn,
            dataset_id,
            [
                (e, f"ex-{e}", {"id": f"ex-{e}", "instruction": f"Task {e}?", "input": f"in {e}", "output": f"out {e}"})
                for e in range(1, n_originals + 1)
            ],
        )
    ids = {ex.position: ex.id for batch in store.iter_examples(dataset_id) for ex in batch}
    items = [
        Candidate(
            id=cid(name, e, a, i),
            dataset_id=dataset_id,
            example_id=ids[e],
            augmenter=a,
            target_field="instruction",
            text=f"Task {e}, said by {a} #{i}?",
            params={"n": i, "model": "m1", "api_key": "sk-never"},
            provenance={"provider": "fake", "model": "m1", "usage": {"input_tokens": 3, "cost": 0.001}},
        )
        for a, n in per_original.items()
        for e in range(1, n_originals + 1)
        for i in range(n)
    ]
    items += [
        Candidate(
            id=cid(name, "refusal", i),
            dataset_id=dataset_id,
            example_id=None,
            augmenter="refusal",
            target_field="output",
            text="I can't help with that.",
            kind="refusal",
            record={"instruction": f"Do harm {i}", "input": "", "output": "I can't help with that."},
        )
        for i in range(n_refusals)
    ]
    store.add_candidates(items)
    if score:
        store.save_scores([Score(c.id, 0.85, True, True, 1.0, 4, model="mini") for c in items if c.kind == "rewrite"])
    if approve:
        for c in items:
            store.set_decision(c.id, "approved")
    return dataset_id


def test_selection_from_the_store(store: Store) -> None:
    dataset_id = build_dataset(store, 4, {"paraphrase": 2}, approve=False, score=False, n_refusals=2)
    ids = [cid("hand", e, "paraphrase", i) for e in range(1, 5) for i in range(2)]
    store.save_scores([Score(i, 0.85, True, True, 1.0, 4, meaning_preserved=0.9) for i in ids])
    store.set_decision(ids[0], "approved")
    store.set_decision(ids[1], "rejected")
    store.set_decision(cid("hand", "refusal", 1), "rejected")
    # A failed candidate and an unscored rewrite.
    example_id = next(store.iter_examples(dataset_id))[0].id
    store.add_candidates(
        [
            Candidate(
                id=cid("failed"),
                dataset_id=dataset_id,
                example_id=example_id,
                augmenter="paraphrase",
                target_field="instruction",
                text="",
                status="failed",
                error="boom",
            ),
            Candidate(
                id=cid("unscored"),
                dataset_id=dataset_id,
                example_id=example_id,
                augmenter="paraphrase",
                target_field="instruction",
                text="x",
            ),
        ]
    )
    store.set_decision(cid("failed"), "approved")

    def chosen(selection: str) -> set[str]:
        rule = accept_rule(store) if selection == "valid" else None
        rows = store.iter_mix_rows(dataset_id, selection, batch_size=3, valid_rule=rule)
        return {row["id"] for batch in rows for row in batch}

    # Approved but scored invalid (a reviewer's word beats the score), and pending invalid.
    store.add_candidates(
        [
            Candidate(
                id=cid(name),
                dataset_id=dataset_id,
                example_id=example_id,
                augmenter="paraphrase",
                target_field="instruction",
                text=name,
            )
            for name in ("approved-invalid", "pending-invalid")
        ]
    )
    store.save_scores([Score(cid(name), 0.5, False, False, 1.0, 4) for name in ("approved-invalid", "pending-invalid")])
    store.set_decision(cid("approved-invalid"), "approved")
    # Pending, in the validity window, but each with what keeps `augment review --approve-valid` off it.
    doubtful = {
        "flagged": {"flags": [Flag("number", "7", "changed to 8")]},
        "near-duplicate": {"near_duplicate": True},
        "truncated": {"truncated": True},
        "meaning-lost": {"meaning_preserved": 0.2},
        "meaning-unknown": {"meaning_preserved": None},
    }
    store.add_candidates(
        [
            Candidate(id=cid(name), dataset_id=dataset_id, example_id=example_id, augmenter="paraphrase",
                      target_field="instruction", text=name)
            for name in doubtful
        ]
    )  # fmt: skip
    fields: dict[str, Any] = {"meaning_preserved": 0.9}
    store.save_scores([Score(cid(n), 0.85, True, True, 1.0, 4, **{**fields, **f}) for n, f in doubtful.items()])

    approved = {ids[0], cid("approved-invalid")}
    assert chosen("approved") == approved
    # Valid: the approved, and the pending ones --approve-valid would approve; a pending refusal too
    # (never scored: only the studio approves it); not unscored rewrites, not doubtful ones.
    valid = approved | set(ids[2:]) | {cid("hand", "refusal", 0)}
    assert chosen("valid") == valid
    # All: every one not rejected.
    assert chosen("all") == valid | {cid("pending-invalid"), cid("unscored")} | {cid(n) for n in doubtful}
    with pytest.raises(InputError, match="--status 'some'"):
        plan_for_dataset(store, dataset_id, 4, "some", MixSettings())
    plan = plan_for_dataset(store, dataset_id, 4, "all", MixSettings())
    # 4 originals: budget 8 from 16 eligible; refusals capped at 1 (of a set of 12).
    assert len(plan.chosen) == 8 and plan.report.refusals == 1 and plan.report.eligible == 16
    assert approved <= set(plan.selected)  # approved ones rank first
    # The same rule as the bulk approval: after it, `approved` is what `valid` was, less the refusal.
    dataset = store.get_dataset("hand")
    assert dataset is not None and bulk_review(store, dataset, "approve-valid") == 6
    assert chosen("approved") == valid - {cid("hand", "refusal", 0)}


def test_report_without_originals_gives_the_figures_of_the_file() -> None:
    plan = plan_mix(pool({"paraphrase": 1}, 9), 17, MixSettings(), include_originals=False)
    r = plan.report
    assert (r.originals, r.augmented, r.total) == (0, 9, 9)
    assert r.augmented_share == 1.0 and r.mix_augmented_share == pytest.approx(9 / 26)
    assert r.growth_factor == pytest.approx(9 / 17) and r.ratio_reached == "1:0.53"
    lines = "\n".join(r.lines())
    assert "augmented share  100.0% of the file (with the originals 34.6%, cap 70%)" in lines
    assert "growth factor    0.53x (records written over the dataset's 17 originals)" in lines
    assert r.as_dict()["augmented_share"] == 1.0 and r.as_dict()["mix_augmented_share"] == 0.3462
    # With the originals in the file, both shares are the same figure.
    r = plan_mix(pool({"paraphrase": 1}, 9), 17, MixSettings()).report
    assert r.augmented_share == r.mix_augmented_share == pytest.approx(9 / 26)
    assert "augmented share  34.6% (cap 70%)" in "\n".join(r.lines())
