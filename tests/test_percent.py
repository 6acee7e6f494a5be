"""The shared percentage rule: whole percents unless rounding would claim all or none."""

from __future__ import annotations

import pytest

from augment_core.percent import percent


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(612, 615, "99.5%"), (615, 615, "100%"), (0, 615, "0%"), (3, 5, "60%"), (1, 3, "33%"), (1, 10_000, "0.01%"),
     (9_999, 10_000, "99.99%"), (1, 1_000_000, "<0.01%"), (999_999, 1_000_000, ">99.99%"), (2, 1000, "0.2%")],
)  # fmt: skip
def test_percent_rounds_honestly(part: int, whole: int, shown: str) -> None:
    assert percent(part / whole) == shown
