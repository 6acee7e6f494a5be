"""The counts of one run as it goes: items done, failed, skipped, candidates added and duplicates,
per augmenter too (``AugmenterSummary``), turned into progress events and the report at the end.

``Pipeline.begin`` makes one per run; the pipeline tells it each item worked on (``advance``) and
each batch written (``wrote``, from ``augment_core.candidate_writes``). The ETA comes from the rate
of the last items worked on (``Rate``); a long wait of the LLM client (a rate limit) is ``heard``
and shown at once, in the event's ``note``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from augment_core.augmenters.base import Usage
from augment_core.progress import AugmenterSummary, Progress, Rate, RunReport
from augment_core.records import Candidate

if TYPE_CHECKING:
    from augment_core.candidate_writes import Written
    from augment_core.retry import Notice


class RunTally:
    """One run's counts over ``total`` items (the pipeline sets it) of the augmenters ``names``, the
    clock started when made."""

    def __init__(self, names: Sequence[str], on_progress: Callable[[Progress], None] | None) -> None:
        self.started = time.monotonic()
        self.total = 0
        self.done = self.failed = self.added = self.skipped = self.duplicates = 0
        self.rate = Rate()
        self.notice: Notice | None = None
        self.summaries = {name: AugmenterSummary(name) for name in names}
        self.on_progress = on_progress

    def skip(self, name: str) -> None:
        """An item of augmenter ``name`` found complete in the store."""
        self.skipped += 1
        self.summaries[name].skipped += 1

    def tick(self) -> None:
        """An item worked on just now, for the rate."""
        self.rate.tick(time.monotonic())

    def advance(self, name: str, made: list[Candidate]) -> None:
        """An item of augmenter ``name`` done, with the candidates it made (none when skipped)."""
        failed = sum(1 for c in made if c.status == "failed")
        summary = self.summaries[name]
        summary.items += 1
        summary.failed += failed
        self.failed += failed
        self.done += 1
        for c in made:
            usage = c.provenance.get("usage", {})
            summary.usage.add(Usage(calls=usage.get("calls", 0), cached=usage.get("cached", 0)))

    def wrote(self, written: Written) -> None:
        """A batch stored: its items found stored, its candidates added and its duplicates."""
        for name, count in written.skipped.items():
            self.skipped += count
            self.summaries[name].skipped += count
        for name, count in written.duplicates.items():
            self.duplicates += count
            self.summaries[name].duplicates += count
        self.added += written.added
        for name, count in written.added_by.items():
            self.summaries[name].added += count

    def heard(self, notice: Notice) -> None:
        """The LLM client waits (a rate limit): say so at once."""
        self.notice = notice
        self.emit()

    def emit(self) -> None:
        """A progress event with the counts so far."""
        if self.on_progress is not None:
            at = time.monotonic()
            elapsed = at - self.started
            eta = self.rate.eta(self.total - self.done, at)
            notice = self.notice
            note = notice.text if notice is not None and time.monotonic() < notice.until else ""
            self.on_progress(Progress(self.done, self.failed, self.total, self.added, self.skipped, elapsed, eta, note))

    def report(self, cancelled: bool) -> RunReport:
        """The report of the run so far."""
        return RunReport(
            total=self.total,
            done=self.done,
            failed=self.failed,
            added=self.added,
            skipped=self.skipped,
            cancelled=cancelled,
            seconds=time.monotonic() - self.started,
            by_augmenter=self.summaries,
            duplicates=self.duplicates,
        )

    def credit_usage(self, spent: dict[str, dict[str, Any]]) -> None:
        """Put ``spent`` (per augmenter: the LLM clients' calls, cache hits, tokens and money in this
        run, as ``usage_between`` gives them) on the report."""
        for name, summary in self.summaries.items():
            got = spent.get(name)
            if got is None:
                continue
            summary.usage.calls = got["calls"]
            summary.usage.cached = got["cached"]
            summary.usage.input_tokens = got["input_tokens"]
            summary.usage.output_tokens = got["output_tokens"]
            summary.usage.cost_usd = got["cost_usd"]
