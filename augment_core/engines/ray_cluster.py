"""Ray for the engine: joined or started for a job (``ray_session``), and the one cluster-wide rate
limit shared by every LLM worker (``start_limiter``, ``ClusterLimiter``).

The limit lives in a small async actor holding an ordinary ``RateLimiter``; each worker's LLM client
asks it before every request, so N actors together keep to the requests (and tokens) per minute
set for the run. Its buckets hold a tenth of a second of allowance instead of a minute: N actors
starting at once would otherwise spend a whole minute's allowance in the first second, and a
provider that meters over shorter windows would refuse it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from augment_core.errors import ConfigError
from augment_core.llm.ratelimit import RateLimiter

PACE_SECONDS = 0.1  # the allowance the shared buckets hold (see the module docstring)
LATE_SECONDS = 0.2  # a grant used later than this after its time is dropped (ClusterLimiter.acquire)
# A request's way from the worker to where the provider counts it varies too: 10,000 requests paced
# with PACE + LATE alone put 1,003 in the busiest 10 s at the (loopback) server for a limit of 1,000.
TRANSIT_SECONDS = 0.2
# The window a limit must hold in (as a provider meters it, and benchmarks/bench_ray_llm.py checks).
# A bucket's allowance, a grant's lateness and the transit can put PACE + LATE + TRANSIT seconds'
# worth of requests more in one window, so the shared limit paces that much below the limit.
WINDOW_SECONDS = 10.0
HEADROOM = WINDOW_SECONDS / (WINDOW_SECONDS + PACE_SECONDS + LATE_SECONDS + TRANSIT_SECONDS)
LOCAL_OBJECT_STORE = 512 * 2**20  # a Ray started here: the machine is shared with the studio


def import_ray() -> Any:
    """The ``ray`` module, or a ConfigError saying what to install."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"the Ray engine needs Ray Data: pip install 'ray[data]==2.60.0' ({exc})") from None
    return ray


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray for the block: the one this process is connected to already, else ``address`` joined
    (``auto`` or ``host:port``, ``ray://host:10001``), else a Ray started on this machine. Only a
    Ray started or joined here is shut down at the end."""
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING"}
        if address is None:  # "local": a new Ray, never one a stale /tmp/ray file points at
            options |= {"num_cpus": os.cpu_count() or 1, "object_store_memory": LOCAL_OBJECT_STORE}
        try:
            ray.init(address=address or "local", **options)
        except ConnectionError as exc:
            raise ConfigError(f"--ray-address {address}: cannot join the Ray cluster ({exc})") from None
        started = True
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def worker_url(url: str) -> str:
    """The store URL as a worker must open it: a relative SQLite path made absolute (a Ray worker
    does not start in the driver's folder)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(hide_password=False)
    return url


def open_worker_store(url: str) -> Any:
    """The store a worker reads from (and keeps the LLM cache in). A SQLite file must be on the
    worker's machine: a missing one would be created empty, so it is refused instead."""
    from augment_core.store import Store

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        raise ConfigError(
            f"store {parsed.database} is not on this Ray node; a cluster of several machines needs a "
            "store every node reaches (--db postgresql://...)"
        )
    return Store(url)


class _SharedLimit:
    """The limiter actor's body: one ``RateLimiter`` that hands out waits, one call at a time (a
    plain actor runs its calls in order, so the buckets need no lock)."""

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        paced = [None if limit is None else max(1, int(limit * HEADROOM)) for limit in (rpm, tpm)]
        self.limiter = RateLimiter(paced[0], paced[1], burst=PACE_SECONDS)

    def reserve(self, tokens: int) -> tuple[float, int]:
        """(when the caller may send, as wall-clock time, tokens taken): a time, not a wait, so a
        reply that reaches the caller late does not push its request later still, nor bunch it
        with others that waited for their replies too."""
        wait, taken = self.limiter.reserve(tokens)
        return time.time() + wait, taken

    def refund(self, tokens: int) -> None:
        self.limiter.refund(tokens)

    def ping(self) -> bool:
        return True


def start_limiter(rpm: int | None, tpm: int | None) -> Any:
    """The cluster-wide limiter actor for ``rpm``/``tpm`` (None when neither is set)."""
    if not rpm and not tpm:
        return None
    ray = import_ray()
    return ray.remote(num_cpus=0, max_restarts=-1)(_SharedLimit).remote(rpm, tpm)


class ClusterLimiter(RateLimiter):
    """A worker's side of the shared limit: ``acquire`` and ``refund`` go to the limiter actor."""

    def __init__(self, actor: Any) -> None:
        """Call it where the worker starts: the first call to an actor from a process takes a second
        or so (finding it), and grants that arrive late would be spent all at once."""
        super().__init__()
        self.actor = actor
        import_ray().get(actor.ping.remote())

    @property
    def active(self) -> bool:
        return True

    async def acquire(self, tokens: int = 0) -> int:
        while True:
            send_at, taken = await self.actor.reserve.remote(tokens)
            wait = send_at - time.time()  # the nodes' clocks are kept in step (NTP), as Ray's own are
            if wait > 0:
                await asyncio.sleep(wait)
            if time.time() - send_at <= LATE_SECONDS:
                return int(taken)
            # A grant used this late (the worker's loop was busy) would go out with the next ones:
            # it is dropped, its tokens handed back, and a fresh one is asked for.
            self.refund(int(taken))

    def refund(self, tokens: int) -> None:
        if tokens > 0:
            self.actor.refund.remote(tokens)  # fire and forget: nothing waits for a refund
