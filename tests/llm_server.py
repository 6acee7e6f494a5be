"""A loopback server speaking the Anthropic Messages API and the OpenAI Chat Completions API.

Enough of both for the real ``anthropic`` and ``openai`` SDKs, with request counting, latency
and fault injection, so provider and client code is tested through the SDKs and no test ever
reaches the internet. Usage::

    from tests.llm_server import serve

    with serve(latency=0.2, responder=lambda call: '["a", "b"]') as server:
        anthropic.AsyncAnthropic(api_key="test", base_url=server.base_url)     # POST /v1/messages
        openai.AsyncOpenAI(api_key="test", base_url=server.openai_base_url)    # POST /v1/chat/completions
        server.fail("429", times=2, retry_after=1)    # the next two requests get 429 + retry-after: 1
        server.fail("500", times=99, match="item 3")  # every request whose prompt contains "item 3"
        ...
        server.requests   # API requests received (faulted ones included); server.served: answered 200
        server.max_in_flight  # the most requests it held at once (to check a concurrency bound)
        server.calls      # list[Call]: api, model, system, prompt, max_tokens, headers, body, received

``responder(call) -> str`` writes the reply text (default: ``"echo: " + prompt``); it runs on
the server's thread. Tokens are whitespace-separated words: input = words of system + prompt,
output = words of the reply; a reply longer than ``max_tokens`` words is cut there and reported
as truncated (``max_tokens`` / ``length``), as a real API does.

Fault kinds: ``429`` (with ``retry-after``), ``529`` (overloaded), ``500``, ``503``, ``400``,
``401`` (its message echoes the key it was sent, to prove callers mask it), ``403``, ``slow`` (waits
``delay`` seconds before a normal reply), ``hang`` (never replies; the connection stays open
until the client gives up or the server stops), ``not_json`` (200 with a body that is not JSON),
``truncated`` (200 whose body stops halfway, then the connection closes), ``disconnect``
(the connection closes with no reply). Faults are consumed in the order they were added.

Run standalone (e.g. for a benchmark in another process):
``python -m tests.llm_server --port 8999 --latency 0.2``; it prints its base URL, and
``GET /_stats`` returns ``{"requests", "served", "max_in_flight"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Responder = Callable[["Call"], str]

FAULT_KINDS = ("429", "529", "500", "503", "400", "401", "403", "slow", "hang", "not_json", "truncated", "disconnect")
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable", 529: "Overloaded"}


@dataclass
class Call:
    """One API request as the server saw it."""

    api: str  # "anthropic" or "openai"
    model: str
    system: str
    prompt: str  # the last user message
    max_tokens: int
    headers: dict[str, str]
    body: dict[str, Any]
    received: float = field(default_factory=time.monotonic)  # when it arrived, before any latency


@dataclass
class Fault:
    """An injected failure for the next ``times`` requests (whose prompt contains ``match``)."""

    kind: str
    times: int = 1
    match: str | None = None
    retry_after: float | None = None
    delay: float = 5.0


def default_responder(call: Call) -> str:
    return f"echo: {call.prompt}"


@dataclass
class LLMServer:
    """Handle on a running server; see the module docstring."""

    host: str
    port: int
    latency: float = 0.0
    responder: Responder = default_responder
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    requests: int = 0
    served: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def base_url(self) -> str:
        """For ``anthropic`` (it appends ``/v1/messages``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For ``openai`` (it appends ``/chat/completions``)."""
        return f"http://{self.host}:{self.port}/v1"

    def fail(
        self, kind: str, times: int = 1, match: str | None = None, retry_after: float | None = None, delay: float = 5.0
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        fault = Fault(kind, times, match, retry_after, delay)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        """Forget calls, counts and pending faults."""
        with self._lock:
            self.calls.clear()
            self.faults.clear()
            self.requests = self.served = self.max_in_flight = 0

    def _take_fault(self, prompt: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.match is None or fault.match in prompt):
                    fault.times -= 1
                    return fault
        return None

    # ---- HTTP -----------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._respond(method, path.split("?", 1)[0], headers, body, writer):
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _respond(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection must close."""
        if method == "GET" and path == "/_stats":  # counts for a server running in another process
            await _send(writer, 200, {"requests": self.requests, "served": self.served,
                                      "max_in_flight": self.max_in_flight})
            return True
        if method == "GET" and path.rstrip("/") == "/v1/models":
            await _send(writer, 200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
            return True
        api = {"/v1/messages": "anthropic", "/v1/chat/completions": "openai"}.get(path.rstrip("/"))
        if method != "POST" or api is None:
            await _send(writer, 404, {"error": {"type": "not_found_error", "message": f"no route {method} {path}"}})
            return True
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            await _send(writer, 400, _error(api, "invalid_request_error", "body is not JSON"))
            return True
        call = _parse_call(api, headers, body)
        with self._lock:
            self.requests += 1
            self.calls.append(call)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fault = self._take_fault(call.prompt)
            if self.latency:
                await asyncio.sleep(self.latency)
            if fault is not None:
                return await self._inject(fault, api, call, writer)
            await self._answer(api, call, writer)
            return True
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _answer(self, api: str, call: Call, writer: asyncio.StreamWriter) -> None:
        try:
            text = self.responder(call)
        except Exception as exc:  # a responder bug shows up as a 500 the test can see
            await _send(writer, 500, _error(api, "api_error", f"responder failed: {exc!r}"))
            return
        words = text.split()
        truncated = len(words) > call.max_tokens
        if truncated:
            text = " ".join(words[: call.max_tokens])
        input_tokens = len(f"{call.system} {call.prompt}".split())
        output_tokens = min(len(words), call.max_tokens)
        with self._lock:
            self.served += 1
        if api == "anthropic":
            payload: dict[str, Any] = {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": call.model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "max_tokens" if truncated else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            }
        else:
            payload = {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": call.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "length" if truncated else "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": input_tokens,
                    "completion_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                },
            }
        await _send(writer, 200, payload)

    async def _inject(self, fault: Fault, api: str, call: Call, writer: asyncio.StreamWriter) -> bool:
        kind = fault.kind
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            await self._answer(api, call, writer)
            return True
        if kind == "hang":
            await asyncio.Event().wait()  # until the client hangs up (or the server stops: cancelled)
        if kind == "disconnect":
            return False
        if kind == "not_json":
            await _send_raw(writer, 200, b"<html>upstream proxy error</html>", {})
            return True
        if kind == "truncated":
            full = json.dumps({"id": "x", "type": "message", "content": [{"type": "text", "text": "cut"}]}).encode()
            head = _head(200, len(full), {})
            writer.write(head + full[: len(full) // 2])
            await writer.drain()
            return False
        status = int(kind)
        extra = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
        error_type = {
            "429": "rate_limit_error",
            "529": "overloaded_error",
            "400": "invalid_request_error",
            "401": "authentication_error",
            "403": "permission_error",
        }.get(kind, "api_error")
        message = f"injected {kind}"
        if kind == "401":
            sent = call.headers.get("x-api-key") or call.headers.get("authorization", "").removeprefix("Bearer ")
            message = f"invalid x-api-key: {sent}"
        await _send(writer, status, _error(api, error_type, message), extra)
        return True


def _parse_call(api: str, headers: dict[str, str], body: dict[str, Any]) -> Call:
    messages = body.get("messages") or []
    system = body.get("system", "") if api == "anthropic" else ""
    if isinstance(system, list):
        system = " ".join(block.get("text", "") for block in system)
    prompt = ""
    for message in messages:
        content = message.get("content", "")
        if isinstance(content, list):
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        if message.get("role") == "system":
            system = content
        elif message.get("role") == "user":
            prompt = content
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 4096
    return Call(api, str(body.get("model", "")), str(system), str(prompt), int(max_tokens), headers, body)


def _error(api: str, error_type: str, message: str) -> dict[str, Any]:
    if api == "anthropic":
        return {"type": "error", "error": {"type": error_type, "message": message}}
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


def _head(status: int, length: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", "content-type: application/json",
             f"content-length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send_raw(writer: asyncio.StreamWriter, status: int, body: bytes, headers: dict[str, str]) -> None:
    writer.write(_head(status, len(body), headers) + body)
    await writer.drain()


async def _send(
    writer: asyncio.StreamWriter, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    await _send_raw(writer, status, json.dumps(payload).encode("utf-8"), headers or {})


@contextlib.contextmanager
def serve(
    latency: float = 0.0, responder: Responder | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[LLMServer]:
    """Run the server on its own thread and event loop for the ``with`` block (port 0: any free port)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    thread = threading.Thread(target=_run_loop, args=(loop, ready), name="llm-server", daemon=True)
    thread.start()
    ready.wait()
    server = LLMServer(host, port, latency, responder or default_responder)
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await server._handle(reader, writer)
        except asyncio.CancelledError:
            pass  # the server stops (a hung request's handler): asyncio would log a cancelled handler
        finally:
            handlers.discard(task)

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handle, host, port, limit=1 << 22)

    listener = asyncio.run_coroutine_threadsafe(start(), loop).result()
    server.port = listener.sockets[0].getsockname()[1]

    async def stop() -> None:
        listener.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await listener.wait_closed()

    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="Loopback Anthropic/OpenAI-compatible test server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    with serve(args.latency, host=args.host, port=args.port) as server:
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
