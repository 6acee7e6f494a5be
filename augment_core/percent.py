"""Shares shown as percentages, rounded honestly: the one formatting rule of the CLI and the studio."""

from __future__ import annotations


def percent(fraction: float) -> str:
    """``fraction`` (0-1) as a percentage, whole when that is honest: a share that is not all (or not
    none) never reads as 100% (or 0%). 612 of 615 is ``99.5%``, 1 of 10,000 ``0.01%``, 3 of 5 ``60%``."""
    for digits in (0, 1, 2):
        shown = round(fraction * 100, digits)
        if (shown >= 100) == (fraction >= 1) and (shown <= 0) == (fraction <= 0):
            return f"{shown:.{digits}f}%"
    return ">99.99%" if fraction > 0.5 else "<0.01%"
