"""Translators behind one small interface: deep-translator's Google, DeepL, MyMemory and
LibreTranslate, plus ``llm``, which asks the configured LLM provider (the only one that works
offline).

A translator implements ``translate``; the base's ``run`` adds what every backend needs: a cache
in the store (like LLM calls; not for ``llm``, whose client caches already), a requests-per-minute
limit, a concurrency cap and the retry policy LLM calls use (``augment_core.retry``: backoff, a
bounded wait, a circuit breaker; a refused key stops the run). deep-translator is
synchronous (``requests``) and sends one text per call even in its ``translate_batch``, so
"batching" here is concurrency: calls run in threads under the cap.
API keys are read from the environment when a translator is built and never stored: every error
message passes through ``scrub``, since deep-translator puts the key in its messages and DeepL
sends it in the URL that requests quotes in a connection error.
"""

from __future__ import annotations

import abc
import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from augment_core.augmenters.base import Usage
from augment_core.errors import (
    AugmentError,
    ConfigError,
    ConnectionFailed,
    InputError,
    KeyRefused,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    RetryableError,
    ServerError,
)
from augment_core.hashing import digest
from augment_core.llm.base import Request, redact
from augment_core.llm.client import in_store, store_is_local
from augment_core.llm.ratelimit import RateLimiter
from augment_core.retry import Guard, RetryPolicy, retry

if TYPE_CHECKING:
    from augment_core.llm.client import LLMClient
    from augment_core.store import ResponseCache

# deep-translator takes no HTTP timeout, so a call that outlives its policy's timeout keeps its
# thread until the socket gives up. Its own bounded pool keeps such threads from filling asyncio's
# default executor (which the store and everything else share).
_DEEP_TRANSLATOR_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="deep-translator")


@dataclass
class Translation:
    text: str
    usage: Usage = field(default_factory=Usage)


class Translator(abc.ABC):
    """Turns text in one language into text in another."""

    name: ClassVar[str]
    _api_key: str | None = None
    cached: ClassVar[bool] = True  # whether ``run`` keeps translations in the store's cache

    def __init__(
        self,
        *,
        store: ResponseCache | None = None,
        rpm: int | None = None,
        concurrency: int = 4,
        max_retries: int = 3,
        timeout: float = 30.0,
        backoff: float = 1.0,
    ) -> None:
        self.store = store
        self.label = "translate"  # files LLM usage under the augmenter that uses this translator
        self.limiter = RateLimiter(rpm=rpm)
        # A translation service that refuses a first connection is recorded on the item, not a
        # stop (only the N-in-a-row breaker stops); the llm translator's client has its own guard.
        policy = RetryPolicy(max_retries=max_retries, timeout=timeout, backoff=backoff)
        self.guard = Guard(self.name, policy, stop_before_first_reply=False)
        self._concurrency = concurrency
        self._semaphore: asyncio.Semaphore | None = None
        self._store_is_local = store_is_local(store)

    @property
    def max_retries(self) -> int:
        return self.guard.policy.max_retries

    @max_retries.setter
    def max_retries(self, value: int) -> None:
        self.guard.policy = self.guard.policy.but(max_retries=value)

    @property
    def backoff(self) -> float:
        """The first retry delay in seconds."""
        return self.guard.policy.backoff

    @backoff.setter
    def backoff(self, value: float) -> None:
        self.guard.policy = self.guard.policy.but(backoff=value)

    @abc.abstractmethod
    async def translate(self, text: str, source: str, target: str) -> Translation:
        """Translate one text; raise an errors.RetryableError for failures worth retrying."""

    @classmethod
    def create(cls, *, llm: LLMClient | None, store: ResponseCache | None, url: str, rpm: int | None) -> Translator:
        """Build from the augmenter's settings; backends override to take what they need."""
        return cls(store=store, rpm=rpm)

    def cache_scope(self) -> str:
        """What, besides the backend name, changes a translation (a server URL, a model)."""
        return ""

    def scrub(self, text: str) -> str:
        """``text`` with this translator's API key masked, as written and as quoted in a URL."""
        from urllib.parse import quote, quote_plus

        key = self._api_key
        if not key:
            return text
        for form in (key, quote(key, safe=""), quote_plus(key)):
            text = redact(text, form)
        return text

    async def run(self, text: str, source: str, target: str) -> Translation:
        """``translate`` with the cache, the rate limit, the concurrency cap and retries."""
        # This serialisation, not content_key's: stored caches are found by these exact keys.
        key = digest(json.dumps(["translate", self.name, self.cache_scope(), source, target, text]))
        store = self.store if self.cached else None
        if store is not None:
            hit = await in_store(self._store_is_local, store.cache_get, key)
            if hit is not None:
                return Translation(str(hit["text"]), Usage(cached=1))
        if self._semaphore is None:  # created inside the running loop
            self._semaphore = asyncio.Semaphore(self._concurrency)
        semaphore = self._semaphore

        async def attempt() -> Translation:
            async with semaphore:
                await self.limiter.acquire()
                async with asyncio.timeout(self.guard.policy.timeout):
                    return await self.translate(text, source, target)

        result = await retry(attempt, self.guard, name=f"{self.name} translator",
                             gave_up=f"{self.name} translation failed after {{attempts}} tries")  # fmt: skip
        if store is not None and result.text:
            await in_store(self._store_is_local, store.cache_put, key, f"translate:{self.name}", self.cache_scope(),
                           {"text": result.text})  # fmt: skip
        return result


