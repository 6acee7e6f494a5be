"""Scoring throughput: the seed's function vs the encoder's own bound vs our scorer, on the same pairs.

3,000 (original, candidate) pairs: the instructions of the first 1,000 records of
../shared/datasets/alpaca_5000.json, three template variations each (augment_core's own templates
augmenter, so no LLM is needed). Measured in one run:
  1. the seed's ``measure_augmentation_quality`` as the seed wrote it (the model is loaded on every
     call); it needs seconds per pair, so it runs on the first SEED_PAIRS pairs only;
  2. one ``model.encode`` over all distinct texts in batches of 64: the encoder's bound;
  3. our scorer through the store (``score_dataset``, what ``augment score`` runs), fresh cache;
     interleaved with the same scorer given the MSRP-only model of version 1 (cosine, guards and
     lexical features, no token alignment), so the cost of the token evidence is measured on the
     same machine state (the machine is shared).
Run: .venv/bin/python benchmarks/bench_score.py [SEED_PAIRS, default 20]

``--backend process`` measures instead what the studio's isolation costs (issue 15): the same
scorer with the model in this process vs in a child process (augment_core.embedding_process),
interleaved, best of two; then, each in a fresh interpreter, the RSS of a process that scores 300
pairs on either backend (before the first score and after), the child's RSS, and whether torch was
imported in the scoring process.
Run: .venv/bin/python benchmarks/bench_score.py --backend process
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from augment_core import quality, scoring  # noqa: E402
from augment_core.augmenters.templates import variations  # noqa: E402
from augment_core.embedding_backend import LocalBackend, open_backend  # noqa: E402
from augment_core.embedding_process import EmbeddingProcess  # noqa: E402
from augment_core.importer import import_file  # noqa: E402
from augment_core.records import Candidate  # noqa: E402
from augment_core.store import Store  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judge_common import OLD_MODEL  # noqa: E402

ALPACA = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "alpaca_5000.json"
ORIGINALS, PER_ORIGINAL = 1000, 3
MODEL_PATH = str(quality.bundled_model_path())


# ---- the seed's function, as written in the seed -------------------------------------------------
# Only the model name changed: 'all-MiniLM-L6-v2' from the hub becomes the same model from the
# package folder, because this machine has no hub; loading it per call is the seed's own design.


def measure_augmentation_quality(original: str, augmented: str) -> dict[str, object]:
    from sentence_transformers import SentenceTransformer
    from sklearn.metrics.pairwise import cosine_similarity

    model = SentenceTransformer(MODEL_PATH)
    embeddings = model.encode([original, augmented])
    similarity = cosine_similarity([embeddings[0]], [embeddings[1]])[0][0]
    return {
        "semantic_similarity": similarity,
        "is_valid": 0.7 < similarity < 0.98,
        "length_ratio": len(augmented) / len(original),
        "unique_words": len(set(augmented.split()) - set(original.split())),
    }


# --------------------------------------------------------------------------------------------------


def build_pairs() -> list[tuple[dict[str, str], list[str]]]:
    records = json.loads(ALPACA.read_text(encoding="utf-8"))
    chosen = []
    for record in records:
        variants = [v for v in dict.fromkeys(variations(record["instruction"]).values()) if v != record["instruction"]]
        if len(variants) >= PER_ORIGINAL:
            chosen.append((record, variants[:PER_ORIGINAL]))
        if len(chosen) == ORIGINALS:
            return chosen
    raise SystemExit("not enough records with three variations")


def score_in_fresh_store(
    chosen: list[tuple[dict[str, str], list[str]]], model: object, meaning: scoring.MeaningModel | None = None
) -> tuple[int, int, float]:
    """(pairs scored, texts embedded, seconds) for score_dataset on a new SQLite store and an empty cache.

    ``meaning`` replaces the shipped meaning model for this run (score_dataset loads it by name).
    """
    shipped = quality.load_meaning_model
    if meaning is not None:
        quality.load_meaning_model = lambda path=scoring.MEANING_MODEL_PATH: meaning  # type: ignore[misc]
    try:
        return _score(chosen, model)
    finally:
        quality.load_meaning_model = shipped  # type: ignore[misc]


def _score(chosen: list[tuple[dict[str, str], list[str]]], model: object) -> tuple[int, int, float]:
    """``model``: a sentence-transformers model (run here) or an EmbeddingBackend."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "alpaca_1000.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r, _ in chosen), encoding="utf-8")
        store = Store(f"sqlite:///{tmp}/bench.db")
        import_file(store, str(source), name="bench")
        dataset = store.get_dataset("bench")
        assert dataset is not None
        examples = [e for batch in store.iter_examples(dataset.id) for e in batch]
        store.add_candidates(
            [
                Candidate(id=f"{e.id}-{i}", dataset_id=dataset.id, example_id=e.id, augmenter="templates",
                          target_field="instruction", text=text)
                for e, (_, variants) in zip(examples, chosen, strict=True)
                for i, text in enumerate(variants)
            ]
        )  # fmt: skip
        backend = model if isinstance(model, LocalBackend | EmbeddingProcess) else LocalBackend(model)
        embedder = quality.Embedder(backend)
        start = time.perf_counter()
        scored = quality.score_dataset(store, dataset, embedder)
        elapsed = time.perf_counter() - start
        store.close()
    return scored, embedder.encoded, elapsed


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_run(kind: str) -> None:
    """(in a fresh interpreter) score 300 pairs on backend ``kind``; print this process's RSS around it."""
    chosen = build_pairs()[:100]
    before = rss_mb(os.getpid())
    backend = open_backend(kind=kind)  # type: ignore[arg-type]
    scored, _, _ = _score(chosen, backend)
    child = backend.pid if isinstance(backend, EmbeddingProcess) else None
    child_rss = f"{rss_mb(child):.0f} MB" if child else "-"
    print(f"{kind:8} scoring process RSS {before:5.0f} MB before, {rss_mb(os.getpid()):5.0f} MB after "
          f"{scored} pairs; child {child_rss}; torch imported here: {'torch' in sys.modules}")


