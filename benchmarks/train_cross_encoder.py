"""Fine-tune a cross-encoder from the bundled MiniLM weights; validate it leave-one-domain-out.

For each calibration domain (benchmarks/calibration_data.py; MSRP test is never read): train a
sentence-transformers ``CrossEncoder`` (num_labels=1, binary cross-entropy, 1 epoch) on the other
domains, at most ``--per-domain`` pairs from each (seeded subsample, so no domain drowns the
others and training stays short on CPU), then score at most ``--eval`` pairs of the held-out
domain. Printed per held-out domain, on the same pairs: ROC-AUC of raw cosine, of the current
meaning model refitted without that domain (judge_fit.fit, what bench_judge_domains.py reports)
and of the cross-encoder. Nothing is written to the package: the weights are shipped only if they
beat both (issue 11).
Run: .venv/bin/python benchmarks/train_cross_encoder.py [--per-domain 500] [--eval 600] [--max-length 64]
     [--domains questions,sts,news,alpaca] [--lr 4e-5]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time

import numpy as np
from calibration_data import DOMAINS, Pair, calibration_pairs
from judge_common import evidence
from judge_fit import fit, probabilities
from sklearn.metrics import roc_auc_score

from augment_core import quality

SEED = 0


def subsample(pairs: list[Pair], limit: int, seed: int) -> list[Pair]:
    rng = random.Random(seed)
    chosen = list(pairs)
    rng.shuffle(chosen)
    return chosen[:limit]


def train(pairs: list[Pair], max_length: int, out: str, lr: float) -> object:
    """One epoch of binary cross-entropy from the bundled MiniLM weights (a new 1-logit head)."""
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    torch.manual_seed(SEED)
    model = CrossEncoder(str(quality.bundled_model_path()), num_labels=1, max_length=max_length, device="cpu")
    data = Dataset.from_dict({
        "sentence1": [p.first for p in pairs],
        "sentence2": [p.second for p in pairs],
        "label": [float(p.label) for p in pairs],
    })  # fmt: skip
    args = CrossEncoderTrainingArguments(
        output_dir=out,
        num_train_epochs=1,
        per_device_train_batch_size=32,
        learning_rate=lr,
        warmup_steps=0.1,  # a float: the share of the steps
        seed=SEED,
        data_seed=SEED,
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        use_cpu=True,
        disable_tqdm=True,
    )
    CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=BinaryCrossEntropyLoss(model)).train()
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-domain", type=int, default=500, help="training pairs taken from each training domain")
    parser.add_argument("--eval", type=int, default=600, help="held-out pairs scored per domain")
    parser.add_argument("--max-length", type=int, default=64, help="word pieces of a pair the model reads")
    parser.add_argument("--domains", default=",".join(DOMAINS), help="held-out domains to run")
    parser.add_argument("--lr", type=float, default=4e-5, help="peak learning rate (linear warm-up over 10 %%)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    import torch
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()  # the new head's "MISSING classifier" load report, once per fold
    torch.set_num_threads(args.threads)
    pairs = calibration_pairs()
    ev = evidence(pairs)
    domains = np.array([p.domain for p in pairs])
    print(f"train: {args.per_domain} pairs per training domain, max_length {args.max_length}, 1 epoch, "
          f"lr {args.lr}, seed {SEED}")
    for held in args.domains.split(","):
        train_pairs = [q for d in DOMAINS if d != held
                       for q in subsample([p for p in pairs if p.domain == d], args.per_domain, SEED)]  # fmt: skip
        held_idx = np.flatnonzero(domains == held)
        held_idx = np.sort(np.random.default_rng(SEED).permutation(held_idx)[: args.eval])
        test_pairs = [pairs[i] for i in held_idx]
        mask = np.zeros(len(pairs), bool)
        mask[held_idx] = True
        test_ev = ev.subset(mask)
        meaning = fit(ev.subset(domains != held))
        start = time.process_time()
        with tempfile.TemporaryDirectory() as out:
            model = train(train_pairs, args.max_length, out, args.lr)
        trained = time.process_time() - start
        start = time.perf_counter()
        scores = model.predict([(p.first, p.second) for p in test_pairs], batch_size=64)  # type: ignore[attr-defined]
        rate = len(test_pairs) / (time.perf_counter() - start)
        labels = test_ev.labels
        print(f"\nheld out: {held} ({len(test_pairs)} pairs; trained on {len(train_pairs)} in {trained:.0f} CPU s; "
              f"scored {rate:.0f} pairs/s)")
        print(f"  cosine          ROC-AUC {roc_auc_score(labels, test_ev.similarity):.3f}")
        print(f"  meaning model   ROC-AUC {roc_auc_score(labels, probabilities(meaning, test_ev)):.3f}")
        print(f"  cross-encoder   ROC-AUC {roc_auc_score(labels, scores):.3f}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