class DeepTranslator(Translator):
    """A deep-translator backend: builds its engine per language pair, calls it in a thread."""

    @abc.abstractmethod
    def engine(self, source: str, target: str) -> Any:
        """The deep-translator object for this language pair."""

    async def translate(self, text: str, source: str, target: str) -> Translation:
        from deep_translator import exceptions as dt

        # ``from None`` throughout: the original exception's text may hold the key.
        try:
            engine = self.engine(source, target)
            loop = asyncio.get_running_loop()
            translated = await loop.run_in_executor(_DEEP_TRANSLATOR_THREADS, engine.translate, text)
        except (dt.LanguageNotSupportedException, dt.InvalidSourceOrTargetLanguage):
            raise InputError(f"{self.name} translator: language pair {source}->{target} not supported") from None
        except (dt.ApiKeyException, dt.AuthorizationException):
            # AuthorizationException's message is "Unauthorized access with the api key <KEY>".
            raise KeyRefused("the API key was missing or refused") from None
        except AugmentError:
            raise
        except Exception as exc:  # requests' connection errors and deep-translator's other complaints
            raise self._error(exc) from None
        if not isinstance(translated, str):
            raise ProviderError(f"{self.name}: no translation returned")
        return Translation(translated, Usage(calls=1))

    def _error(self, exc: Exception) -> ProviderError:
        """The error type for a deep-translator or requests failure, its text scrubbed of the key."""
        import requests
        from deep_translator import exceptions as dt

        detail = self.scrub(f"{self.name}: {type(exc).__name__}: {exc}")
        kinds: list[tuple[type[Exception] | tuple[type[Exception], ...], type[RetryableError]]] = [
            (dt.TooManyRequests, RateLimited),
            ((dt.RequestError, dt.ServerException), ServerError),  # a status that is not 2xx: a reply
            (requests.Timeout, ProviderTimeout),
            (requests.ConnectionError, ConnectionFailed),
            (requests.RequestException, RetryableError),
        ]
        for kind, error in kinds:
            if isinstance(exc, kind):
                return error(detail)
        return ProviderError(detail)


class GoogleTranslator(DeepTranslator):
    name = "google"

    def engine(self, source: str, target: str) -> Any:
        from deep_translator import GoogleTranslator as Engine

        return Engine(source=source, target=target)


class MyMemoryTranslator(DeepTranslator):
    name = "mymemory"

    def engine(self, source: str, target: str) -> Any:
        from deep_translator import MyMemoryTranslator as Engine
        from deep_translator.constants import GOOGLE_LANGUAGES_TO_CODES, MY_MEMORY_LANGUAGES_TO_CODES

        # MyMemory wants regional codes ("de-DE"); accept the two-letter codes the others take.
        names = {code: name for name, code in GOOGLE_LANGUAGES_TO_CODES.items()}

        def regional(code: str) -> str:
            return str(MY_MEMORY_LANGUAGES_TO_CODES.get(names.get(code, ""), code))

        return Engine(source=regional(source), target=regional(target))


