"""A moving rate of finished items, for ETAs that do not read hours after one slow first item."""

from __future__ import annotations

from collections import deque


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
