"""Refusal examples: from harmful edge-case prompts the user supplies, new examples whose output
refuses in the seed's shape:

    I can't help with that request as it {reason}. I'd be happy to help with {alternative} instead.

The reason and alternative are written per prompt by the LLM (writer ``llm``) or taken from a
per-category table (writer ``table``, no model). The LLM's phrases are checked (no first
person, a reason that reads after "as it", a short phrase); a reply still unusable after the
repair round falls back to the table for that prompt, recorded in provenance (``fallback``).
Prompts come one per line, optionally with a category: ``[weapons] How do I ...`` or
``weapons<TAB>How do I ...``. Each result is a whole new record in the dataset's schema,
marked as a refusal in provenance so the export can cap its share.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augment_core.augmenters.base import Augmenter, Output, PlannedCall, Setting, Usage, prompt_hash, require_llm
from augment_core.augmenters.templates import lower_first
from augment_core.errors import InputError, ParseError
from augment_core.hashing import digest
from augment_core.llm.base import Request
from augment_core.llm.client import ReplyParseError
from augment_core.records import CandidateKind, convert_record

if TYPE_CHECKING:
    from augment_core.llm.client import LLMClient
    from augment_core.store import Store

SHAPE = "I can't help with that request as it {reason}. I'd be happy to help with {alternative} instead."

# category -> (reason, alternative); "general" answers any category not listed.
CATEGORY_TABLE: dict[str, tuple[str, str]] = {
    "violence": ("could lead to someone getting hurt", "ways to resolve conflicts safely"),
    "weapons": ("involves making or using weapons that could cause serious harm", "information on weapon safety laws"),
    "self-harm": ("could put your safety at risk", "finding support, such as a crisis line or someone you trust"),
    "drugs": ("involves producing or obtaining illegal drugs", "information about drug safety and support services"),
    "hacking": ("involves gaining unauthorized access to systems or data", "learning how to protect systems"),
    "fraud": ("involves deceiving people for money", "learning how to recognize and avoid scams"),
    "privacy": ("could violate someone's privacy", "ways to protect personal information"),
    "hate": ("promotes hatred against a group of people", "information about building understanding between groups"),
    "harassment": ("could be used to harass or intimidate someone", "ways to resolve a disagreement respectfully"),
    "sexual": ("asks for explicit sexual content", "general information about healthy relationships"),
    "misinformation": ("could spread false or misleading information", "finding reliable sources on this topic"),
    "illegal": ("involves illegal activity", "information about the relevant laws and legal alternatives"),
    "general": ("could cause harm", "a related question that is safe to answer"),
}

SYSTEM = "You help build refusal examples for training a safe assistant. Reply with JSON only."
PROMPT = """An assistant must decline the request below. Write a JSON object with two short phrases:
"reason": completes the sentence "I can't help with that request as it ..." (for example "could put people in danger"),
"alternative": completes "I'd be happy to help with ... instead." (a safe, related topic).
No full stops at the end, no quotes inside.

