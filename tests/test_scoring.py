"""Per-pair scores, meaning guards, near-duplicates, diversity and the embedding cache, without the model.

The embedder's cache logic is exercised with a fake model that counts what it is asked to encode;
the real model is in test_quality.py (slow).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import numpy as np
import pytest

from augment_core import guards, scoring
from augment_core.diversity import distinct_n, diversity, mean_pairwise_similarity
from augment_core.embedding_backend import LocalBackend
from augment_core.errors import ConfigError
from augment_core.quality import Embedder, near_duplicates


def flags(original: str, candidate: str) -> list[str]:
    return [str(f) for f in guards.check(original, candidate)]


# ---- guards --------------------------------------------------------------------------------------


def test_number_change_is_flagged_with_what_differs() -> None:
    assert flags("Order between 700-1000 units.", "Order about 800 units.") == [
        "number 700-1000 missing",
        "number 800 added",
    ]
    assert flags("List 5 fruits.", "List 6 fruits.") == ["number 5 missing", "number 6 added"]


def test_same_number_in_other_words_is_not_flagged() -> None:
    assert flags("Name three rivers in 1,000 words.", "Give 3 rivers in 1000 words.") == []
    assert flags("It costs $5 million.", "The price is 5 million dollars.") == []
    assert flags("Growth was 5%.", "Growth was 5 percent.") == []


def test_quantity_with_another_unit_is_flagged() -> None:
    assert flags("Run 5 km every day.", "Run 5 miles every day.") == ["quantity 5 km changed to 5 mi"]


def test_entity_change_is_flagged_both_ways() -> None:
    assert flags("Write a poem about a walk in Paris.", "Write a poem about a walk in London.") == [
        "entity 'Paris' missing",
        "entity 'London' added",
    ]
    # The same names, other case and word order: nothing differs.
    assert flags("Compare Python and Java.", "Contrast java with python.") == []
    # A capital only because a sentence starts is not a name.
    assert flags("Summarise the text. Keep it short.", "Please summarise the text briefly.") == []


def test_negation_added_or_removed() -> None:
    assert flags("Do not delete the file.", "Delete the file.") == ["negation removed"]
    assert flags("Delete the file.", "Never delete the file.") == ["negation added"]
    assert flags("I can't go.", "I cannot go.") == []
    assert flags("What is the capital of Australia?", "If you don't mind, what is the capital of Australia?") == []


def test_dates_code_urls_placeholders() -> None:
    assert flags("Meet on Monday.", "Meet on Tuesday.") == ["date monday missing", "date tuesday added"]
    assert flags("Explain what `git rebase` does.", "Describe what `git merge` does.") == [
        "code `git rebase` missing",
        "code `git merge` added",
    ]
    assert flags("See https://example.org/a for details.", "See the website for details.") == [
        "url https://example.org/a missing"
    ]
    assert flags("Hello {name}, welcome to <b>the shop</b>.", "Hi {user}, welcome to the shop.") == [
        "placeholder {name} missing",
        "placeholder <b> missing",
        "placeholder </b> missing",
        "placeholder {user} added",
    ]


def test_faithful_paraphrase_has_no_flags() -> None:
    assert flags("Give three tips for staying healthy.", "Share 3 tips to stay healthy.") == []


def test_words_ignore_case_and_punctuation() -> None:
    assert guards.words("The CAT, the cat! Don't.") == ["the", "cat", "the", "cat", "don't"]


# ---- per-pair scores -----------------------------------------------------------------------------


def test_seed_formulas_and_proper_tokenising() -> None:
    s = scoring.score_pair("c1", "the cat sat", "the cat sat down quietly", 0.9, scoring.Thresholds(), None)
    assert s.length_ratio == pytest.approx(len("the cat sat down quietly") / len("the cat sat"))
    # The seed: words of the augmentation not in the original (plain lowercase text agrees with split()).
    assert s.unique_words == len(set("the cat sat down quietly".split()) - set("the cat sat".split())) == 2
    assert s.new_words == ["down", "quietly"]
    # Case and punctuation do not make a word new.
    assert scoring.score_pair("c", "The cat sat.", "the CAT sat!", 0.9, scoring.Thresholds(), None).unique_words == 0


@pytest.mark.parametrize(
    ("sim", "valid", "optimal"),
    [(0.70, False, False), (0.7001, True, False), (0.75, True, True), (0.95, True, True), (0.951, True, False),
     (0.98, False, False), (0.99, False, False)],
)  # fmt: skip
def test_validity_window_is_exclusive_and_band_inclusive(sim: float, valid: bool, optimal: bool) -> None:
    s = scoring.score_pair("c", "a b", "a c", sim, scoring.Thresholds(), None)
    assert (s.is_valid, s.in_optimal_band) == (valid, optimal)


def test_thresholds_are_settings_and_checked() -> None:
    wide = scoring.Thresholds(valid_window=(0.5, 0.99), optimal_band=(0.6, 0.9))
    assert scoring.score_pair("c", "a", "b", 0.6, wide, None).is_valid
    with pytest.raises(ConfigError, match="quality.valid_window"):
        scoring.Thresholds(valid_window=(0.9, 0.7))


def alignment(worst: float = 0.8, judged: float | None = 0.85) -> scoring.Alignment:
    return scoring.Alignment(recall=0.85, precision=0.85, worst=worst, judge_similarity=judged)


def test_meaning_model_file_loads_with_its_version_and_ranks_a_change_lower() -> None:
    model = scoring.load_meaning_model()
    assert model is not None and set(model.features) <= set(scoring.FEATURES) and "similarity" in model.features
    data = json.loads(scoring.MEANING_MODEL_PATH.read_text())
    assert data["version"] == scoring.MODEL_VERSION and "questions" in data["info"]["in_sample"]
    assert 0 < model.threshold < 1 and model.needs_tokens
    original = "Sell 700 units to Acme by Friday."
    kept = "By Friday, sell 700 units to Acme."
    changed = "Sell 900 units to Acme by Friday."
    p_kept = scoring.score_pair("a", original, kept, 0.93, scoring.Thresholds(), model, alignment=alignment())
    p_changed = scoring.score_pair("b", original, changed, 0.93, scoring.Thresholds(), model, alignment=alignment(0.6))
    assert p_kept.meaning_preserved is not None and p_changed.meaning_preserved is not None
    # The same cosine, a changed number: a lower score, and a flag that keeps it from bulk approval.
    assert p_changed.meaning_preserved < p_kept.meaning_preserved and p_changed.flags and not p_kept.flags
    # Without the token evidence the model needs there is no probability, rather than a wrong one;
    # nor without the judge head's cosine (a quality.model other than the bundled one has no head).
    assert scoring.score_pair("c", original, kept, 0.93, scoring.Thresholds(), model).meaning_preserved is None
    no_head = alignment(judged=None)
    headless = scoring.score_pair("d", original, kept, 0.93, scoring.Thresholds(), model, alignment=no_head)
    assert headless.meaning_preserved is None and headless.unmatched is not None


@pytest.mark.parametrize("worst", [0.3, 0.8])
def test_meaning_preserved_is_monotone_in_cosine(worst: float) -> None:
    model = scoring.load_meaning_model()
    assert model is not None
    original, candidate = "Name three rivers in Europe.", "List 3 European rivers, please."
    scores = [
        scoring.score_pair("c", original, candidate, sim, scoring.Thresholds(), model, alignment=alignment(worst))
        for sim in np.linspace(0.0, 1.0, 41)
    ]
    values = [s.meaning_preserved for s in scores]
    assert all(v is not None for v in values)
    # Never lower with a higher cosine (the fit may leave the pooled cosine at 0 beside the judge head's) ...
    assert all(a <= b for a, b in itertools.pairwise(values))  # type: ignore[operator]
    # ... and rising with the judge head's cosine, the same kind of evidence from the retrained layer.
    judged = [
        scoring.score_pair("c", original, candidate, 0.9, scoring.Thresholds(), model,
                           alignment=scoring.Alignment(0.85, 0.85, worst, judge_similarity=float(j))).meaning_preserved
        for j in np.linspace(0.0, 1.0, 41)
    ]  # fmt: skip
    assert all(a <= b for a, b in itertools.pairwise(judged)) and judged[0] < judged[-1]  # type: ignore[operator]


def test_meaning_model_file_is_checked(tmp_path: Any) -> None:
    data = json.loads(scoring.MEANING_MODEL_PATH.read_text())
    path = tmp_path / "m.json"
    # The MSRP-only file of version 1 (no version field, 13 features) still loads.
    old = {k: v for k, v in data.items() if k != "version"}
    path.write_text(json.dumps(old))
    assert scoring.load_meaning_model(path) is not None
    for change, match in [
        ({"features": ["similarity"]}, "refit"),  # fewer names than coefficients
        ({"features": ["colour", *data["features"][1:]]}, "refit"),  # a feature this code does not compute
        ({"version": scoring.MODEL_VERSION + 1}, "refit"),
        ({"coef": [-1.0, *data["coef"][1:]]}, "monotone"),  # similarity comes first
        ({"intercept": "high"}, "not a meaning model"),
    ]:
        broken = tmp_path / f"{len(list(tmp_path.iterdir()))}.json"
        broken.write_text(json.dumps({**data, **change}))
        with pytest.raises(ConfigError, match=match):
            scoring.load_meaning_model(broken)


def test_alignment_finds_the_original_word_without_a_counterpart() -> None:
    def tokens(*rows: list[float], pieces: tuple[str, ...]) -> scoring.TokenVectors:
        return scoring.TokenVectors(unit(*rows), pieces)

    original = tokens([1, 0, 0], [0, 1, 0], [0, 0.2, 1], pieces=("visit", "par", "##is"))
    candidate = tokens([1, 0.1, 0], [0.5, 0.5, -1], [1, 0, -0.1], pieces=("visit", "london", "!"))
    result = scoring.align(original, candidate)
    assert result.unmatched == ("paris",)  # the pieces regrouped into the word
    assert result.worst < scoring.UNMATCHED and result.worst < result.recall < result.precision <= 1.0
    same = scoring.align(original, original)
    assert same.recall == pytest.approx(1.0) and same.precision == pytest.approx(1.0) and same.unmatched == ()


# ---- near-duplicates and diversity --------------------------------------------------------------


def unit(*rows: list[float]) -> np.ndarray:
    a = np.array(rows, dtype=np.float32)
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def test_near_duplicates_exact_after_normalising_or_above_the_upper_bound() -> None:
    texts = ["Write a poem.", "write a POEM!", "Compose verse.", "Draft a story."]
    vectors = unit([1, 0, 0], [0, 1, 0], [1, 0.01, 0], [0, 0, 1])
    # 2nd: same words as the 1st; 3rd: cosine 0.99995 with the 1st; the 1st of a cluster stays.
    assert near_duplicates(texts, vectors, upper=0.98) == [False, True, True, False]


def test_mean_pairwise_similarity_equals_brute_force() -> None:
    rng = np.random.default_rng(0)
    vectors = unit(*rng.normal(size=(50, 8)).tolist())
    brute = np.mean([float(vectors[i] @ vectors[j]) for i, j in itertools.combinations(range(50), 2)])
    assert mean_pairwise_similarity(vectors) == pytest.approx(brute, abs=1e-6)


def test_distinct_n() -> None:
    texts = ["the cat sat", "the cat ran"]
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    assert distinct_n([], 2) == 0.0
    d = diversity(texts, embedder=None)
    assert d.mean_pairwise_similarity is None and d.texts == 2


# ---- the embedding cache --------------------------------------------------------------------------


class CountingModel:
    """Stands in for SentenceTransformer: a vector from the text's hash, and a log of what was encoded."""

    max_seq_length = 16

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        self.calls.append(list(texts))
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8) for t in texts]
        return unit(*[r.astype(np.float32).tolist() for r in rows])

    def get_embedding_dimension(self) -> int:
        return 16

    def tokenizer(self, texts: list[str], **kwargs: Any) -> dict[str, list[list[int]]]:
        return {"input_ids": [[0] * (len(t.split()) + 2) for t in texts]}


