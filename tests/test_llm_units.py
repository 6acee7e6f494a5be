"""The LLM layer's pure parts: JSON extraction, prices, the rate limiter, provider choice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from augment_core.errors import ConfigError, ParseError
from augment_core.llm import (
    AnthropicProvider,
    LocalProvider,
    OpenAIProvider,
    Request,
    available_providers,
    make_provider,
)
from augment_core.llm.base import RetryableError, redact, retry_after_seconds, status_error
from augment_core.llm.client import cache_key
from augment_core.llm.jsonparse import extract_json, repair_prompt
from augment_core.llm.pricing import find_price, load_prices, set_price
from augment_core.llm.ratelimit import RateLimiter
from augment_core.store import Store

# ---- JSON extraction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '["a", "b"]',
        '```json\n["a", "b"]\n```',
        'Sure! Here are the variants:\n```\n["a", "b"]\n```\nLet me know if you need more.',
        'Here you go: ["a", "b"] -- enjoy',
        'Note [1]: see below.\n["a", "b"]',  # a bracket in prose before the real array
    ],
)
def test_extract_array_from_prose_and_fences(text: str) -> None:
    assert extract_json(text, list) == ["a", "b"]


def test_raw_newlines_inside_strings_are_accepted() -> None:
    assert extract_json('["line one\nline two", "b"]', list) == ["line one\nline two", "b"]


def test_extract_object_and_wrong_kind() -> None:
    assert extract_json('The answer: {"text": "hi", "n": 2} done.', dict) == {"text": "hi", "n": 2}
    assert extract_json('{"variants": ["a", "b"]}', list) == ["a", "b"]  # an array wrapped in an object
    with pytest.raises(ParseError, match="expected a JSON object, found list"):
        extract_json('["a"]', dict)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty reply"),
        ("I cannot help with that.", "no JSON array"),
        ('["a", "b", "c', "cut off"),
        ("[1, 2,, 3]", "invalid JSON"),
    ],
)
def test_extract_failures_say_why(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        extract_json(text, list)


def test_extract_checks_the_schema() -> None:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 2}
    assert extract_json('["x", "y"]', list, schema) == ["x", "y"]
    with pytest.raises(ParseError, match="does not match the schema at 1"):
        extract_json('["x", 3]', list, schema)


def test_repair_prompt_carries_reply_and_error() -> None:
    prompt = repair_prompt("Give three variants.", "Sure, here:", "no JSON array in the reply", list)
    assert "Give three variants." in prompt and "Sure, here:" in prompt
    assert "no JSON array in the reply" in prompt and "only the JSON array" in prompt


# ---- prices -------------------------------------------------------------------------------


def test_prices_match_names_prefixes_and_provider_wildcards() -> None:
    prices = load_prices()
    assert find_price(prices, "anthropic", "claude-sonnet-4-5") == find_price(
        prices, "anthropic", "claude-sonnet-4-5-20250929"
    )
    mini = find_price(prices, "openai", "gpt-4o-mini-2024-07-18")
    assert mini is not None and mini.input == 0.15  # the longer prefix wins over gpt-4o
    local = find_price(prices, "local", "SmolLM2-135M-Instruct")
    assert local is not None and local.cost(10**6, 10**6) == 0
    assert find_price(prices, "openai", "some-vllm-model") is None
    newer = find_price(prices, "anthropic", "claude-sonnet-5-5")  # the family fallback
    assert newer is not None and (newer.input, newer.output) == (3.0, 15.0)


def test_price_table_is_a_setting(store: Store) -> None:
    set_price(store, "my-vllm-model", 0.5, 1.5)
    price = find_price(load_prices(store), "openai", "my-vllm-model")
    assert price is not None and price.cost(1_000_000, 2_000_000) == pytest.approx(3.5)
    store.set_setting("llm.prices", {"bad": {"input": "cheap"}})
    with pytest.raises(ConfigError, match="setting llm.prices = .*: price of 'bad'"):
        load_prices(store)


# ---- rate limiter (fake clock: no real waiting, no timing assertions) --------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_rpm_allows_a_minute_burst_then_spaces_requests() -> None:
    fake = FakeTime()
    limiter = RateLimiter(rpm=2, sleep=fake.sleep, clock=fake.clock)

    async def run() -> None:
        for _ in range(3):
            await limiter.acquire()

    asyncio.run(run())
    assert sum(fake.slept) == pytest.approx(30.0)  # 2 per minute: the third waits half a minute


def test_tpm_waits_for_tokens_and_refunds_the_unused_part() -> None:
    fake = FakeTime()
    limiter = RateLimiter(tpm=600, sleep=fake.sleep, clock=fake.clock)  # 10 tokens a second

    async def run() -> None:
        assert await limiter.acquire(600) == 600
        limiter.refund(100)  # the call used 500
        await limiter.acquire(100)  # fits in the refund: no wait
        assert fake.slept == []
        await limiter.acquire(50)
        assert await limiter.acquire(10_000) == 600  # capped at a minute's allowance, not forever

    asyncio.run(run())
    assert sum(fake.slept) == pytest.approx(5.0 + 60.0)


def test_rate_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rpm must be a positive number"):
        RateLimiter(rpm=0)


# ---- errors, keys, provider choice --------------------------------------------------------


def test_status_errors_split_into_retryable_and_final() -> None:
    error = status_error(429, "slow down", {"retry-after": "7"}, None)
    assert isinstance(error, RetryableError) and error.retry_after == 7 and error.status == 429
    assert isinstance(status_error(529, "overloaded", {}, None), RetryableError)
    assert isinstance(status_error(503, "down", {}, None), RetryableError)
    final = status_error(401, "invalid x-api-key: sk-ant-SECRET-123456", {}, "sk-ant-SECRET-123456")
    assert not isinstance(final, RetryableError) and "SECRET" not in str(final)
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "soon"}) is None
    masked = redact("key sk-ant-abcdefgh... was refused", "sk-ant-abcdefghijklmnop")
    assert "sk-ant-abcd" not in masked and masked.startswith("key ***")


def test_make_provider_defaults_to_local_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_MODEL", raising=False)
    assert isinstance(make_provider(), LocalProvider)
    assert isinstance(make_provider(api_key="sk-ant-x"), AnthropicProvider)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env-0123456789")
    provider = make_provider()
    assert isinstance(provider, AnthropicProvider) and provider.model == "claude-sonnet-5-5"
    assert "sk-ant" not in repr(provider)
    assert isinstance(make_provider("openai", "llama", "http://127.0.0.1:1/v1"), OpenAIProvider)
    with pytest.raises(ConfigError, match="unknown LLM provider 'gemini'"):
        make_provider("gemini")
    with pytest.raises(ConfigError, match="takes no base URL"):
        make_provider("local", base_url="http://127.0.0.1:1")


def test_missing_keys_say_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="set ANTHROPIC_API_KEY"):
        AnthropicProvider().load()
    with pytest.raises(ConfigError, match="set OPENAI_API_KEY"):
        OpenAIProvider().load()
    OpenAIProvider(base_url="http://127.0.0.1:1/v1").load()  # a local server needs no key
    with pytest.raises(ConfigError, match="model file not found"):
        LocalProvider("/nonexistent/model.gguf").model_path()
    status = available_providers()
    assert status["anthropic"].startswith("set ANTHROPIC_API_KEY")
    assert status["local"] == ""  # llama-cpp-python and the SmolLM2 GGUF are installed here


def test_cache_key_covers_every_parameter() -> None:
    provider = AnthropicProvider(api_key="k")
    base = Request(prompt="p", system="s")
    keys = {
        cache_key(provider, base),
        cache_key(provider, Request(prompt="p", system="s", sample_index=1)),
        cache_key(provider, Request(prompt="p", system="s", temperature=0.1)),
        cache_key(provider, Request(prompt="p", system="s", max_tokens=9)),
        cache_key(provider, Request(prompt="p", system="s", json_schema={"type": "array"})),
        cache_key(provider, Request(prompt="p", system="other")),
        cache_key(AnthropicProvider("claude-haiku-4-5", api_key="k"), base),
    }
    assert len(keys) == 7
    assert cache_key(provider, base) == cache_key(AnthropicProvider(api_key="another key"), base)


def test_the_local_model_being_built_by_make_run_is_said_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` builds llama-cpp-python in the background and leaves a status file in the venv."""
    import augment_core.llm as llm

    status_file = tmp_path / ".local-model-status"
    monkeypatch.setattr(llm, "LOCAL_MODEL_STATUS", status_file)
    assert llm.local_model_install_state() == ""
    status_file.write_text("installing 4242\n")
    assert llm.local_model_install_state().startswith("being installed in the background by `make run`")
    assert str(tmp_path / "local-model.log") in llm.local_model_install_state()
    status_file.write_text("failed\n")
    assert "install failed" in llm.local_model_install_state() and "make setup" in llm.local_model_install_state()
