"""Instruction-format variations: the seed's patterns and more, written correctly, no model needed.

Rules (issue 5): lower-case only the first letter and only when it does not start a proper noun
or acronym ("Python", "SQL", "I"); never doubled punctuation (a question becomes
"Can you tell me ...?", never "Can you what is ...??"); trailing punctuation fitted to the
template; an instruction with embedded content (a colon mid-text, several sentences, a line
break, a closing quote) keeps its own ending and only gets prefixes that do not disturb it.
All-caps is an opt-in "noisy" variation. The choice of templates is deterministic for a seed.

Only instructions are varied: the input field is the data the instruction operates on, so
templates never rewrite it (there is no include_input setting). An embedded wh-question is
un-inverted only where that is safe ("what does X do" -> "what X does", "how do I" -> "how I",
"where should I" -> "where I should", "what are the X" -> "what the X are"); otherwise the
"Can you tell me" form is not offered. A variant that differs from the original only in case
or punctuation adds nothing and is dropped (the opt-in ALL-CAPS variation excepted).

Only the frames that fit the instruction's shape (instruction_shape.py) are written: imperatives
take "Please ...", "Can you ...?" and the rest; a noun phrase ("A poem about the sea") takes
"Please give me ..."; a question takes "Please answer this question: ..."; a statement or a
context clause is held whole ("Please help with the following: ..."); a greeting or small talk
("hi", "thanks") takes none. A greeting before a request is kept: "Hi, please write ...".
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from augment_core.augmenters.base import Augmenter, Output, Setting
from augment_core.augmenters.instruction_shape import Parsed, lower_first, parse
from augment_core.augmenters.lexicon import AUX_WORDS, WH_WORDS
from augment_core.guards import normalise
from augment_core.records import get_field

__all__ = ["TEMPLATES", "Templates", "lower_first", "parse", "uninvert", "variations"]

def _framed(p: Parsed) -> bool:
    """Text that a prefix cannot join grammatically: a statement, or a question with more after it."""
    return p.kind == "other" or (p.kind in ("wh", "yn") and not p.simple)


def _asks(p: Parsed) -> bool:
    """A question a question frame can hold: one sentence."""
    return p.kind in ("wh", "yn") and p.simple


def _statement_end(p: Parsed) -> str:
    """The ending for a statement-shaped template: a colon stays (input follows), else a full stop."""
    if not p.simple:
        return p.end
    return ":" if p.end.startswith(":") else "."


def _question(p: Parsed) -> str:
    return p.core + "?"


def _sentence(text: str) -> str:
    """``text`` able to start a sentence: its first letter upper-cased ("rewrite ..." -> "Rewrite ...")."""
    return text[:1].upper() + text[1:]


_SUBJECT_PRONOUNS = frozenset("i you we they he she it".split())
_MODALS = frozenset("can could will would should shall may might must".split())
_COPULAS = frozenset({"is", "are", "was", "were"})
_DETERMINERS = frozenset("the a an this that these those your my our their his her its some".split())
_FINAL_VERBS = {"do": "does", "mean": "means", "work": "works", "cost": "costs", "represent": "represents",
                "say": "says", "stand for": "stands for", "look like": "looks like"}  # fmt: skip
_TAIL_WORDS = frozenset("of for with about in on from to like by at into".split())


def uninvert(core: str) -> str | None:
    """A direct wh-question as an embedded clause ("what does X do" -> "what X does"); the question
    itself when it has no inversion ("who wrote Dune"); None when un-inverting it is not safe."""
    words = core.split()
    if len(words) < 2 or words[0].lower() not in WH_WORDS:
        return None
    wh, aux, rest = words[0], words[1].lower(), words[2:]
    lowered = [w.lower().strip(",;") for w in rest]
    if aux not in AUX_WORDS:
        # No auxiliary right after the wh-word: a subject question ("who wrote X") needs nothing,
        # but one later ("what color is the sky", "how many legs does X have") is inverted.
        return None if any(w.lower() in AUX_WORDS or "'" in w for w in words[1:]) else core
    # A second auxiliary makes the clause too complex to reorder ("does" keeps its final "do").
    if not rest or any(w in AUX_WORDS for w in (lowered[:-1] if aux == "does" else lowered)):
        return None
    if aux == "do" and lowered[0] in ("i", "you", "we", "they"):
        return " ".join([wh, *rest])  # how do I bake bread -> how I bake bread
    if aux in _MODALS and lowered[0] in _SUBJECT_PRONOUNS and len(rest) > 1:
        return " ".join([wh, rest[0], aux, *rest[1:]])  # where should I go -> where I should go
    if aux == "does":
        tail = " ".join(lowered[-2:])
        for verb, third in _FINAL_VERBS.items():
            size = len(verb.split())
            if (tail if size == 2 else lowered[-1]) == verb and len(rest) > size:
                return " ".join([wh, *rest[:-size], third])  # what does the tag do -> what the tag does
        return None
    if (
        aux in _COPULAS
        and wh.lower() in ("what", "who", "which", "where")
        and lowered[0] in _DETERMINERS | _SUBJECT_PRONOUNS
        and lowered[-1] not in _TAIL_WORDS
        and not any(w.endswith(("ing", "ed")) for w in lowered[1:])
    ):
        return " ".join([wh, *rest, aux])  # what are the benefits of X -> what the benefits of X are
    return None


Template = Callable[[Parsed], str | None]


def _please(p: Parsed) -> str | None:
    if p.kind == "imperative":
        return f"Please {lower_first(p.core)}{_statement_end(p)}"
    if _framed(p):
        return f"Please help with the following: {p.original}"
    return f"Please answer this question: {_question(p)}" if _asks(p) else None


def _can_you(p: Parsed) -> str | None:
    if _framed(p):
        return f"Can you help me with the following? {_sentence(p.original)}"
    if p.kind == "imperative":
        return f"Can you {lower_first(p.core)}?" if p.simple else None
    if p.kind == "wh":
        clause = uninvert(p.core)  # "Can you tell me what does X do?" is never written
        return f"Can you tell me {lower_first(clause)}?" if clause else None
    return None


def _i_need(p: Parsed) -> str | None:
    if p.kind == "imperative":
        return f"I need you to {lower_first(p.core)}{_statement_end(p)}"
    if _framed(p):
        return f"I need your help with this: {p.original}"
    return f"I need to know: {lower_first(p.core)}?" if _asks(p) else None


def _colon(p: Parsed) -> str | None:
    if p.kind != "imperative" or not p.simple or p.end.startswith(":"):
        return None
    return f"{_sentence(p.core)}:"


def _could_you(p: Parsed) -> str | None:
    if p.kind != "imperative" or not p.simple:
        return None
    return f"Could you {lower_first(p.core)}?"


def _polite(p: Parsed) -> str | None:
    if p.kind == "imperative":
        return f"I would appreciate it if you could {lower_first(p.core)}{_statement_end(p)}"
    if _framed(p):
        return f"I would appreciate your help with this: {p.original}"
    return f"If you don't mind, {lower_first(p.core)}?" if _asks(p) else None


def _terse(p: Parsed) -> str | None:
    if p.kind != "imperative" or not p.simple:
        return None
    return f"{p.core[0].upper()}{p.core[1:]}."


# A request named by its object ("A poem about the sea") takes a verb of giving, never "Please a poem".
def _give_me(p: Parsed) -> str | None:
    return f"Please give me {lower_first(p.core)}{_statement_end(p)}" if p.kind == "noun" else None


def _can_you_give(p: Parsed) -> str | None:
    return f"Can you give me {lower_first(p.core)}?" if p.kind == "noun" else None


def _could_you_give(p: Parsed) -> str | None:
    return f"Could you give me {lower_first(p.core)}?" if p.kind == "noun" else None


def _would_like(p: Parsed) -> str | None:
    return f"I would like {lower_first(p.core)}{_statement_end(p)}" if p.kind == "noun" else None


# Template id -> (description, function). Ids are stable: they go into candidate ids.
TEMPLATES: dict[str, tuple[str, Template]] = {
    "please": ("Please ...", _please),
    "can_you": ("Can you ...? / Can you tell me ...?", _can_you),
    "i_need": ("I need you to ...", _i_need),
    "terse": ("terse imperative", _terse),  # before "colon": of two forms that differ only in punctuation, the plainer
    "colon": ("...:", _colon),
    "question": ("Could you ...?", _could_you),
    "polite": ("I would appreciate it if you could ...", _polite),
    "give_me": ("Please give me <a thing>.", _give_me),
    "can_you_give": ("Can you give me <a thing>?", _can_you_give),
    "could_you_give": ("Could you give me <a thing>?", _could_you_give),
    "would_like": ("I would like <a thing>.", _would_like),
}
NOISY = "noisy_caps"


def variations(text: str, *, noisy: bool = False) -> dict[str, str]:
    """Every template that fits ``text``, by template id; none equal to the original."""
    if not text.strip():
        return {}
    parsed = parse(text)
    out: dict[str, str] = {}
    # Case and punctuation do not count: "Explain X:" for "Explain X." teaches nothing new.
    seen = {normalise(text)}
    for template_id, (_, template) in TEMPLATES.items():
        variant = template(parsed)
        if variant and parsed.greeting:  # "Hi, can you ...?" -> "Hi, please ..."
            variant = f"{parsed.greeting} {lower_first(variant) if parsed.greeting.endswith(',') else variant}"
        if variant and normalise(variant) not in seen:
            seen.add(normalise(variant))
            out[template_id] = variant
    if noisy and text.strip().upper() != text.strip():
        out[NOISY] = text.strip().upper()
    return out


class Templates(Augmenter):
    """Instruction-format variations from fixed patterns (no model); the input field is never varied."""

    name = "templates"
    description = (
        "Rewrite instructions with fixed patterns (Please ..., Can you ...?, I need you to ...), no model "
        "needed; the input field is data and is never rewritten."
    )
    side = "instruction"
    settings = (
        Setting("n", "int", 3, "variations per instruction (at most those that fit)", identity=False, minimum=1),
        Setting("seed", "int", 0, "random seed: the same seed picks the same templates"),
        Setting("noisy", "bool", False, "also allow the ALL-CAPS variation (noisy data)"),
    )

    async def augment(self, record: dict[str, Any], field: str, schema: str) -> list[Output]:
        text = get_field(record, field)
        found = variations(text, noisy=bool(self.options["noisy"]))
        ids = sorted(found)
        # Seeded by the text itself so a record's choice does not depend on its position.
        random.Random(f"{self.options['seed']}:{text}").shuffle(ids)
        chosen = ids[: int(self.options["n"])]
        return [Output(slot=t, text=found[t], params={"template": t}) for t in chosen]