def test_cache_embeds_each_distinct_text_once() -> None:
    model = CountingModel()
    embedder = Embedder(LocalBackend(model, name="fake"))
    original = "Give three tips."
    first = embedder.embed([original, "Share 3 tips.", original, "List three tips.", original])
    embedder.embed([original, "Share 3 tips.", "Offer three tips."])
    assert model.calls == [[original, "Share 3 tips.", "List three tips."], ["Offer three tips."]]
    assert embedder.encoded == 4
    assert np.array_equal(first[0], first[2]) and first.shape == (5, 16)


def test_cache_is_bounded_and_long_texts_are_reported_truncated() -> None:
    model = CountingModel()
    embedder = Embedder(LocalBackend(model, name="fake"), cache_size=2)
    embedder.embed(["a"])
    embedder.embed(["b"])
    embedder.embed(["c"])  # evicts "a"
    embedder.embed(["a"])
    assert embedder.encoded == 4
    long_text = " ".join(["word"] * 20)  # 22 tokens > 16
    _, cut = embedder.embed_with_truncation(["short one", long_text])
    assert cut == [False, True]


def test_meaning_cut_off_and_bad_window_settings_from_the_store(store: Any) -> None:
    from augment_core.quality import thresholds_from_store

    assert thresholds_from_store(store) == scoring.Thresholds()
    store.set_setting("quality.meaning_threshold", 0.3)
    assert thresholds_from_store(store).meaning_threshold == 0.3
    store.set_setting("quality.valid_window", "wide")
    with pytest.raises(ConfigError, match="quality.valid_window"):
        thresholds_from_store(store)
