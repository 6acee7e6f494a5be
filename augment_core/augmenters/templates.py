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
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from augment_core.augmenters.base import Augmenter, Output, Setting
from augment_core.guards import normalise
from augment_core.records import get_field

Kind = Literal["imperative", "wh", "yn", "other"]

WH_WORDS = frozenset({"what", "how", "why", "when", "where", "who", "whom", "whose", "which"})
AUX_WORDS = frozenset(
    """is are am was were do does did can could will would should shall may might must has have had
    isn't aren't wasn't weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't""".split()
)
# Words that start sentences and are never proper nouns: safe to lower-case even before a capital.
COMMON_WORDS = frozenset(
    """a an the this that these those given for in on at to of from with by if when while after before
    using based consider suppose assume imagine let here there your my our their its it you we they he
    she each every all some many any one two three four five few most list name give write create
    generate describe explain summarize summarise translate rewrite edit classify identify find make
    compose construct design develop provide suggest compare calculate determine convert analyze analyse
    tell show choose pick select sort arrange order rank categorize categorise evaluate outline produce
    brainstorm formulate predict propose recommend paraphrase reword correct fix complete fill insert
    add delete remove replace change transform turn take use build draft plan organize organise count
    solve compute simplify expand shorten combine split extract detect discuss illustrate research read
    output return print answer respond reply come think offer state define estimate cite note mention
    search look put keep set get do say ask check verify prove test decide assign match group label
    """.split()
)
# First words that do not start an imperative ("Given a list, ...", "In this task, ...", "You are ...").
NOT_VERBS = frozenset(
    """a an the this that these those given based using in for from on at as after before if when while with
    by to of you we i i'm he she they it my your our their here there one two three four five all some each
    every many any most no not user question questions classification dialogue science arithmetic text
    input instruction task example sentence data provided referring comparing""".split()
)
# Capitalised words that are names wherever they stand (kept even at the start).
PROPER_WORDS = frozenset(
    """python java javascript typescript kotlin scala haskell perl ruby rust php matlab fortran cobol
    linux unix windows android excel word powerpoint google microsoft amazon apple facebook twitter
    netflix tesla wikipedia bitcoin ethereum english french spanish german italian chinese japanese
    russian arabic portuguese korean hindi latin greek dutch swedish american british european african
    asian canadian australian indian mexican brazilian monday tuesday wednesday thursday friday saturday
    sunday january february april june july august september october november december christmas easter
    halloween thanksgiving america europe asia africa antarctica australia china india japan france
    germany italy spain canada mexico brazil russia england scotland ireland london paris tokyo berlin
    rome madrid beijing moscow shakespeare einstein newton darwin lincoln napoleon obama gandhi jesus god
    earth mars jupiter venus saturn mercury neptune uranus pluto""".split()
)


def lower_first(text: str) -> str:
    """``text`` with its first letter lower-cased, unless the first word is a name or acronym."""
    match = re.match(r"([A-Za-z][\w'’-]*)(\s+(\S+))?", text)
    if not match:
        return text
    word, following = match.group(1), match.group(3) or ""
    if not word[0].isupper() or _keeps_case(word, following):
        return text
    return word[0].lower() + text[1:]


def _keeps_case(word: str, following: str) -> bool:
    bare = re.sub(r"['’]s$", "", word)
    if bare.lower() in WH_WORDS or (bare != word and bare.lower() in COMMON_WORDS):
        return False  # a question word is never a name; "What's", "It's" are contractions
    if word == "I" or word.startswith(("I'", "I’")):
        return True
    if any(c.isupper() for c in word[1:]):  # SQL, JavaScript, McDonald
        return True
    if bare.lower() in PROPER_WORDS or bare != word:  # a known name, or a possessive ("Einstein's")
        return True
    if word.lower() in COMMON_WORDS:
        return False
    # An unknown capitalised word followed by another capitalised one is a name: "Harry Potter".
    return bool(following[:1].isupper()) and following != "I"


