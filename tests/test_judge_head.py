"""The judge head on the real bundled MiniLM: what it reads, what it ships, what it adds to a score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from augment_core import quality
from augment_core.embedding_backend import LocalBackend
from augment_core.judge_head import HEAD_PATH, fresh_head, load_head, save_head

pytestmark = pytest.mark.slow

TEXTS = [
    "Who are you?",
    "  Tell me about yourself  ",
    "Summarise the report on rainfall in Paris in May 2021, with the 3 largest numbers.",
    "x",
]


@pytest.fixture(scope="module")
def backend() -> LocalBackend:
    return LocalBackend.load()


def test_an_untrained_head_reads_the_hidden_states_below_the_last_layer(backend: LocalBackend, tmp_path: Path) -> None:
    """A head that is a plain copy of the last layer must give back the model's own pooled vector."""
    bert = backend.model[0].auto_model
    path = tmp_path / "copy.safetensors"
    save_head(fresh_head(bert, 1), path)
    head = load_head(bert, path)
    assert head is not None and head.depth == 1
    passes = backend._encode_with_head(TEXTS, 2, head)
    plain = backend.encode(TEXTS, 2)
    for (vector, tokens), reference in zip(passes, plain, strict=True):
        assert np.allclose(vector, reference, atol=1e-6)  # the forward pass done here is the model's
        assert tokens.judge is not None and np.allclose(tokens.judge, vector, atol=5e-4)  # float16 weights


def test_the_shipped_head_gives_every_text_a_judge_vector_and_the_score_its_cosine(backend: LocalBackend) -> None:
    assert HEAD_PATH.exists() and HEAD_PATH.stat().st_size < 25e6
    passes = backend.encode_tokens(TEXTS, 3)
    for (vector, tokens), reference in zip(passes, backend.encode(TEXTS, 3), strict=True):
        assert np.allclose(vector, reference, atol=1e-6) and tokens.judge is not None
        assert abs(float(np.linalg.norm(tokens.judge)) - 1.0) < 1e-5
        assert float(tokens.judge @ vector) < 0.9999  # trained: not the base model's vector
    embedder = quality.Embedder(backend)
    original = "What is the capital of France?"
    kept, changed = "Can you tell me what the capital of France is?", "What is the capital of Germany?"
    same, other = quality.embed_pairs([original, original], [kept, changed], embedder, tokens=True)
    assert same.alignment is not None and other.alignment is not None
    assert same.alignment.judge_similarity is not None and other.alignment.judge_similarity is not None
    assert same.alignment.judge_similarity > other.alignment.judge_similarity
    meaning = quality.load_meaning_model()
    assert meaning is not None and "judge_similarity" in meaning.features
    kept_score, changed_score = quality.score_texts(["k", "c"], [original, original], [kept, changed], embedder)
    assert kept_score.meaning_preserved is not None and changed_score.meaning_preserved is not None
    assert kept_score.meaning_preserved > changed_score.meaning_preserved


def test_the_bundled_model_named_by_its_folder_gets_the_head_too(backend: LocalBackend) -> None:
    """`quality.model` set to the bundled model's folder is the same model: the same judge and score."""
    from augment_core.embedding_backend import bundled_model_path, is_bundled_model

    folder = str(bundled_model_path())
    assert is_bundled_model(folder) and not is_bundled_model("sentence-transformers/all-mpnet-base-v2")
    by_folder = LocalBackend(backend.model, folder)
    (_, named), (_, found) = backend.encode_tokens(TEXTS[:1], 1)[0], by_folder.encode_tokens(TEXTS[:1], 1)[0]
    assert named.judge is not None and found.judge is not None and np.allclose(named.judge, found.judge)