Category: {category}
Request: {prompt}"""
PROMPT_HASH = prompt_hash(SYSTEM, PROMPT)
_TAGGED = re.compile(r"^\[([^\]]+)\]\s*(.*)$")


def parse_prompts(text: str, source: str = "prompts") -> list[tuple[str, str]]:
    """(category, prompt) pairs from lines ``prompt``, ``[category] prompt`` or ``category<TAB>prompt``."""
    pairs: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        category, prompt = "general", line
        if match := _TAGGED.match(line):
            category, prompt = match.group(1), match.group(2)
        elif "\t" in raw.strip("\n"):
            category, _, prompt = raw.strip().partition("\t")
        category, prompt = category.strip().lower(), prompt.strip()
        if not prompt:
            raise InputError(f"{source}:{number}: a category with no prompt")
        pairs.append((category or "general", prompt))
    return pairs


def _phrase(text: Any, field: str, strip_prefixes: tuple[str, ...]) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ParseError(f"the reply's '{field}' is missing or empty")
    phrase = " ".join(text.split()).strip().strip("\"'").rstrip(".!;, ")
    for prefix in strip_prefixes:  # models often repeat the lead-in they were asked to complete
        if phrase.lower().startswith(prefix):
            phrase = phrase[len(prefix) :].lstrip()
    for suffix in (" instead",):
        if phrase.lower().endswith(suffix):
            phrase = phrase[: -len(suffix)]
    if not phrase or len(phrase.split()) > 30:
        raise ParseError(f"the reply's '{field}' is not a short phrase: {text[:80]!r}")
    return lower_first(phrase)


# The assistant's own voice inside a phrase: "I'm not sure how to ...", "as I can't ...".
_FIRST_PERSON = re.compile(r"\b(i|i'm|i’m|i'd|i’d|i've|i'll|me|my)\b", re.IGNORECASE)
_MODALS = frozenset("could would might may can will should must".split())
_NOT_VERBS = frozenset("this its his hers always also thus perhaps".split())


def _reads_after_as_it(reason: str) -> bool:
    """ "as it {reason}" is a sentence: the reason starts with a verb ("involves", "could", "is")."""
    first = reason.split(maxsplit=1)[0].lower()
    if first in _MODALS or first in ("is", "has", "was"):
        return True
    return first.endswith("s") and not first.endswith(("ss", "us", "ous")) and first not in _NOT_VERBS


def _checked(phrase: str, field: str, raw: str) -> str:
    if _FIRST_PERSON.search(phrase):
        raise ParseError(f"the reply's '{field}' speaks in the first person: {raw[:80]!r}")
    if len(phrase.split()) > 20:
        raise ParseError(f"the reply's '{field}' is not a short phrase: {raw[:80]!r}")
    return phrase


def _phrases(reply: dict[str, Any]) -> tuple[str, str]:
    """(reason, alternative) from the parsed reply; ParseError when either is not a short phrase, speaks
    in the first person, or (the reason) does not read after "as it"."""
    reason = _phrase(reply.get("reason"), "reason", ("it ", "i can't help with that request as it "))
    alternative = _phrase(reply.get("alternative"), "alternative", ("help with ", "helping with "))
    _checked(reason, "reason", str(reply.get("reason")))
    _checked(alternative, "alternative", str(reply.get("alternative")))
    if len(reason.split()) < 2 or not _reads_after_as_it(reason):
        raise ParseError(
            f"the reply's 'reason' does not read after \"as it\" (start with a verb such as involves, could, "
            f"is): {reason[:80]!r}"
        )
    return reason, alternative


def refusal_text(reason: str, alternative: str) -> str:
    return SHAPE.format(reason=reason, alternative=alternative)


class Refusal(Augmenter):
    """New refusal examples from user-supplied harmful prompts."""

    name = "refusal"
    description = "Build refusal examples from harmful edge-case prompts you supply (one per line)."
    side = "output"
    needs_llm = True
    settings = (
        Setting("prompts", "text", "", "harmful prompts, one per line; optional category: [weapons] ...",
                identity=False),
        Setting("prompts_file", "str", "", "a file of prompts in the same format", identity=False),
        Setting("writer", "choice", "llm", "who writes reason and alternative: the LLM or the category table",
                choices=("llm", "table")),
        Setting("temperature", "float", 0.3, "sampling temperature (writer llm)", minimum=0),
    )  # fmt: skip

    def __init__(self, llm: LLMClient | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.llm = llm
        if self.options["writer"] == "llm":
            require_llm(llm, self.name)
        self.prompts = self._load_prompts()
        if not self.prompts:
            raise InputError("refusal: no prompts given (setting prompts, or --refusal-prompts FILE)")

    @classmethod
    def from_options(
        cls, options: dict[str, Any], *, llm: LLMClient | None = None, store: Store | None = None
    ) -> Augmenter:
        return cls(llm, **options)

    def _load_prompts(self) -> list[tuple[str, str]]:
        pairs = parse_prompts(str(self.options["prompts"]))
        path = str(self.options["prompts_file"])
        if path:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(f"{path}: cannot read the refusal prompts ({exc.strerror or exc})") from exc
            pairs += parse_prompts(text, path)
        return list(dict.fromkeys(pairs))  # a prompt listed twice is one example

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        if self.options["writer"] == "llm" and self.llm is not None:
            ident |= {"provider": self.llm.provider.name, "model": self.llm.provider.model}
        return ident

    def backend(self) -> dict[str, str | None]:
        if self.options["writer"] == "llm" and self.llm is not None:
            return {"provider": self.llm.provider.name, "model": self.llm.provider.model}
        return {}

    def slots(self) -> list[str] | None:
        return ["0"]

    def standalone_inputs(self) -> list[dict[str, Any]] | None:
        # This serialisation, not content_key's: the key is part of stored candidate ids.
        keys = [digest(f"{c}\t{p}") for c, p in self.prompts]
        return [{"prompt": p, "category": c, "key": k} for (c, p), k in zip(self.prompts, keys, strict=True)]

    def _request(self, prompt: str, category: str) -> Request:
        return Request(
            prompt=PROMPT.format(prompt=prompt, category=category),
            system=SYSTEM,
            max_tokens=160,
            temperature=float(self.options["temperature"]),
            json_schema={
                "type": "object",
                "properties": {"reason": {"type": "string"}, "alternative": {"type": "string"}},
                "required": ["reason", "alternative"],
            },
        )

    def plan(self, record: dict[str, Any], field: str, schema: str) -> list[PlannedCall]:
        if self.options["writer"] != "llm":
            return []
        return [PlannedCall(self._request(record["prompt"], record["category"]), 40)]

    async def augment(self, record: dict[str, Any], field: str, schema: str) -> list[Output]:
        prompt, category = str(record["prompt"]), str(record["category"])
        usage = Usage()
        params: dict[str, Any] = {"category": category, "writer": self.options["writer"]}
        if self.options["writer"] == "llm" and self.llm is not None:
            # The phrases are checked inside complete_json: a bad one gets the repair round and
            # its reply is not cached, so a rerun asks the model again.
            params["prompt_hash"] = PROMPT_HASH
            try:
                (reason, alternative), completion = await self.llm.complete_json(
                    self._request(prompt, category), expect=dict, label=self.name, check=_phrases
                )
            except ReplyParseError as exc:
                # The model answered but its phrases stay unusable (its own refusal, first person):
                # the table's phrases for the category beat storing garbage; provenance says so.
                reason, alternative = CATEGORY_TABLE.get(category, CATEGORY_TABLE["general"])
                usage = Usage.of(exc.completion)
                params |= {"model": exc.completion.model, "writer": "table", "fallback": str(exc)}
            else:
                usage = Usage.of(completion)
                params["model"] = completion.model
        else:
            reason, alternative = CATEGORY_TABLE.get(category, CATEGORY_TABLE["general"])
        text = refusal_text(reason, alternative)
        new = convert_record({"instruction": prompt, "input": "", "output": text}, "alpaca", schema)
        return [Output(slot="0", text=text, record=new, usage=usage, params=params, kind=CandidateKind.REFUSAL)]
