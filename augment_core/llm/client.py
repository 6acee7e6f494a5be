"""The client every augmenter talks to: cache, concurrency, rate limits, retries, cost.

``complete`` looks the request up in the store's response cache first (a rerun or a resumed run
pays for nothing twice), then waits for a concurrency slot and the rate limiter, calls the
provider under a timeout, and retries what is retryable (429, 529, 5xx, timeouts, dropped
connections) under the shared policy of ``augment_core.retry``: backoff and jitter, the
server's ``retry-after`` capped and held for every request, a bounded wait per request, and a
circuit breaker (a dead server or a refused key stops the run at once). ``complete_json``
adds parsing with one repair round. Only usable replies are cached: an empty reply never is,
and a caller that checks the reply (``complete_json``, the augmenters) passes ``cache=False`` and
calls ``remember`` once the check passed, so rerunning a failure asks the model again instead of
replaying the same bad reply. A reply cut by ``max_tokens`` is cached when it passed its check:
it was good enough to keep, and asking again with the same limit would cut it again.
Each returned completion carries its cost in ``extra["cost_usd"]``; ``usage`` keeps the running
totals, overall and per label. ``guard.listen`` tells a caller about long waits (the progress).

Cancelling the task that awaits a call stops it where it is: nothing runs in the background.
Use it as ``async with LLMClient(...) as client:`` (or call ``aclose``) inside each event loop:
network connections belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from augment_core.errors import AugmentError, ParseError, ProviderError
from augment_core.hashing import digest
from augment_core.llm.base import Completion, Provider, Request
from augment_core.llm.jsonparse import extract_json, repair_prompt
from augment_core.llm.pricing import find_price, load_prices
from augment_core.llm.ratelimit import RateLimiter
from augment_core.llm.usage import Estimate, Usage, estimate_tokens
from augment_core.retry import Guard, RetryPolicy, Sleep, policy_from_settings, retry
from augment_core.settings import MAX_REPLY_CHARS_KEY, setting

T = TypeVar("T")
CACHE_VERSION = "v1"

if TYPE_CHECKING:  # only for annotations: importing the store package here would load SQLAlchemy
    from augment_core.settings import SettingSource
    from augment_core.store import ResponseCache

    class ClientStore(ResponseCache, SettingSource, Protocol):
        """What the client needs of the store: its response cache and its settings (a Store is one)."""


class ReplyParseError(ParseError):
    """A reply that still has the wrong shape after the repair round; carries what it cost."""

    def __init__(self, message: str, completion: Completion) -> None:
        super().__init__(message)
        self.completion = completion


def store_is_local(store: ResponseCache | None) -> bool:
    """Whether ``store`` is a local SQLite file (its calls are cheap enough to make in the loop)."""
    return store is None or store.is_local


async def in_store(local: bool, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` (a store call) from async code: inline for a local store, else in a thread.

    A local SQLite read or write takes ~0.1 ms: a thread hop costs more than it saves. A database
    across the network would stall every request in flight, so it gets a thread.
    """
    if local:
        return function(*args)
    return await asyncio.to_thread(function, *args)


