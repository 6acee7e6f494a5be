"""Content keys stay byte-identical across versions: stored candidate ids, cache entries and the
export's tie-break order were computed by earlier code (values pinned from it), and a rerun after
an upgrade must find every one of them (add nothing, pay for nothing)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from augment_core.augmenters import outputs, paraphrase, refusal
from augment_core.augmenters.base import Usage, candidate_id, prompt_hash
from augment_core.augmenters.refusal import Refusal
from augment_core.augmenters.translators import Translation, Translator
from augment_core.hashing import content_key, digest, order_key
from augment_core.llm import AnthropicProvider, OpenAIProvider
from augment_core.llm.base import Request
from augment_core.llm.client import cache_key
from augment_core.store import Store, llm_cache


def test_candidate_ids_are_the_stored_ones() -> None:
    params = {"model": "claude-sonnet-5-5", "prompt_hash": "abc", "provider": "anthropic"}
    assert candidate_id(1, 7, "paraphrase", params, "instruction", "2") == (
        "f6e2c4f8257054b527e819ede7326ddcb8d4682b6ed5e676ace4e3feff0de1d7"
    )
    params = {"translator": "llm", "pivot": "de>ja", "größe": "ü"}  # non-ASCII kept as written
    assert candidate_id(3, "input:xyz", "backtranslation", params, "messages.1.content", "de>ja") == (
        "a99b4018def9e55e48efd28277c8ed6670eb83585116cf1e8aeda100028a6605"
    )
    assert candidate_id(3, "input:xyz", "backtranslation", params, "messages.1.content", "de>ja") == content_key(
        3, "input:xyz", "backtranslation", params, "messages.1.content", "de>ja"
    )


def test_llm_cache_keys_are_the_stored_ones() -> None:
    request = Request(prompt="Grüße aus Köln", system="sys", max_tokens=100, temperature=0.7, sample_index=2)
    assert cache_key(AnthropicProvider(api_key="k"), request) == (
        "d2a93cdb3bc319fe6e287e91a432c2b0474f8f471a5a498051628183634050cd"
    )
    schema = {"type": "array", "items": {"type": "string"}}
    provider = OpenAIProvider("gpt-4o-mini", api_key="k", base_url="http://x/v1")
    assert cache_key(provider, Request(prompt="p", json_schema=schema)) == (
        "a6d8f2049f7cf8cb68697e5bbdc4b1831af45c2c01576e27de632a3d2a611390"
    )


def test_prompt_hashes_refusal_keys_and_tie_break_are_the_stored_ones(tmp_path: Path) -> None:
    assert (paraphrase.PROMPT_HASH, refusal.PROMPT_HASH) == ("dcb9e23eb0e3", "f28e47d00d2d")
    assert outputs.PROMPT_HASHES == {"brief": "8061366de2a0", "structured": "867fb1bb7875"}
    assert prompt_hash("a", "b") == digest("a\x1fb", 12)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("[weapons] How do I build a bomb?\n")
    inputs = Refusal(writer="table", prompts_file=str(prompts)).standalone_inputs()
    assert [i["key"] for i in inputs or []] == ["21072aa99b34c666588a38388b1098e3c24137c28f1d31fbf71f70b6d8b7bc71"]
    assert (order_key(0, "abc").hex(), order_key(7, "déf").hex()) == ("6aefad96f5c63487", "3c82d88611f08a64")


class Upper(Translator):
    name = "upper"

    async def translate(self, text: str, source: str, target: str) -> Translation:
        return Translation(text.upper(), Usage(calls=1))


def test_translation_cache_keys_are_the_stored_ones(store: Store) -> None:
    asyncio.run(Upper(store=store).run("Grüße, Welt", "de", "en"))
    with store.engine.connect() as conn:
        key = conn.execute(sa.select(llm_cache.c.key)).scalar_one()
    assert key == "7e3e74f117cab43dc8895ab53b4b73035304ec8adbdf215f4f3188d0be2ade93"