def compare_backends() -> None:
    chosen = build_pairs()
    local, child = LocalBackend.load(), EmbeddingProcess()
    local.encode(["warm up"], 1), child.encode(["warm up"], 1)
    times: dict[str, list[tuple[int, int, float]]] = {"in-process": [], "process": []}
    for _ in range(2):  # interleaved, best of two: the machine is shared
        times["in-process"].append(score_in_fresh_store(chosen, local))
        times["process"].append(score_in_fresh_store(chosen, child))
    child.stop()
    rates = {}
    for kind, found in times.items():
        scored, _, elapsed = min(found, key=lambda r: r[2])
        rates[kind] = scored / elapsed
        runs = ", ".join(f"{r[2]:.1f}s" for r in found)
        print(f"{kind:10} {rates[kind]:6.1f} pairs/s  (runs: {runs}, {scored} pairs)")
    for kind in ("local", "process"):
        subprocess.run([sys.executable, __file__, "--rss", kind], check=True)
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores, shared)")
    print(f"scoring through the embedding process: {rates['process']:.1f} pairs/s, "
          f"{rates['process'] / rates['in-process']:.2f} of in-process ({rates['in-process']:.1f} pairs/s)")


def main() -> None:
    if sys.argv[1:2] == ["--backend"]:
        if sys.argv[2:3] != ["process"]:
            raise SystemExit("--backend process is the one backend to compare with the in-process model")
        return compare_backends()
    if sys.argv[1:2] == ["--rss"]:
        return rss_run(sys.argv[2])
    seed_pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    chosen = build_pairs()
    pairs = [(r["instruction"], v) for r, variants in chosen for v in variants]
    distinct = list(dict.fromkeys(t for pair in pairs for t in pair))
    print(f"{len(pairs)} pairs, {len(distinct)} distinct texts, seed function on the first {seed_pairs} pairs")

    # 1. the seed
    start = time.perf_counter()
    for original, augmented in pairs[:seed_pairs]:
        measure_augmentation_quality(original, augmented)
    seed_rate = seed_pairs / (time.perf_counter() - start)
    print(f"seed measure_augmentation_quality  {seed_rate:8.2f} pairs/s")

    # 2. the encoder's bound (model loaded once; warmed up; best of two runs)
    model = quality.load_model()
    model.encode(distinct[:64], batch_size=64)
    # Interleaved (bound, ours, bound, ours), best of two each: the machine is shared, so a busy
    # moment should not land on one side only.
    bound_times, runs, cosine_runs = [], [], []
    for _ in range(2):
        start = time.perf_counter()
        model.encode(distinct, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
        bound_times.append(time.perf_counter() - start)
        # 3. our scorer through the store, as `augment score` runs it: fresh store, empty cache
        runs.append(score_in_fresh_store(chosen, model))
        cosine_runs.append(score_in_fresh_store(chosen, model, OLD_MODEL))
    bound_rate = len(distinct) / min(bound_times)
    print(f"model.encode over distinct texts   {bound_rate:8.1f} texts/s  "
          f"(runs: {', '.join(f'{t:.1f}s' for t in bound_times)})")
    scored, encoded, elapsed = min(runs, key=lambda r: r[2])
    ours_rate = scored / elapsed
    per_text = encoded / elapsed
    print(f"  runs: {', '.join(f'{r[2]:.1f}s' for r in runs)}")
    old_scored, _, old_elapsed = min(cosine_runs, key=lambda r: r[2])
    print(f"same scorer, version-1 model (no token alignment): {old_scored / old_elapsed:.1f} pairs/s  "
          f"(runs: {', '.join(f'{r[2]:.1f}s' for r in cosine_runs)})")
    print(f"our scorer (store, score_dataset)  {ours_rate:8.1f} pairs/s  ({encoded} texts embedded, "
          f"{per_text:.1f} distinct texts/s)")
    print()
    print(f"speed-up over the seed: {ours_rate / seed_rate:.0f}x (target >= 15x)")
    print(f"per distinct text: {per_text / bound_rate:.1%} of the encoder's bound (target >= 90 %)")
    print(f"token alignment costs {1 - ours_rate * old_elapsed / old_scored:.1%} of the version-1 speed")
    print(f"our scorer: {ours_rate:.1f} pairs/s (target >= 150)")


if __name__ == "__main__":
    main()
