"""Agreement figures on hand-made response sets with known kappa and alpha."""

from __future__ import annotations

import pytest

from augment_core.agreement import agreement

A, R = "approved", "rejected"


def test_kappa_and_alpha_of_two_reviewers_match_the_hand_computed_values() -> None:
    # ann: A A R R A A, bob: A R R R A A. Observed agreement 5/6, chance 1/2 -> kappa 2/3.
    # Krippendorff (nominal): coincidences o_AA=6, o_RR=4, o_AR=o_RA=1; n_A=7, n_R=5, n=12
    # alpha = 1 - (n-1) * 2 / (2 * n_A * n_R) = 1 - 22/70 = 48/70.
    ann = [A, A, R, R, A, A]
    bob = [A, R, R, R, A, A]
    responses = [(f"c{i}", "ann", a) for i, a in enumerate(ann)] + [(f"c{i}", "bob", b) for i, b in enumerate(bob)]
    result = agreement(responses)
    assert result.reviewers == ["ann", "bob"]
    [pair] = result.pairs
    assert (pair.first, pair.second, pair.shared) == ("ann", "bob", 6)
    assert pair.kappa == pytest.approx(2 / 3)
    assert result.alpha == pytest.approx(48 / 70)
    assert result.units == 6 and result.conflicts == ["c1"]


def test_perfect_and_opposite_agreement() -> None:
    same = [(f"c{i}", who, A if i % 2 else R) for i in range(4) for who in ("ann", "bob")]
    assert agreement(same).pairs[0].kappa == pytest.approx(1.0) and agreement(same).alpha == pytest.approx(1.0)
    opposite = [(f"c{i}", "ann", A if i % 2 else R) for i in range(4)]
    opposite += [(f"c{i}", "bob", R if i % 2 else A) for i in range(4)]
    result = agreement(opposite)
    assert result.pairs[0].kappa == pytest.approx(-1.0) and len(result.conflicts) == 4


def test_missing_responses_and_undefined_figures() -> None:
    # cy answered only c9, which nobody else did: no pair with cy, c9 is not a unit.
    responses = [("c1", "ann", A), ("c1", "bob", A), ("c2", "ann", A), ("c2", "bob", A), ("c9", "cy", R)]
    result = agreement(responses)
    assert result.reviewers == ["ann", "bob", "cy"]
    assert [(p.first, p.second, p.kappa) for p in result.pairs] == [("ann", "bob", None)]  # one answer: undefined
    assert result.alpha is None and result.units == 2 and result.conflicts == []
    assert agreement([]).as_dict()["alpha"] is None
