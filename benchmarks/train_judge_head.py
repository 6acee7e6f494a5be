"""Train the judge head (augment_core/judge_head.py) on the calibration pairs, and its held-out cosines.

The head is a copy of the bundled MiniLM's last ``--depth`` layer(s), fine-tuned with a CoSENT loss
(every same-meaning pair of a batch ranked above every changed one, scale 20) on the hidden
states the frozen layers below give; AdamW, seeded, ``--epochs`` over the pairs in batches of 32.

    .venv/bin/python benchmarks/train_judge_head.py --ship   # ~15 min here
        2 heads on halves of the pairs (split per domain, seeded): each scores the other half, so every
        pair has a judge cosine from a head that never saw it (what fit_meaning_model.py fits on);
        then the head on all pairs, written to augment_core/judge_head.safetensors.
    .venv/bin/python benchmarks/train_judge_head.py --lodo   # ~20 min here
        per domain, the same on the other domains only, and the held-out domain scored by a head
        that never saw any of it (what bench_judge_domains.py reports).

Results go to benchmarks/.cache (not in git); the hidden states below the head are cached there too.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np
import torch
from calibration_data import DOMAINS, Pair, calibration_pairs
from judge_common import CACHE, digest_of

from augment_core.embedding_backend import LocalBackend
from augment_core.judge_head import HEAD_PATH, JudgeHead, fresh_head, judge_vectors, save_head

BATCH = 32
SCALE = 20.0  # CoSENT's temperature (Su 2022; sentence-transformers' CoSENTLoss default)
Judged = dict[tuple[str, str], float]  # (original, candidate) -> judge cosine from a head that never saw the pair


def hidden_below(texts: list[str], depth: int, backend: LocalBackend) -> list[torch.Tensor]:
    """Per text, the hidden states the frozen layers hand the head (float16, unpadded)."""
    path = CACHE / f"hidden-{depth}-{digest_of(repr(texts).encode())}.pt"
    if path.exists():
        return list(torch.load(path))
    found: list[torch.Tensor | None] = [None] * len(texts)
    for batch, encoded, out in backend.forward_batches(texts, 128):
        states, lengths = out.hidden_states[-1 - depth], encoded["attention_mask"].sum(dim=1)
        for row, i in enumerate(batch):
            found[i] = states[row, : lengths[row]].to(torch.float16).clone()
    CACHE.mkdir(exist_ok=True)
    torch.save(found, path)
    return [t for t in found if t is not None]


class Trainer:
    def __init__(self, pairs: list[Pair], depth: int, epochs: int, lr: float) -> None:
        backend = LocalBackend.load()
        self.bert = backend.model[0].auto_model
        self.depth, self.epochs, self.lr = depth, epochs, lr
        texts = list(dict.fromkeys(t for p in pairs for t in (p.first, p.second)))
        at = {t: i for i, t in enumerate(texts)}
        self.hidden = hidden_below(texts, depth, backend)
        self.first = np.array([at[p.first] for p in pairs])
        self.second = np.array([at[p.second] for p in pairs])
        self.labels = torch.tensor([p.label for p in pairs], dtype=torch.float32)

    def _vectors(self, head: JudgeHead, ids: np.ndarray) -> torch.Tensor:
        states = [self.hidden[i].float() for i in ids]
        longest = max(s.shape[0] for s in states)
        below = torch.zeros(len(states), longest, states[0].shape[1])
        mask = torch.zeros(len(states), longest)
        for row, s in enumerate(states):
            below[row, : s.shape[0]], mask[row, : s.shape[0]] = s, 1.0
        return judge_vectors(head, below, mask)

    def cosines(self, head: JudgeHead, idx: np.ndarray) -> np.ndarray:
        head.layers.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(idx), 256):
                j = idx[start : start + 256]
                out.append((self._vectors(head, self.first[j]) * self._vectors(head, self.second[j])).sum(dim=1))
        return torch.cat(out).numpy() if out else np.zeros(0)

    def train(self, idx: np.ndarray, seed: int) -> JudgeHead:
        torch.manual_seed(seed)
        head = fresh_head(self.bert, self.depth)
        head.layers.train()
        optimiser = torch.optim.AdamW(head.layers.parameters(), lr=self.lr, weight_decay=0.01)
        started = time.perf_counter()
        for _ in range(self.epochs):
            for batch in torch.randperm(len(idx)).split(BATCH):
                j = idx[batch.numpy()]
                cos = (self._vectors(head, self.first[j]) * self._vectors(head, self.second[j])).sum(dim=1)
                y = self.labels[j]
                # CoSENT: log(1 + sum over (same i, changed k) of exp(SCALE * (cos_k - cos_i)))
                gaps = SCALE * (cos[None, :] - cos[:, None])[y[:, None] > y[None, :]]
                loss = torch.logsumexp(torch.cat([torch.zeros(1), gaps]), dim=0)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        head.layers.eval()
        print(f"  trained on {len(idx):,} pairs in {time.perf_counter() - started:.0f} s", flush=True)
        return head


def halves(pairs: list[Pair], idx: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``idx`` split in two, each domain and label halved alike (seeded)."""
    rng = np.random.default_rng(seed)
    first: list[int] = []
    for group in sorted({(pairs[i].domain, pairs[i].label) for i in idx}):
        members = np.array([i for i in idx if (pairs[i].domain, pairs[i].label) == group])
        rng.shuffle(members)
        first.extend(members[: len(members) // 2].tolist())
    chosen = np.isin(idx, first)
    return idx[chosen], idx[~chosen]


def cross_fitted(trainer: Trainer, pairs: list[Pair], idx: np.ndarray, seed: int) -> tuple[Judged, JudgeHead]:
    """Judge cosines of ``idx``, each from the head trained on the other half; and the first half's head."""
    a, b = halves(pairs, idx, seed)
    judged: Judged = {}
    head_a = trainer.train(a, seed)
    for i, c in zip(b, trainer.cosines(head_a, b), strict=True):
        judged[(pairs[i].first, pairs[i].second)] = float(c)
    head_b = trainer.train(b, seed + 1)
    for i, c in zip(a, trainer.cosines(head_b, a), strict=True):
        judged[(pairs[i].first, pairs[i].second)] = float(c)
    return judged, head_a


def cached_path(pairs: list[Pair], what: str) -> Path:
    return CACHE / f"judge-{what}-{digest_of(repr([(p.first, p.second, what) for p in pairs]).encode())}.pkl"


def held_out_judged(pairs: list[Pair], what: str) -> Judged:
    """What an earlier run of this script left for ``what`` ("ship" or "lodo-DOMAIN")."""
    path = cached_path(pairs, what)
    if not path.exists():
        flag = "--ship" if what == "ship" else "--lodo"
        raise SystemExit(f"{path} is missing: run .venv/bin/python benchmarks/train_judge_head.py {flag} first")
    judged: Judged = pickle.loads(path.read_bytes())
    return judged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ship", action="store_true")
    parser.add_argument("--lodo", action="store_true")
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = calibration_pairs()
    trainer = Trainer(pairs, args.depth, args.epochs, args.lr)
    everything = np.arange(len(pairs))
    domains = np.array([p.domain for p in pairs])
    if args.ship:
        print("ship: cross-fitted judge cosines of every pair, then the head on all pairs")
        judged, _ = cross_fitted(trainer, pairs, everything, seed=0)
        cached_path(pairs, "ship").write_bytes(pickle.dumps(judged))
        head = trainer.train(everything, seed=2)
        info = {"trained_on": "benchmarks/calibration_data.py pairs (4 domains)", "pairs": str(len(pairs)),
                "epochs": str(args.epochs), "lr": str(args.lr), "loss": "CoSENT, scale 20"}  # fmt: skip
        save_head(head, HEAD_PATH, info)
        print(f"wrote {HEAD_PATH} ({HEAD_PATH.stat().st_size / 1e6:.1f} MB)")
    if args.lodo:
        for held in DOMAINS:
            print(f"lodo: {held} held out")
            judged, head = cross_fitted(trainer, pairs, everything[domains != held], seed=0)
            out = everything[domains == held]
            for i, c in zip(out, trainer.cosines(head, out), strict=True):
                judged[(pairs[i].first, pairs[i].second)] = float(c)
            cached_path(pairs, f"lodo-{held}").write_bytes(pickle.dumps(judged))


if __name__ == "__main__":
    main()
