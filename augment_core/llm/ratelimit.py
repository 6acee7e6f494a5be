"""Requests-per-minute and tokens-per-minute limits as two token buckets.

Each bucket holds up to one minute's allowance and refills continuously, which is how the
providers meter it too. A request takes one request and its estimated tokens (prompt estimate
plus ``max_tokens``) before it is sent; the unused part of the estimate is handed back when the
real usage is known. Waiters are served in arrival order so no request starves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class _Bucket:
    def __init__(self, per_minute: int, clock: Callable[[], float], burst: float = 60.0) -> None:
        self.capacity = max(1.0, per_minute * burst / 60.0)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.clock = clock
        self.stamp = clock()

    def refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (0 when it is)."""
        self.refill()
        return 0.0 if self.level >= amount else (amount - self.level) / self.rate


class RateLimiter:
    """Async limiter on requests and tokens per minute; either limit may be None (unlimited)."""

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        burst: float = 60.0,
    ) -> None:
        """``sleep`` and ``clock`` are seams for tests (a fake clock advanced by a fake sleep).
        ``burst``: the seconds of allowance a bucket holds (a minute, as the providers meter; the
        Ray engine's shared limiter paces evenly with a tenth of a second, see engines.ray_cluster)."""
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value}")
        self._requests = _Bucket(rpm, clock, burst) if rpm else None
        self._tokens = _Bucket(tpm, clock, burst) if tpm else None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._sleep = sleep or asyncio.sleep

    @property
    def active(self) -> bool:
        return self._requests is not None or self._tokens is not None

    async def acquire(self, tokens: int = 0) -> int:
        """Wait until one request and ``tokens`` tokens fit; returns the tokens taken."""
        if not self.active:
            return 0
        # A request larger than a whole minute's allowance would wait forever; let it take the bucket.
        taken = min(float(tokens), self._tokens.capacity) if self._tokens else 0.0
        async with self._loop_lock():  # FIFO: asyncio.Lock wakes waiters in order
            while True:
                wait = max(
                    self._requests.wait_for(1.0) if self._requests else 0.0,
                    self._tokens.wait_for(taken) if self._tokens else 0.0,
                )
                if wait <= 0:
                    break
                await self._sleep(wait)
            if self._requests:
                self._requests.level -= 1.0
            if self._tokens:
                self._tokens.level -= taken
        return int(taken)

    def reserve(self, tokens: int = 0) -> tuple[float, int]:
        """Take one request and ``tokens`` tokens now, into debt if need be: (seconds the caller must
        wait before sending, tokens taken). Synchronous, for a limiter that serves other processes
        one call at a time (the Ray engine's); the waits it hands out keep the same pace as ``acquire``."""
        if not self.active:
            return 0.0, 0
        taken = min(float(tokens), self._tokens.capacity) if self._tokens else 0.0
        wait = max(
            self._requests.wait_for(1.0) if self._requests else 0.0,
            self._tokens.wait_for(taken) if self._tokens else 0.0,
        )
        if self._requests:
            self._requests.level -= 1.0
        if self._tokens:
            self._tokens.level -= taken
        return wait, int(taken)

    def _loop_lock(self) -> asyncio.Lock:
        # One limiter may outlive an event loop (Streamlit runs asyncio.run per rerun); a lock is
        # bound to the loop that first waits on it, so make a fresh one for each loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def refund(self, tokens: int) -> None:
        """Give back tokens taken by ``acquire`` but not used."""
        if self._tokens and tokens > 0:
            self._tokens.refill()
            self._tokens.level = min(self._tokens.capacity, self._tokens.level + tokens)
