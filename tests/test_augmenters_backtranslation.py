"""Backtranslation through deep-translator's real code against a loopback server, and the llm
translator through the real LLMClient with a fake provider; a fake translator through the seam."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from augment_core.augmenters import build
from augment_core.augmenters.backtranslation import Backtranslation
from augment_core.augmenters.base import Output, Usage
from augment_core.augmenters.translators import Translation, Translator, make_translator
from augment_core.errors import ConfigError, InputError
from augment_core.llm.base import Request
from augment_core.store import Store, candidates, llm_cache
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
    aug = build("backtranslation", {"translator": "google", "pivots": "de,ja", "chain": True})
    outputs = augment(aug)  # type: ignore[arg-type]
    assert [o.slot for o in outputs] == ["de>ja"] and aug.slots() == ["de>ja"]
    assert [s["tl"] for s in server.seen] == ["de", "ja", "en"]
    assert [s["q"] for s in server.seen][1] == "[de] Write a short poem and explain it."


def test_identical_round_trip_is_dropped(server: TranslateServer) -> None:
    record = {"instruction": "Name three planets.", "input": "", "output": "..."}
    assert augment(build("backtranslation", {"translator": "google"}), record) == []  # type: ignore[arg-type]
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
        augment(build("backtranslation", {"translator": "google", "pivots": "xx"}))  # type: ignore[arg-type]


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
    # Provider and model apart, as paraphrase and outputs record them (not "fake:fake-1").
    assert {k: aug.identity()[k] for k in ("provider", "model")} == {"provider": "fake", "model": "fake-1"}
    assert {k: aug.identity()[k] for k in ("provider", "model")} == {
        k: v for k, v in build("paraphrase", {}, llm=llm).identity().items() if k in ("provider", "model")
    }
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


DEEPL_SECRET = "0f3c2b9e-6d1a-4e7b-9a55-secretsecret:fx"


def _leaks(text: str) -> bool:
    from urllib.parse import quote

    return any(form in text for form in (DEEPL_SECRET, quote(DEEPL_SECRET, safe=""), DEEPL_SECRET[:20]))


def test_the_deepl_key_stays_out_of_errors_and_the_database(
    server: TranslateServer, monkeypatch: pytest.MonkeyPatch, store: Store, tmp_path: Path
) -> None:
    from augment_core.importer import import_file
    from augment_core.pipeline import Pipeline

    monkeypatch.setenv("DEEPL_API_KEY", DEEPL_SECRET)
    # a refused key: deep-translator's message is "Unauthorized access with the api key <KEY>"
    with pytest.raises(ConfigError, match="API key was missing or refused") as refused:
        augment(build("backtranslation", {"translator": "deepl"}))  # type: ignore[arg-type]
    assert not _leaks(str(refused.value)) and refused.value.__cause__ is None
    # nobody listening: requests' ConnectionError quotes the URL, and DeepL sends the key in it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    from deep_translator import constants

    monkeypatch.setitem(constants.BASE_URLS, "DEEPL_FREE", f"http://127.0.0.1:{closed}/deepl/{{version}}/")
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(RECORD) + "\n")
    import_file(store, path, name="data")
    dataset = store.get_dataset("data")
    assert dataset is not None
    aug = build("backtranslation", {"translator": "deepl"}, store=store)
    aug.translator.max_retries = 0  # type: ignore[attr-defined]
    report = Pipeline(store, dataset, [aug]).run()
    assert report.failed == 1
    with store.engine.connect() as conn:
        error = conn.execute(sa.select(candidates.c.error)).scalar_one()
    assert "ConnectionError" in error and "***" in error and not _leaks(error)
    store.close()
    db_file = Path(store.engine.url.database or "")
    assert db_file.exists() and not _leaks(db_file.read_bytes().decode("utf-8", "replace"))


def test_deep_translator_calls_run_in_their_own_bounded_pool(store: Store) -> None:
    from augment_core.augmenters.translators import DeepTranslator

    seen: list[str] = []

    class Engine:
        def translate(self, text: str) -> str:
            seen.append(threading.current_thread().name)
            return text + " Now."

    class Threaded(DeepTranslator):
        name = "threaded"

        def engine(self, source: str, target: str) -> Engine:
            return Engine()

    out = augment(Backtranslation(Threaded(store=store), pivots="de"))
    assert out[0].text == "Write a short poem and explain it. Now. Now."
    assert len(seen) == 2 and all(name.startswith("deep-translator") for name in seen)


def test_the_default_translator_is_the_llm_and_it_caches_once(store: Store) -> None:
    llm, provider = client(lambda r: fake_translate(r.prompt.split("\n\n", 1)[1], "en", "de" if "to German" in r.prompt
                                                    else "en"), store)  # fmt: skip
    described = next(s for s in Backtranslation.describe()["settings"] if s["name"] == "translator")
    assert described["default"] == "llm"
    aug = build("backtranslation", {}, llm=llm, store=store)
    assert aug.translator.name == "llm"  # type: ignore[attr-defined]
    assert augment(aug)[0].text == "Compose a brief poem and clarify it."  # type: ignore[arg-type]
    with store.engine.connect() as conn:
        cached = conn.execute(sa.select(llm_cache.c.provider)).scalars().all()
    assert cached == ["fake", "fake"]  # the client's entries only; no second copy under translate:llm
    again = augment(build("backtranslation", {}, llm=llm, store=store))  # type: ignore[arg-type]
    assert again[0].usage.cached == 2 and len(provider.requests) == 2
