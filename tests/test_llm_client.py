"""The client through the real anthropic and openai SDKs against the loopback server.

Retries, timeouts, ordering, concurrency bounds, the response cache, resume after a kill, cost
totals, parsing with repair, per-item failure, cancellation, and keys kept out of everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from augment_core.errors import ParseError, ProviderError
from augment_core.llm import LLMClient, Provider, ReplyParseError, Request, make_provider
from augment_core.store import Store
from tests.llm_server import Call, LLMServer, serve

SECRET = "sk-ant-test-DO-NOT-LEAK-0123456789abcdef"


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with serve() as running:
        yield running


@pytest.fixture(params=["anthropic", "openai"])
def provider_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def provider_for(name: str, server: LLMServer, key: str = SECRET, model: str | None = None) -> Provider:
    url = server.base_url if name == "anthropic" else server.openai_base_url
    return make_provider(name, model=model or ("claude-sonnet-5-5" if name == "anthropic" else "gpt-4o-mini"),
                         base_url=url, api_key=key)


class Sleeps:
    """A sleep that records what the client asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def run(client: LLMClient, coro_factory: Callable[[], Any]) -> Any:
    """One event loop per call, as the CLI and each studio rerun do; connections closed at the end."""

    async def main() -> Any:
        async with client:
            return await coro_factory()

    return asyncio.run(main())


def test_round_trip_through_both_sdks(server: LLMServer, provider_name: str) -> None:
    client = LLMClient(provider_for(provider_name, server))

    completion = run(
        client, lambda: client.complete(Request(prompt="rewrite this please", system="be brief", max_tokens=50))
    )
    assert completion.text == "echo: rewrite this please"
    assert (completion.input_tokens, completion.output_tokens) == (5, 4)
    assert completion.finish_reason == "stop" and not completion.cached
    assert server.calls[0].system == "be brief" and server.calls[0].max_tokens == 50
    assert completion.extra["cost_usd"] > 0 and completion.extra["priced"]


def test_max_tokens_cut_is_reported_as_length(server: LLMServer, provider_name: str) -> None:
    client = LLMClient(provider_for(provider_name, server))
    completion = run(client, lambda: client.complete(Request(prompt="one two three four five six", max_tokens=3)))
    assert completion.finish_reason == "length" and completion.output_tokens == 3


@pytest.mark.parametrize("kind", ["429", "529", "500", "503", "not_json", "truncated", "disconnect"])
def test_transient_faults_are_retried(server: LLMServer, provider_name: str, kind: str) -> None:
    sleeps = Sleeps()
    client = LLMClient(provider_for(provider_name, server), sleep=sleeps)
    server.fail(kind, times=2)
    completion = run(client, lambda: client.complete(Request(prompt="hello")))
    assert completion.text == "echo: hello"
    assert server.requests == 3 and client.usage.retries == 2 and client.usage.calls == 1
    assert len(sleeps.delays) == 2 and sleeps.delays[1] > 0


def test_retry_after_is_honoured(server: LLMServer, provider_name: str) -> None:
    sleeps = Sleeps()
    client = LLMClient(provider_for(provider_name, server), sleep=sleeps, backoff=0.01)
    server.fail("429", retry_after=7)
    run(client, lambda: client.complete(Request(prompt="hello")))
    assert server.requests == 2
    assert 7 <= max(sleeps.delays) < 7.1  # the server's 7 s, not the client's 0.01 s backoff


def test_slow_reply_times_out_and_is_retried(server: LLMServer, provider_name: str) -> None:
    client = LLMClient(provider_for(provider_name, server), timeout=0.3, backoff=0.01)
    server.fail("slow", delay=5)
    completion = run(client, lambda: client.complete(Request(prompt="hello")))
    assert completion.text == "echo: hello" and server.requests == 2 and client.usage.retries == 1


def test_final_errors_are_not_retried_and_retries_end(server: LLMServer, provider_name: str) -> None:
    client = LLMClient(provider_for(provider_name, server), max_retries=2, sleep=Sleeps())
    server.fail("400")
    with pytest.raises(ProviderError, match="HTTP 400: injected 400"):
        run(client, lambda: client.complete(Request(prompt="a")))
    assert server.requests == 1
    server.fail("500", times=10)
    with pytest.raises(ProviderError, match="gave up after 3 attempts: HTTP 500"):
        run(client, lambda: client.complete(Request(prompt="b")))
    assert server.requests == 4 and client.usage.failed == 2


