"""Backtranslation through deep-translator's real code against a loopback server, and the llm
translator through the real LLMClient with a fake provider; a fake translator through the seam."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest

from augment_core.augmenters import build
from augment_core.augmenters.backtranslation import Backtranslation
from augment_core.augmenters.base import Output, Usage
from augment_core.augmenters.translators import Translation, Translator, make_translator
from augment_core.errors import ConfigError, InputError
from augment_core.llm.base import Request
from augment_core.store import Store
from tests.test_augmenters_llm import client
from tests.translate_server import TranslateServer, fake_translate, serve

RECORD = {"instruction": "Write a short poem and explain it.", "input": "", "output": "..."}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[TranslateServer]:
    with serve() as s:
        s.point_deep_translator(monkeypatch)
        monkeypatch.setenv("DEEPL_API_KEY", s.deepl_key)
        yield s


def augment(aug: Backtranslation, record: dict[str, object] = RECORD) -> list[Output]:
    return asyncio.run(aug.augment(record, "instruction", "alpaca"))


@pytest.mark.parametrize("name", ["google", "mymemory", "deepl", "libre"])
def test_each_service_round_trips_through_deep_translator(server: TranslateServer, name: str, store: Store) -> None:
    aug = build("backtranslation", {"translator": name, "pivots": "de,fr", "libre_url": server.libre_url}, store=store)
    outputs = augment(aug)  # type: ignore[arg-type]
    assert [(o.slot, o.text) for o in outputs] == [
        ("de", "Compose a brief poem and clarify it."),
        ("fr", "Compose a brief poem and clarify it."),
    ]
    assert outputs[0].params == {"pivot": "de", "translator": name}
    assert outputs[0].usage.calls == 2  # en->de, de->en
    assert server.requests[name] == 4
    pivots = {s.get("tl") or s.get("target_lang") or s.get("target") or s.get("langpair") for s in server.seen}
    assert pivots >= ({"de-DE|en-GB", "en-GB|de-DE"} if name == "mymemory" else {"de", "en"})
    # cached in the store like LLM calls: a rerun sends nothing
    again = augment(build("backtranslation", {"translator": name, "pivots": "de,fr", "libre_url": server.libre_url},
                          store=store))  # type: ignore[arg-type]  # fmt: skip
    assert [o.text for o in again] == [o.text for o in outputs] and server.requests[name] == 4
    assert again[0].usage.cached == 2


def test_chain_goes_through_every_pivot_once(server: TranslateServer) -> None:
    aug = build("backtranslation", {"pivots": "de,ja", "chain": True})
    outputs = augment(aug)  # type: ignore[arg-type]
    assert [o.slot for o in outputs] == ["de>ja"] and aug.slots() == ["de>ja"]
    assert [s["tl"] for s in server.seen] == ["de", "ja", "en"]
    assert [s["q"] for s in server.seen][1] == "[de] Write a short poem and explain it."


def test_identical_round_trip_is_dropped(server: TranslateServer) -> None:
    record = {"instruction": "Name three planets.", "input": "", "output": "..."}
    assert augment(build("backtranslation", {}), record) == []  # type: ignore[arg-type]
    assert server.requests["google"] == 2


def test_server_errors_are_retried_then_recorded(server: TranslateServer) -> None:
    translator = make_translator("google")
    translator.backoff = 0.0
    server.fail(429, times=2)
    aug = Backtranslation(translator, pivots="de")
    assert augment(aug)[0].text == "Compose a brief poem and clarify it."
    assert server.requests["google"] == 4  # two refused, then the round trip
    server.fail(500, times=10)
    failed = augment(aug)
    assert failed[0].error is not None and "google translation failed after 4 tries" in failed[0].error
    assert failed[0].text == "" and failed[0].slot == "de"


def test_wrong_deepl_key_stops_with_a_config_error(server: TranslateServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPL_API_KEY", "wrong:fx")
    with pytest.raises(ConfigError, match="deepl translator: the API key was missing or refused"):
        augment(build("backtranslation", {"translator": "deepl"}))  # type: ignore[arg-type]
    monkeypatch.delenv("DEEPL_API_KEY")
    with pytest.raises(ConfigError, match="set DEEPL_API_KEY"):
        build("backtranslation", {"translator": "deepl"})
    with pytest.raises(ConfigError, match="libre_url"):
        build("backtranslation", {"translator": "libre"})


def test_unsupported_language_is_an_input_error(server: TranslateServer) -> None:
    with pytest.raises(InputError, match="en->xx not supported"):
        augment(build("backtranslation", {"pivots": "xx"}))  # type: ignore[arg-type]


def test_llm_translator_uses_the_provider(store: Store) -> None:
    def reply(request: Request) -> str:
        match = re.search(r"from (\w+) to (\w+):\n\n(.*)", request.prompt, re.S)
        assert match is not None
        codes = {"English": "en", "German": "de", "French": "fr"}
        return fake_translate(match.group(3), codes[match.group(1)], codes[match.group(2)])

    llm, provider = client(reply, store)
    aug = build("backtranslation", {"translator": "llm", "pivots": "de"}, llm=llm, store=store)
    outputs = augment(aug)  # type: ignore[arg-type]
    assert outputs[0].text == "Compose a brief poem and clarify it."
    assert len(provider.requests) == 2 and outputs[0].usage.input_tokens > 0
    assert "Keep placeholders, code, numbers and names" in provider.requests[0].system
    assert aug.identity()["model"] == "fake:fake-1"
    assert llm.usage.by_label["backtranslation"].calls == 2
    with pytest.raises(ConfigError, match="llm translator needs an LLM provider"):
        build("backtranslation", {"translator": "llm"})


class Reverser(Translator):
    """A fake through the same seam: reverses word order each hop."""

    name = "reverser"

    async def translate(self, text: str, source: str, target: str) -> Translation:
        return Translation(" ".join(reversed(text.split())), Usage(calls=1))


def test_any_translator_fits_the_seam() -> None:
    aug = Backtranslation(Reverser(), pivots="de,fr,ja", chain=True)
    out = augment(aug, {"instruction": "one two three", "input": "", "output": ""})
    # four hops (en->de->fr->ja->en) reverse the order four times: the original again, dropped
    assert out == []
    record = {"instruction": "one two three", "input": "", "output": ""}
    out = augment(Backtranslation(Reverser(), pivots="de,fr"), record)
    assert out == []  # two hops each: identical, dropped
    odd = Backtranslation(Reverser(), pivots="de,fr", chain=True)
    assert [o.text for o in augment(odd, {"instruction": "one two three", "input": "", "output": ""})] == [
        "three two one"
    ]