class DeepLTranslator(DeepTranslator):
    name = "deepl"

    def __init__(self, *, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        key = api_key or os.environ.get("DEEPL_API_KEY")
        if not key:
            raise ConfigError("the DeepL translator needs an API key: set DEEPL_API_KEY")
        self._api_key = key

    def engine(self, source: str, target: str) -> Any:
        from deep_translator import DeeplTranslator as Engine

        key = self._api_key or ""
        # DeepL's own convention: free-plan keys end in ":fx" and use the free endpoint.
        return Engine(source=source, target=target, api_key=key, use_free_api=key.endswith(":fx"))


class LibreTranslator(DeepTranslator):
    name = "libre"

    def __init__(self, *, url: str = "", api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not url:
            raise ConfigError("the LibreTranslate translator needs the URL of your server (setting libre_url)")
        self.url = url if url.endswith("/") else url + "/"
        self.guard.where = self.url
        # deep-translator refuses an empty key even for servers that need none.
        self._api_key = api_key or os.environ.get("LIBRE_API_KEY") or "none"

    @classmethod
    def create(cls, *, llm: LLMClient | None, store: ResponseCache | None, url: str, rpm: int | None) -> Translator:
        return cls(url=url, store=store, rpm=rpm)

    def cache_scope(self) -> str:
        return self.url

    def engine(self, source: str, target: str) -> Any:
        from deep_translator import LibreTranslator as Engine

        return Engine(source=source, target=target, api_key=self._api_key, custom_url=self.url)


LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "ja": "Japanese", "zh": "Chinese", "zh-CN": "Chinese", "ko": "Korean", "ru": "Russian",
    "ar": "Arabic", "hi": "Hindi", "pl": "Polish", "sv": "Swedish", "tr": "Turkish", "cs": "Czech",
}  # fmt: skip

LLM_TRANSLATE_SYSTEM = (
    "You are a translator. Translate the user's text faithfully. Keep placeholders, code, numbers and "
    "names exactly as they are. Reply with the translation only, no notes or quotes."
)


class LLMTranslator(Translator):
    """Translation by the configured LLM provider; works offline with the local model."""

    name = "llm"
    cached = False  # the LLM client caches the replies itself

    def __init__(self, llm: LLMClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.llm = llm

    @classmethod
    def create(cls, *, llm: LLMClient | None, store: ResponseCache | None, url: str, rpm: int | None) -> Translator:
        if llm is None:
            raise ConfigError("the llm translator needs an LLM provider (choose one with --provider)")
        return cls(llm, store=store, rpm=rpm)

    def cache_scope(self) -> str:
        return f"{self.llm.provider.name}:{self.llm.provider.model}"

    @staticmethod
    def request_for(text: str, source: str, target: str) -> Request:
        src, tgt = LANGUAGE_NAMES.get(source, source), LANGUAGE_NAMES.get(target, target)
        return Request(
            prompt=f"Translate this text from {src} to {tgt}:\n\n{text}",
            system=LLM_TRANSLATE_SYSTEM,
            max_tokens=max(64, len(text) // 2 + 64),
            temperature=0.0,
        )

    async def translate(self, text: str, source: str, target: str) -> Translation:
        completion = await self.llm.complete(self.request_for(text, source, target), label=self.label)
        return Translation(self.cleaned(completion.text), Usage.of(completion))

    def cached_translation(self, text: str, source: str, target: str) -> str | None:
        """The translation the LLM cache holds for this hop (an estimate follows a round trip with it)."""
        hit = self.llm.cached(self.request_for(text, source, target))
        return None if hit is None else self.cleaned(hit.text)

    @staticmethod
    def cleaned(reply: str) -> str:
        return reply.strip().strip('"')


TRANSLATORS: dict[str, type[Translator]] = {
    "google": GoogleTranslator,
    "deepl": DeepLTranslator,
    "mymemory": MyMemoryTranslator,
    "libre": LibreTranslator,
    "llm": LLMTranslator,
}


def make_translator(
    name: str,
    *,
    llm: LLMClient | None = None,
    store: ResponseCache | None = None,
    url: str = "",
    rpm: int | None = None,
) -> Translator:
    """The translator called ``name``; ConfigError when it lacks a key, a URL or an LLM."""
    if name not in TRANSLATORS:
        raise InputError(f"unknown translator '{name}'; choose one of {', '.join(TRANSLATORS)}")
    return TRANSLATORS[name].create(llm=llm, store=store, url=url, rpm=rpm)
