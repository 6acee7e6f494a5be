"""Output variations: a brief version (at most ``max_words`` words, counted and enforced) and a
structured version with bullet points, written by the LLM. The only augmenter on the output side.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from augment_core.augmenters.base import (
    Augmenter,
    Output,
    PlannedCall,
    Setting,
    Usage,
    prompt_hash,
    require_llm,
)
from augment_core.errors import AugmentError, ConfigError
from augment_core.guards import normalise
from augment_core.llm.base import Request
from augment_core.llm.usage import estimate_tokens
from augment_core.records import get_field

if TYPE_CHECKING:
    from augment_core.llm.client import LLMClient
    from augment_core.store import Store

SYSTEM = (
    "You rewrite answers in a dataset used to fine-tune language models. Keep every fact, number, "
    "name and code snippet of the original; add nothing new. Reply with the rewritten answer only."
)
BRIEF = """Rewrite the answer below in at most {limit} words. Keep its meaning.

Answer:
{text}"""
BRIEF_AGAIN = """Your version had {count} words; the limit is {limit}.
Rewrite the answer below in at most {limit} words.

Answer:
{text}"""
STRUCTURED = """Rewrite the answer below as a short list of bullet points, one point per line, each line
starting with "- ". Keep its meaning.

Answer:
{text}"""
PROMPT_HASHES = {"brief": prompt_hash(SYSTEM, BRIEF, BRIEF_AGAIN), "structured": prompt_hash(SYSTEM, STRUCTURED)}
_BULLET = re.compile(r"^\s*(?:[-*•‣▪]|\d+[.)])\s+")


def word_count(text: str) -> int:
    """Whitespace-separated words, as a reader counts a word limit ("e.g." and "3.5" are one word
    each); not guards.words, which splits on punctuation and would count differently."""
    return len(text.split())


def as_bullets(text: str) -> str | None:
    """The reply's bullet lines, normalised to "- "; None when it has fewer than two bullets."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    bullets = [_BULLET.sub("- ", line.rstrip(), count=1) for line in lines if _BULLET.match(line)]
    if len(bullets) < 2:
        return None
    return "\n".join(bullets)


class OutputVariations(Augmenter):
    """A brief and a bullet-point version of each output."""

    name = "outputs"
    description = "Rewrite each output as a brief version (word limit enforced) and as bullet points."
    side = "output"
    needs_llm = True
    settings = (
        Setting("variants", "list", ("brief", "structured"), "which versions: brief, structured", identity=False),
        Setting("max_words", "int", 50, "word limit of the brief version", minimum=1),
        Setting("temperature", "float", 0.3, "sampling temperature", minimum=0),
    )

    def __init__(self, llm: LLMClient, **options: Any) -> None:
        super().__init__(**options)
        self.llm = llm
        unknown = set(self.options["variants"]) - set(PROMPT_HASHES)
        if unknown:
            raise ConfigError(f"outputs: unknown variant {', '.join(sorted(unknown))}; choose brief, structured")

    @classmethod
    def from_options(
        cls, options: dict[str, Any], *, llm: LLMClient | None = None, store: Store | None = None
    ) -> Augmenter:
        return cls(require_llm(llm, cls.name), **options)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "provider": self.llm.provider.name, "model": self.llm.provider.model}

    def backend(self) -> dict[str, str | None]:
        return {"provider": self.llm.provider.name, "model": self.llm.provider.model}

    def slots(self) -> list[str] | None:
        return [str(v) for v in self.options["variants"]]

    def _request(self, template: str, text: str, **extra: Any) -> Request:
        limit = int(self.options["max_words"])
        budget = limit * 2 + 32 if template != STRUCTURED else estimate_tokens(text) * 2 + 64
        return Request(
            prompt=template.format(text=text, limit=limit, **extra),
            system=SYSTEM,
            max_tokens=min(4096, budget),
            temperature=float(self.options["temperature"]),
        )

    def plan(self, record: dict[str, Any], field: str, schema: str) -> list[PlannedCall]:
        text = get_field(record, field)
        if not text.strip():
            return []
        templates = {"brief": BRIEF, "structured": STRUCTURED}
        expected = {"brief": int(self.options["max_words"]) * 4 // 3, "structured": estimate_tokens(text) + 16}
        return [PlannedCall(self._request(templates[v], text), expected[v]) for v in self.options["variants"]]

    async def augment(self, record: dict[str, Any], field: str, schema: str) -> list[Output]:
        text = get_field(record, field)
        if not text.strip():
            return []
        outputs = []
        for variant in self.options["variants"]:
            usage = Usage()
            params = {"variant": variant, "prompt_hash": PROMPT_HASHES[variant], "model": self.llm.provider.model}
            try:
                made, error = await (self._brief(text, usage) if variant == "brief" else self._structured(text, usage))
            except ConfigError:
                raise
            except AugmentError as exc:
                made, error = None, str(exc)
            if error is not None:
                outputs.append(Output(slot=variant, usage=usage, error=error, params=params))
            elif made and normalise(made) != normalise(text):
                outputs.append(Output(slot=variant, text=made, usage=usage, params=params))
        return outputs

    # Replies are cached only once they passed the checks, so a rerun asks again for a failure.

    async def _brief(self, text: str, usage: Usage) -> tuple[str | None, str | None]:
        limit = int(self.options["max_words"])
        first = self._request(BRIEF, text)
        completion = await self.llm.complete(first, label=self.name, cache=False)
        usage.add(Usage.of(completion))
        replies = [(first, completion)]
        reply = completion.text.strip()
        if word_count(reply) > limit:  # one more try, told how far over it was
            again = self._request(BRIEF_AGAIN, text, count=word_count(reply))
            completion = await self.llm.complete(again, label=self.name, cache=False)
            usage.add(Usage.of(completion))
            replies.append((again, completion))
            reply = completion.text.strip()
        if not reply:
            return None, "the model gave an empty reply"
        if word_count(reply) > limit:
            return None, f"brief version has {word_count(reply)} words, over the limit of {limit}"
        for request, answer in replies:
            await self.llm.remember(request, answer)
        return reply, None

    async def _structured(self, text: str, usage: Usage) -> tuple[str | None, str | None]:
        request = self._request(STRUCTURED, text)
        completion = await self.llm.complete(request, label=self.name, cache=False)
        usage.add(Usage.of(completion))
        bullets = as_bullets(completion.text)
        if bullets is None:
            return None, "structured version has fewer than two bullet points"
        await self.llm.remember(request, completion)
        return bullets, None
