"""One retry policy for every backend call: LLM providers and translation services.

``RetryPolicy`` holds the numbers; a ``Guard`` is what the calls to one backend share (the pause
a rate limit imposed on all of them, the circuit breaker, who hears about long waits); ``retry``
is the loop: a retryable failure (errors.RetryableError) is tried again after exponential
backoff with jitter, or after the server's ``retry-after`` capped at ``max_retry_after``; an
item stops waiting once ``max_wait`` seconds are spent (GaveUp, recorded on the item). Once a
call waited that long for a rate limit in vain, later calls are not sent before the provider's
stated end (or a success): a long run ends with every item failed and why, instead of each item
waiting its budget in turn.

Circuit breaker: ``breaker`` connection failures or timeouts in a row, on any of the backend's
calls, open the circuit; so does a call that used up its retries on them before the backend
ever replied (a wrong URL; where the guard is told to). A refused key (KeyRefused) opens it at
the first reply. Once open, every call raises at once without sending (Unreachable or
KeyRefused, both ProviderDown, which stops a run): a dead server costs seconds, not hours.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from augment_core.errors import (
    ConnectionFailed,
    GaveUp,
    KeyRefused,
    ProviderDown,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    RetryableError,
    Unreachable,
)
from augment_core.settings import MAX_RETRIES_KEY, TIMEOUT_KEY, SettingSource, checked

if TYPE_CHECKING:
    pass

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for a reply, how often and how long to try again, when to stop trying."""

    max_retries: int = 5
    timeout: float = 60.0  # seconds one attempt may take
    backoff: float = 0.5  # the first delay; it doubles with each retry
    max_backoff: float = 60.0  # cap on one backoff step
    jitter: float = 0.5  # the random share of each delay, so waiters do not return together
    max_retry_after: float = 120.0  # cap on a server's retry-after, for one call and for all
    max_wait: float = 300.0  # seconds one call may spend waiting between its attempts, in total
    breaker: int = 5  # connection failures or timeouts in a row that open the circuit

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if min(self.backoff, self.max_backoff, self.max_retry_after, self.max_wait) < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff, max_backoff, max_retry_after and max_wait must be >= 0, jitter in [0, 1]")
        if self.breaker < 1:
            raise ValueError(f"breaker must be at least 1, got {self.breaker}")

    def but(self, **changes: Any) -> RetryPolicy:
        """This policy with the given fields changed; a None value leaves a field as it is."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before retry number ``attempt + 1``: the server's hint (capped), else backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + random.uniform(0, self.backoff * self.jitter * 2)
        step = min(self.max_backoff, self.backoff * 2**attempt)
        return float(step * (1 - self.jitter) + random.uniform(0, step * self.jitter))


LLM_POLICY = RetryPolicy()


def policy_from_settings(store: SettingSource | None, base: RetryPolicy | None = None) -> RetryPolicy:
    """``base`` (default LLM_POLICY) with the settings ``llm.timeout`` and ``llm.max_retries`` over it."""
    base = base or LLM_POLICY
    if store is None:
        return base
    # Unset means the base policy's own number (a translator's differs from the LLM's default).
    timeout, retries = (store.get_setting(key) for key in (TIMEOUT_KEY, MAX_RETRIES_KEY))
    return base.but(
        timeout=None if timeout is None else checked(TIMEOUT_KEY, timeout),
        max_retries=None if retries is None else checked(MAX_RETRIES_KEY, retries),
    )


@dataclass(frozen=True)
class Notice:
    """Something a run should tell its user while it waits; shown until ``until`` (monotonic)."""

    text: str
    until: float


def clock_time(wall: float) -> str:
    """``14:05`` for a wall-clock time today, with the date when it is another day."""
    when = time.localtime(wall)
    if time.strftime("%Y-%m-%d", when) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M", when)
    return time.strftime("%Y-%m-%d %H:%M", when)


class Guard:
    """What every call to one backend shares: the rate-limit pause, the breaker, the listeners.

    ``where`` names the backend in messages (a URL, a provider); ``stop_before_first_reply``
    opens the circuit when a call gives up on connection failures before anything replied.
    """

    def __init__(self, where: str, policy: RetryPolicy = LLM_POLICY, *, stop_before_first_reply: bool = True) -> None:
        self.where = where
        self.policy = policy
        self.stop_before_first_reply = stop_before_first_reply
        self.resume_at = 0.0  # monotonic: no call starts before this (a 429's retry-after, capped)
        self.limited_until = 0.0  # wall clock: when the provider said it would serve again
        self.in_a_row = 0  # connection failures and timeouts since the last reply
        self.replied_once = False
        self.waited_in_vain = False  # a call gave up on the rate limit; none has succeeded since
        self._open: ProviderDown | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()  # tasks inside an attempt, cut when the circuit opens
        self._cut: set[asyncio.Task[Any]] = set()
        self._listeners: list[Callable[[Notice], None]] = []

    # ---- listeners ------------------------------------------------------------------------

    def listen(self, listener: Callable[[Notice], None]) -> Callable[[], None]:
        """Call ``listener`` with each notice (a long wait); returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _tell(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            listener(notice)

    # ---- the shared pause -----------------------------------------------------------------

    def hold(self, retry_after: float) -> None:
        """A rate limit with ``retry-after``: hold every call, for at most ``max_retry_after``."""
        now = time.monotonic()
        wait = min(retry_after, self.policy.max_retry_after)
        self.limited_until = max(self.limited_until, time.time() + retry_after)
        if now + wait > self.resume_at + 1.0:
            until = clock_time(self.limited_until)
            self._tell(Notice(f"rate limited by the provider until {until}, waiting {_seconds(wait)}", now + wait))
        self.resume_at = max(self.resume_at, now + wait)

    def pause(self) -> float:
        """Seconds a call must wait before it is sent (0 when nothing holds it), with jitter."""
        remaining = self.resume_at - time.monotonic()
        if remaining <= 0:
            return 0.0
        return remaining + random.uniform(0, self.policy.backoff * self.policy.jitter * 2)

    # ---- the breaker ----------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._open is not None

    def check(self) -> None:
        """Raise the error that opened the circuit, if it is open."""
        if self._open is not None:
            raise type(self._open)(str(self._open))

    def _trip(self, error: ProviderDown) -> None:
        self._open = error
        for task in self._in_flight - {asyncio.current_task()}:
            self._cut.add(task)
            task.cancel()

    async def unless_open(self, work: Awaitable[T]) -> T:
        """``work``, cut short when the circuit opens meanwhile (raising why): a request in flight to
        a dead server would otherwise hold the run for its whole timeout after the breaker spoke.
        It runs in the calling task, so cancelling that task stops it in the same step as before."""
        me = asyncio.current_task()
        assert me is not None
        self._in_flight.add(me)
        try:
            return await work
        except asyncio.CancelledError:
            if me not in self._cut:
                raise
            self._cut.discard(me)
            if me.uncancel() == 0:  # cut by the breaker alone (a cancel from the caller wins)
                self.check()
            raise
        finally:
            self._in_flight.discard(me)

    def replied(self) -> None:
        """The backend answered (with anything): it is there."""
        self.in_a_row = 0
        self.replied_once = True

    def succeeded(self) -> None:
        """A call succeeded: the rate limit, if there was one, is over."""
        self.replied()
        self.waited_in_vain = False

    def hopeless(self) -> bool:
        """Whether a new call should not even be sent: a call already waited its whole budget for
        this rate limit in vain and the provider's stated end is still ahead (a quota for the hour:
        without this every item of a long run would wait its budget in turn)."""
        return self.waited_in_vain and self.limited_until > time.time()

    def failed(self, error: RetryableError, final: bool) -> None:
        """Count ``error``; raise Unreachable when that opens the circuit."""
        if not isinstance(error, ConnectionFailed | ProviderTimeout):
            self.replied()  # a 429 or a 500 is a reply: the server is there
            return
        self.in_a_row += 1
        never = self.stop_before_first_reply and not self.replied_once
        if never and (final or self.in_a_row >= self.policy.breaker):
            reason = "connection refused" if isinstance(error, ConnectionFailed) else f"{error}"
            self._trip(Unreachable(f"cannot reach {self.where}: {reason}"))
        elif self.in_a_row >= self.policy.breaker:
            self._trip(Unreachable(
                f"stopping: {self.in_a_row} connection failures or timeouts in a row from {self.where} "
                f"(last: {error}); what finished is stored, rerun to resume"
            ))  # fmt: skip
        self.check()

    def refused(self, error: KeyRefused, name: str) -> KeyRefused:
        """A refused key opens the circuit: the other requests would be refused too."""
        self._trip(KeyRefused(f"{name}: {error}"))
        return KeyRefused(str(self._open))


async def retry(
    attempt: Callable[[], Awaitable[T]],
    guard: Guard,
    *,
    name: str,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[], None] | None = None,
    gave_up: str = "{name}: gave up after {attempts} attempts",
) -> T:
    """``attempt()`` until it succeeds, a final error, the retries or the wait are spent.

    ``attempt`` applies ``guard.policy.timeout`` to the backend call itself (not to waiting for a
    rate limiter); a TimeoutError out of it is a ProviderTimeout. ``gave_up`` words the error
    raised when the retries are spent (``{name}``, ``{attempts}``).
    """
    policy = guard.policy
    attempts = policy.max_retries + 1
    waited = 0.0
    error: RetryableError | None = None
    held = False  # this call's own retry-after was just waited out: no second pause for it
    for number in range(1, attempts + 1):
        guard.check()
        if guard.hopeless():
            until = clock_time(guard.limited_until)
            again = "" if number == 1 else " again"
            raise GaveUp(f"{name}: rate limited by the provider until {until}; not sent{again} (another request "
                         f"waited {policy.max_wait:g} s in vain; rerun after {until})",
                         error or RateLimited(f"rate limited by the provider until {until}"))  # fmt: skip
        pause = 0.0 if held else guard.pause()
        if pause > 0:
            if waited + pause > policy.max_wait:
                raise _waited_too_long(name, guard, waited, error)
            waited += pause
            await sleep(pause)
            guard.check()
        try:
            result = await guard.unless_open(attempt())
        except TimeoutError:
            error = ProviderTimeout(f"no reply within {policy.timeout:g} s")
        except RetryableError as exc:
            error = exc
        except ProviderDown as exc:
            if isinstance(exc, KeyRefused) and not guard.is_open:
                raise guard.refused(exc, name) from None
            raise  # the circuit opened meanwhile, or a backend behind this one is down (llm translator)
        except ProviderError:
            guard.replied()  # a final error is a reply too
            raise
        else:
            guard.succeeded()
            return result
        guard.failed(error, final=number == attempts)
        if number == attempts:
            break
        held = isinstance(error, RateLimited) and error.retry_after is not None
        if held:
            guard.hold(error.retry_after or 0.0)  # every other call waits it out too
        delay = policy.delay(number - 1, error.retry_after)
        if waited + delay > policy.max_wait:
            raise _waited_too_long(name, guard, waited, error)
        if on_retry is not None:
            on_retry()
        waited += delay
        await sleep(delay)
    assert error is not None
    raise GaveUp(f"{gave_up.format(name=name, attempts=attempts)}: {error}", error)


def _waited_too_long(name: str, guard: Guard, waited: float, error: RetryableError | None) -> GaveUp:
    limit = f"at most {guard.policy.max_wait:g} s per item"
    if error is None or isinstance(error, RateLimited):
        guard.waited_in_vain = True
        until = f" until {clock_time(guard.limited_until)}" if guard.limited_until > time.time() else ""
        last = error or RateLimited(f"rate limited by the provider{until}")
        waiting = f"gave up after waiting {_seconds(waited)} ({limit})"
        return GaveUp(f"{name}: rate limited by the provider{until}; {waiting}", last)
    return GaveUp(f"{name}: gave up after waiting {_seconds(waited)} ({limit}): {error}", error)


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.2g} s"