_POLITE_PREFIX = re.compile(
    r"^(?:(?:can|could|would|will) you(?: please)?|please|kindly|i need you to|i want you to|i'd like you to)\s+",
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-Z\"'(]")
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|«[^»]*»')


@dataclass(frozen=True)
class Parsed:
    """An instruction taken apart: its core (politeness and ending removed), kind and ending."""

    original: str
    core: str  # no polite prefix, no trailing punctuation, first letter as written
    end: str  # the trailing punctuation as written ('' when none)
    kind: Kind
    simple: bool  # one plain sentence: its ending may be replaced to fit a template


def parse(text: str) -> Parsed:
    original = text.strip()
    body = original.rstrip(" .!?:;…")
    end = original[len(body) :].strip()
    core = body
    stripped = _POLITE_PREFIX.sub("", core)
    polite = stripped != core and bool(stripped)
    if polite:
        core = stripped[0].upper() + stripped[1:]
    core = re.sub(r",\s*please$", "", core, flags=re.IGNORECASE)
    first = core.split(maxsplit=1)[0].lower() if core else ""
    # "Can you write a poem?" is a request, not a question; "What is X" without "?" is a question.
    # The first sentence ends with "?"; a "?" inside a quotation belongs to the quoted text.
    asks = bool(re.match(r"[^.!?]*\?", _QUOTED.sub('""', original))) and not polite
    kind: Kind
    if first in WH_WORDS:
        kind = "wh"
    elif asks:
        kind = "yn"
    elif first and first.rstrip(":") not in NOT_VERBS and first not in AUX_WORDS and not _names_thing(core):
        kind = "imperative"
    else:
        kind = "other"
    embedded = "\n" in original or ":" in body or bool(_SENTENCE_BREAK.search(body)) or body[-1:] in "\"'”’)]`}"
    simple = bool(body) and not embedded
    return Parsed(original=original, core=core, end=end, kind=kind, simple=simple)


def _names_thing(core: str) -> bool:
    """The first word is a name or a noun-ish form ("Classification", "Comparing"), not a verb."""
    word = core.split(maxsplit=1)[0]
    return (core[:1].isupper() and lower_first(core) == core) or word.lower().endswith(("ing", "tion", "sion"))


def _framed(p: Parsed) -> bool:
    """Text that a prefix cannot join grammatically: a statement, or a question with more after it."""
    return p.kind == "other" or (p.kind in ("wh", "yn") and not p.simple)


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
    return f"Please answer this question: {_question(p)}"


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
    return f"I need to know: {lower_first(p.core)}?"


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
    return f"If you don't mind, {lower_first(p.core)}?"


def _terse(p: Parsed) -> str | None:
    if p.kind != "imperative" or not p.simple:
        return None
    return f"{p.core[0].upper()}{p.core[1:]}."


# Template id -> (description, function). Ids are stable: they go into candidate ids.
TEMPLATES: dict[str, tuple[str, Template]] = {
    "please": ("Please ...", _please),
    "can_you": ("Can you ...? / Can you tell me ...?", _can_you),
    "i_need": ("I need you to ...", _i_need),
    "terse": ("terse imperative", _terse),  # before "colon": of two forms that differ only in punctuation, the plainer
    "colon": ("...:", _colon),
    "question": ("Could you ...?", _could_you),
    "polite": ("I would appreciate it if you could ...", _polite),
}
NOISY = "noisy_caps"


def variations(text: str, *, noisy: bool = False) -> dict[str, str]:
    """Every template that fits ``text``, by template id; none equal to the original."""
    if not text.strip():
        return {}
    parsed = parse(text)
    out: dict[str, str] = {}
    # Case and punctuation do not count: "Explain X:" for "Explain X." teaches nothing new.
    seen = {normalise(parsed.original)}
    for template_id, (_, template) in TEMPLATES.items():
        variant = template(parsed)
        if variant and normalise(variant) not in seen:
            seen.add(normalise(variant))
            out[template_id] = variant
    if noisy and parsed.original.upper() != parsed.original:
        out[NOISY] = parsed.original.upper()
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