def cache_key(provider: Provider, request: Request) -> str:
    """Hash of (provider, model, system, prompt, parameters, sample index)."""
    payload = {
        "v": CACHE_VERSION,
        "provider": provider.name,
        "model": provider.model,
        "system": request.system,
        "prompt": request.prompt,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "json_schema": request.json_schema,
        "sample_index": request.sample_index,
    }
    # This serialisation, not content_key's: stored caches are found by these exact keys.
    return digest(json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


class LLMClient:
    """Concurrency, rate limits, retries, cache and cost around one provider."""

    def __init__(
        self,
        provider: Provider,
        store: ClientStore | None = None,
        *,
        concurrency: int = 8,
        rpm: int | None = None,
        tpm: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        backoff: float | None = None,
        policy: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        """``timeout`` (seconds per request) and ``max_retries`` default to the settings
        ``llm.timeout`` / ``llm.max_retries``, else to ``policy`` (default: retry.LLM_POLICY);
        ``backoff`` is the first retry delay in seconds (doubling each time); ``sleep`` is a test seam;
        ``limiter`` replaces the one ``rpm``/``tpm`` would make (the Ray engine's cluster-wide one)."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.provider = provider
        self.store = store
        self._store_is_local = store_is_local(store)
        self.concurrency = min(concurrency, provider.max_concurrency or concurrency)
        chosen = policy or policy_from_settings(store)
        self.policy = chosen.but(timeout=timeout, max_retries=None if max_retries is None else max(0, max_retries),
                                 backoff=backoff)  # fmt: skip
        # Shared by every request: a 429's retry-after holds them all; the breaker stops them all.
        self.guard = Guard(getattr(provider, "base_url", None) or provider.name, self.policy)
        self.usage = Usage()
        self.prices = load_prices(store)
        self.max_reply_chars = int(setting(store, MAX_REPLY_CHARS_KEY))
        self._sleep = sleep or asyncio.sleep
        self.limiter = limiter or RateLimiter(rpm, tpm, sleep=self._sleep)
        self._semaphore: asyncio.Semaphore | None = None
        self._semaphore_loop: asyncio.AbstractEventLoop | None = None

    # ---- money ----------------------------------------------------------------------------

    def cost(self, input_tokens: int, output_tokens: int) -> tuple[float, bool]:
        """(USD, priced) for tokens on this client's model."""
        price = find_price(self.prices, self.provider.name, self.provider.model)
        if price is None:
            return 0.0, False
        return price.cost(input_tokens, output_tokens), True

    def estimate(self, requests: int, input_tokens: int, output_tokens: int) -> Estimate:
        """Cost of a run before it starts; tokens are totals over all ``requests``.

        For output, pass what you expect the model to write (``max_tokens`` is an upper bound).
        Leave out requests that ``is_cached`` says are already paid for.
        """
        cost, priced = self.cost(input_tokens, output_tokens)
        return Estimate(
            provider=self.provider.name,
            model=self.provider.model,
            requests=requests,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            priced=priced,
        )

    def is_cached(self, request: Request) -> bool:
        """Whether ``request`` would be answered from the cache (free)."""
        return self.cached(request) is not None

    def cached(self, request: Request) -> Completion | None:
        """The cached reply to ``request``, without counting it (for estimates), or None."""
        hit = self.store.cache_get(cache_key(self.provider, request)) if self.store is not None else None
        return None if hit is None else _from_cache(hit)

    # ---- calls ----------------------------------------------------------------------------

    async def complete(self, request: Request, *, label: str = "", cache: bool = True) -> Completion:
        """One completion: from the cache, else from the provider with limits and retries.

        Raises ProviderError once retries are spent or on a final error (bad request, bad key);
        ``label`` (an augmenter name) files the usage under ``usage.by_label[label]``. With
        ``cache=False`` a fresh reply is not stored: call ``remember`` once it proved usable.
        """
        key = cache_key(self.provider, request)
        if self.store is not None:
            hit = await self._in_store(self.store.cache_get, key)
            if hit is not None:
                for tally in self._tallies(label):
                    tally.cached += 1
                return _from_cache(hit)
        async with self._loop_semaphore():
            completion = await self._call_with_retries(request, label)
        cost, priced = self.cost(completion.input_tokens, completion.output_tokens)
        completion = dataclasses.replace(completion, extra={**completion.extra, "cost_usd": cost, "priced": priced})
        for tally in self._tallies(label):
            tally.calls += 1
            tally.input_tokens += completion.input_tokens
            tally.output_tokens += completion.output_tokens
            tally.cost_usd += cost
        if len(completion.text) > self.max_reply_chars:  # paid for, but neither kept nor cached
            raise ProviderError(
                f"{self.provider.name}: a reply of {len(completion.text):,} characters, over the limit of "
                f"{self.max_reply_chars:,} (llm.max_reply_chars); the server ignored max_tokens={request.max_tokens}"
            )
        if cache:
            await self.remember(request, completion)
        return completion

    async def remember(self, request: Request, completion: Completion) -> None:
        """Cache ``completion`` as the reply to ``request``, unless it is empty or already from the cache."""
        if self.store is None or completion.cached or not completion.text.strip():
            return
        row = _to_cache(completion)
        await self._in_store(self.store.cache_put, cache_key(self.provider, request), self.provider.name,
                             completion.model, row)  # fmt: skip

    async def complete_json(
        self,
        request: Request,
        expect: type = list,
        *,
        label: str = "",
        check: Callable[[Any], T] | None = None,
    ) -> tuple[Any, Completion]:
        """Parse a JSON array (expect=list) or object (expect=dict) out of the reply (code fences,
        prose around it); one repair retry with the parse error; raises errors.ParseError.

        ``check`` turns the parsed value into the result or raises ParseError (a failed check gets
        the repair round too). The returned completion sums tokens and cost of both calls when a
        repair was needed; the ParseError raised after a failed repair is a ``ReplyParseError``
        carrying that sum too. Replies are cached only when they led to a usable value.
        """
        first = await self.complete(request, label=label, cache=False)
        try:
            value = _parsed(first.text, expect, request.json_schema, check)
        except ParseError as exc:
            problem = str(exc)
        else:
            await self.remember(request, first)
            return value, first
        repair = dataclasses.replace(request, prompt=repair_prompt(request.prompt, first.text, problem, expect))
        second = await self.complete(repair, label=label, cache=False)
        both = _combine(first, second, problem)
        try:
            value = _parsed(second.text, expect, request.json_schema, check)
        except ParseError as exc:
            raise ReplyParseError(f"reply unusable after one repair: {exc} (first reply: {problem})", both) from None
        # Both replies, so a rerun replays the bad first reply and its repair without a request.
        await self.remember(request, first)
        await self.remember(repair, second)
        return value, both

    async def aclose(self) -> None:
        """Close the provider's connections; call it before the event loop ends."""
        await self.provider.aclose()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- internals ------------------------------------------------------------------------

    async def _call_with_retries(self, request: Request, label: str) -> Completion:
        budget = estimate_tokens(request.system) + estimate_tokens(request.prompt) + request.max_tokens

        async def attempt() -> Completion:
            taken = await self.limiter.acquire(budget)
            try:
                async with asyncio.timeout(self.policy.timeout):
                    completion = await self.provider.complete(request)
            except (AugmentError, TimeoutError):
                self.limiter.refund(taken)
                raise
            except Exception as exc:  # an SDK surprise must fail this item, not the batch
                self.limiter.refund(taken)
                detail = self.provider.scrub(f"{type(exc).__name__}: {exc}")
                raise ProviderError(f"{self.provider.name}: unexpected error: {detail}") from None
            self.limiter.refund(taken - completion.input_tokens - completion.output_tokens)
            return completion

        def count_retry() -> None:
            for tally in self._tallies(label):
                tally.retries += 1

        try:
            return await retry(attempt, self.guard, name=self.provider.name, sleep=self._sleep, on_retry=count_retry)
        except AugmentError:
            self._count_failure(label)
            raise

    async def _in_store(self, function: Callable[..., T], *args: Any) -> T:
        return await in_store(self._store_is_local, function, *args)

    def _tallies(self, label: str) -> list[Usage]:
        return [self.usage, self.usage.by_label.setdefault(label, Usage())] if label else [self.usage]

    def _count_failure(self, label: str) -> None:
        for tally in self._tallies(label):
            tally.failed += 1

    def _loop_semaphore(self) -> asyncio.Semaphore:
        # A client may outlive an event loop (Streamlit reruns); primitives bind to one loop.
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore_loop is not loop:
            self._semaphore, self._semaphore_loop = asyncio.Semaphore(self.concurrency), loop
        return self._semaphore


def _parsed(text: str, expect: type, schema: dict[str, Any] | None, check: Callable[[Any], Any] | None) -> Any:
    value = extract_json(text, expect, schema)
    return value if check is None else check(value)


def _to_cache(completion: Completion) -> dict[str, Any]:
    return {
        "text": completion.text,
        "input_tokens": completion.input_tokens,
        "output_tokens": completion.output_tokens,
        "model": completion.model,
        "finish_reason": completion.finish_reason,
        "cost_usd": completion.extra.get("cost_usd", 0.0),
        "priced": completion.extra.get("priced", False),
    }


def _from_cache(hit: dict[str, Any]) -> Completion:
    return Completion(
        text=str(hit["text"]),
        input_tokens=int(hit["input_tokens"]),
        output_tokens=int(hit["output_tokens"]),
        model=str(hit["model"]),
        finish_reason=str(hit.get("finish_reason", "stop")),
        cached=True,
        # The cost paid when the reply was first fetched: what the candidate is worth, not spent now.
        extra={"cost_usd": float(hit.get("cost_usd", 0.0)), "priced": bool(hit.get("priced", False))},
    )


def _combine(first: Completion, second: Completion, problem: str) -> Completion:
    return Completion(
        text=second.text,
        input_tokens=first.input_tokens + second.input_tokens,
        output_tokens=first.output_tokens + second.output_tokens,
        model=second.model,
        finish_reason=second.finish_reason,
        cached=first.cached and second.cached,
        extra={
            "cost_usd": float(first.extra.get("cost_usd", 0.0)) + float(second.extra.get("cost_usd", 0.0)),
            "priced": bool(first.extra.get("priced")) and bool(second.extra.get("priced")),
            "repaired": True,
            "first_error": problem,
        },
    )