def test_a_failing_item_does_not_stop_the_others_and_order_is_kept(server: LLMServer, provider_name: str) -> None:
    server.latency = 0.02
    client = LLMClient(provider_for(provider_name, server), concurrency=4, max_retries=2, sleep=Sleeps())
    server.fail("500", times=100, match="item 3")
    requests = [Request(prompt=f"item {i}") for i in range(12)]

    async def go() -> list[Any]:
        return await asyncio.gather(*(client.complete(r, label="paraphrase") for r in requests), return_exceptions=True)

    results = run(client, go)
    assert isinstance(results[3], ProviderError)
    assert [r.text for i, r in enumerate(results) if i != 3] == [f"echo: item {i}" for i in range(12) if i != 3]
    assert sum(1 for c in server.calls if c.prompt == "item 3") == 3
    assert client.usage.by_label["paraphrase"].failed == 1 and client.usage.calls == 11
    assert server.max_in_flight <= 4


def test_cache_second_run_makes_no_requests_and_costs_add_up(
    server: LLMServer, provider_name: str, db_url: str
) -> None:
    requests = [Request(prompt=f"say something about topic {i}", system="sys", sample_index=i % 2) for i in range(20)]

    def job() -> tuple[list[Any], LLMClient]:
        store = Store(db_url)
        client = LLMClient(provider_for(provider_name, server), store, concurrency=8)

        async def go() -> list[Any]:
            return await asyncio.gather(*(client.complete(r, label="outputs") for r in requests))

        try:
            return run(client, go), client
        finally:
            store.close()

    first, client1 = job()
    assert server.requests == 20
    input_tokens = sum(len(f"{c.system} {c.prompt}".split()) for c in server.calls)
    output_tokens = sum(c.output_tokens for c in first)
    price_in, price_out = (3.0, 15.0) if provider_name == "anthropic" else (0.15, 0.6)
    expected = (input_tokens * price_in + output_tokens * price_out) / 1e6
    assert client1.usage.input_tokens == input_tokens and client1.usage.output_tokens == output_tokens
    assert client1.usage.cost_usd == pytest.approx(expected)
    assert client1.usage.by_label["outputs"].cost_usd == pytest.approx(expected)
    assert sum(c.extra["cost_usd"] for c in first) == pytest.approx(expected)

    second, client2 = job()
    assert server.requests == 20  # nothing new reached the server
    assert client2.usage.cached == 20 and client2.usage.calls == 0 and client2.usage.cost_usd == 0
    assert [c.text for c in second] == [c.text for c in first]
    assert all(c.cached for c in second)
    assert [c.extra["cost_usd"] for c in second] == pytest.approx([c.extra["cost_usd"] for c in first])


def test_a_killed_run_resumes_without_paying_twice(server: LLMServer, db_url: str) -> None:
    server.latency = 0.05
    requests = [Request(prompt=f"item {i}") for i in range(30)]
    store = Store(db_url)

    async def first_run() -> None:
        client = LLMClient(provider_for("anthropic", server), store, concurrency=3)
        task = asyncio.ensure_future(asyncio.gather(*(client.complete(r) for r in requests)))
        while server.served < 10:
            await asyncio.sleep(0.01)
        task.cancel()  # the user closes the tab / presses Ctrl-C
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.aclose()

    asyncio.run(first_run())
    with store.engine.connect() as conn:
        cached = conn.exec_driver_sql("select count(*) from llm_cache").scalar_one()
    assert 10 <= cached < 30
    before = server.requests
    client = LLMClient(provider_for("anthropic", server), store, concurrency=3)
    results = run(client, lambda: asyncio.gather(*(client.complete(r) for r in requests)))
    assert [r.text for r in results] == [f"echo: item {i}" for i in range(30)]
    assert server.requests - before == 30 - cached and client.usage.cached == cached
    store.close()


def test_cancelling_stops_cleanly(server: LLMServer, provider_name: str) -> None:
    server.latency = 5.0
    client = LLMClient(provider_for(provider_name, server), concurrency=4)

    async def go() -> set[asyncio.Task[Any]]:
        task = asyncio.ensure_future(asyncio.gather(*(client.complete(Request(prompt=f"x{i}")) for i in range(10))))
        while server.requests < 4:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.aclose()
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    leftover = asyncio.run(go())
    assert leftover == set()
    assert server.requests == 4  # the queued six never started
    assert client.usage.calls == 0 and client.usage.failed == 0


