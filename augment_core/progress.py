"""What a run reports: progress events with a moving-rate ETA, the estimate before, the report after."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from augment_core.llm.usage import PAID_FIELDS, Usage


@dataclass(frozen=True)
class Progress:
    """A progress event: items are (example, augmenter) pairs plus standalone inputs (prompts)."""

    done: int
    failed: int  # failed candidates so far
    total: int
    added: int  # new candidates stored so far
    skipped: int  # items already complete in the store
    elapsed: float
    eta_seconds: float | None  # None while estimating: fewer than ``Rate.warmup`` items worked on
    note: str = ""  # what the run waits for, while it waits ("rate limited by the provider until 14:05, ...")


@dataclass
class AugmenterSummary:
    """What one augmenter did in a run and what it cost."""

    name: str
    items: int = 0
    added: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0  # new candidates not stored: their text is already stored for the example
    usage: Usage = field(default_factory=Usage)  # live calls and cache hits of this run

    @property
    def worked(self) -> int:
        """Items that needed work in this run (not found already stored)."""
        return self.items - self.skipped

    @property
    def failure_rate(self) -> float | None:
        """Failed candidates over the candidates made in this run; None when none was made."""
        made = self.added + self.duplicates + self.failed
        return self.failed / made if made else None


@dataclass
class RunReport:
    total: int
    done: int
    failed: int
    added: int
    skipped: int
    cancelled: bool
    seconds: float
    by_augmenter: dict[str, AugmenterSummary]
    duplicates: int = 0

    @property
    def seconds_per_item(self) -> float | None:
        """Generation seconds per item worked on (items found stored left out); None when none was."""
        worked = sum(s.worked for s in self.by_augmenter.values())
        return self.seconds / worked if worked else None

    @property
    def failure_rate(self) -> float | None:
        """Failed candidates over the candidates made in this run; None when none was made."""
        made = self.added + self.duplicates + self.failed
        return self.failed / made if made else None


@dataclass(frozen=True)
class EstimateRow:
    """Expected work of one augmenter before a run; cost only for LLM calls with a known price."""

    name: str
    items: int
    calls: int  # to be made: translation services and the LLM, cache hits left out
    llm_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    priced: bool
    skipped: int = 0  # items already stored: no work (as a run's ``skipped``)
    cached: int = 0  # planned LLM calls the cache will answer (as a run's ``usage.cached``)


class Rate:
    """Items per second over the last ``window`` items worked on, for the ETA.

    The window starts at the first finished item, so what came before it (loading a model, the
    first connection) does not count; items found stored need no work and do not count either.
    No ETA before ``warmup`` items are done: one slow first item made it read hours.
    """

    def __init__(self, window: int = 20, warmup: int = 3) -> None:
        self.warmup = warmup
        self._times: deque[float] = deque(maxlen=window + 1)
        self._count = 0

    def tick(self, at: float) -> None:
        """One item finished at ``at`` (monotonic seconds)."""
        self._times.append(at)
        self._count += 1

    def eta(self, remaining: int, at: float) -> float | None:
        """Seconds left for ``remaining`` items at the moving rate, measured until ``at``."""
        if remaining <= 0:
            return 0.0
        if self._count < self.warmup or len(self._times) < 2:
            return None
        span = at - self._times[0]  # until now, not the last tick: a stall makes the ETA grow
        return remaining * span / (len(self._times) - 1) if span > 0 else None


def usage_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What a client's tally per label (``{label: Usage.as_dict()}``) grew by from ``before`` to ``after``."""
    return {label: {k: now_[k] - before.get(label, {}).get(k, 0) for k in PAID_FIELDS} for label, now_ in after.items()}


def add_usage(total: dict[str, dict[str, Any]], more: dict[str, dict[str, Any]]) -> None:
    """Add ``more`` (as ``usage_between`` gives it) into ``total``, label by label."""
    for label, counts in more.items():
        into = total.setdefault(label, dict.fromkeys(PAID_FIELDS, 0))
        for k in PAID_FIELDS:
            into[k] += counts[k]