def test_complete_json_extracts_and_repairs(server: LLMServer, provider_name: str) -> None:
    def responder(call: Call) -> str:
        if call.prompt.startswith("never"):
            return "I would rather not."
        if "could not be used" in call.prompt:
            return '["fixed one", "fixed two"]'
        if "fenced" in call.prompt:
            return 'Sure! Here they are:\n```json\n["one", "two"]\n```\nAnything else?'
        return "Here are your variants: one, two."

    server.responder = responder
    client = LLMClient(provider_for(provider_name, server))
    value, completion = run(client, lambda: client.complete_json(Request(prompt="fenced please")))
    assert value == ["one", "two"] and server.requests == 1 and "repaired" not in completion.extra

    value, completion = run(client, lambda: client.complete_json(Request(prompt="variants please")))
    assert value == ["fixed one", "fixed two"] and server.requests == 3
    assert completion.extra["repaired"] and "no JSON array" in completion.extra["first_error"]
    assert completion.input_tokens == sum(len(c.prompt.split()) for c in server.calls[1:3])
    assert "Here are your variants" in server.calls[2].prompt

    with pytest.raises(ParseError, match="after one repair") as caught:
        run(client, lambda: client.complete_json(Request(prompt="never")))
    assert isinstance(caught.value, ReplyParseError) and caught.value.completion.output_tokens > 0
    assert server.requests == 5


def test_json_schema_reaches_the_api(server: LLMServer, provider_name: str) -> None:
    server.responder = lambda call: '{"variants": ["a", "b"]}'
    schema = {"type": "object", "properties": {"variants": {"type": "array", "items": {"type": "string"}}}}
    client = LLMClient(provider_for(provider_name, server))
    value, _ = run(client, lambda: client.complete_json(Request(prompt="p", json_schema=schema), expect=dict))
    assert value == {"variants": ["a", "b"]}
    body = server.calls[0].body
    if provider_name == "anthropic":
        assert body["output_config"]["format"] == {"type": "json_schema", "schema": schema}
    else:
        assert body["response_format"]["json_schema"]["schema"] == schema


def test_keys_stay_out_of_errors_and_the_database(
    server: LLMServer, provider_name: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(db_url)
    client = LLMClient(provider_for(provider_name, server), store, sleep=Sleeps())
    for i in range(3):
        run(client, lambda i=i: client.complete(Request(prompt=f"item {i}")))
    sent = server.calls[0].headers.get("x-api-key") or server.calls[0].headers["authorization"]
    assert SECRET in sent  # the key did reach the API
    server.fail("401")  # the server echoes the key it got in its error message
    with pytest.raises(ProviderError) as caught:
        run(client, lambda: client.complete(Request(prompt="refused")))
    assert "401" in str(caught.value) and SECRET not in str(caught.value) and SECRET[:12] not in str(caught.value)
    assert SECRET not in repr(client.provider)
    store.set_setting("llm.prices", {"x": {"input": 1, "output": 1}})
    store.close()
    for path in tmp_path.glob("test.db*"):
        assert SECRET.encode() not in path.read_bytes(), path.name
    # The same from the environment
    monkeypatch.setenv("ANTHROPIC_API_KEY" if provider_name == "anthropic" else "OPENAI_API_KEY", SECRET)
    env_client = LLMClient(provider_for(provider_name, server, key=""), sleep=Sleeps())
    server.fail("401")
    with pytest.raises(ProviderError) as caught:
        run(env_client, lambda: env_client.complete(Request(prompt="refused again")))
    assert SECRET not in str(caught.value)


def test_estimate_before_a_run(server: LLMServer, db_url: str) -> None:
    store = Store(db_url)
    client = LLMClient(provider_for("anthropic", server), store)
    estimate = client.estimate(requests=100, input_tokens=20_000, output_tokens=10_000)
    assert estimate.priced and estimate.cost_usd == pytest.approx((20_000 * 3 + 10_000 * 15) / 1e6)
    unknown = LLMClient(provider_for("openai", server, model="my-local-llama"))
    assert not unknown.estimate(1, 1000, 1000).priced
    request = Request(prompt="hello")
    assert not client.is_cached(request)
    run(client, lambda: client.complete(request))
    assert client.is_cached(request)
    store.close()


class DictStore:
    """Not a Store: the two things the client needs of one (issue 10), a response cache and settings."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.cache: dict[str, dict[str, Any]] = {}

    @property
    def is_local(self) -> bool:
        return True

    def cache_get(self, key: str) -> dict[str, Any] | None:
        return self.cache.get(key)

    def cache_put(self, key: str, provider: str, model: str, response: dict[str, Any]) -> None:
        self.cache[key] = response

    def get_setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


def test_the_client_needs_only_a_cache_and_settings_not_a_store(server: LLMServer) -> None:
    holder = DictStore({"llm.max_retries": 0, "llm.timeout": 7.5})
    client = LLMClient(provider_for("openai", server), holder)
    assert (client.policy.max_retries, client.policy.timeout) == (0, 7.5)

    first = run(client, lambda: client.complete(Request(prompt="cache me", max_tokens=20)))
    again = LLMClient(provider_for("openai", server), holder)
    second = run(again, lambda: again.complete(Request(prompt="cache me", max_tokens=20)))
    assert len(holder.cache) == 1 and not first.cached and second.cached
    assert second.text == first.text and len(server.calls) == 1
