"""What shape an instruction has, so that only the frames that fit it are written (issue 15).

An instruction is one of: a greeting or small talk ("hi", "thanks", "how are you?"), a wh- or
yes/no question, a noun phrase ("A poem about the sea", "Three tips for staying healthy"), an
imperative ("Explain recursion", also lower-case), or something else (a statement, a context
clause before the task: "Given a list, ...", "You are ..."). Whether it is one plain sentence or
carries embedded content (several sentences, a colon, a line break, a code block, a closing quote)
is a second, independent property. Rules only, no tagger: a closed lexicon of imperative verbs
decides the imperative, because "anything that is not a known non-verb" read "hi", "poem" and
"thanks" as verbs. A greeting before a request ("Hi, can you ...") is kept and the request
parsed on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from augment_core.augmenters.lexicon import (
    AUX_WORDS,
    COMMON_WORDS,
    GREETINGS,
    NOT_VERBS,
    NOUN_BEFORE_OF,
    PAST_VERBS,
    PROPER_WORDS,
    QUANTIFIERS,
    VERBS,
    WH_WORDS,
)

Kind = Literal["greeting", "imperative", "wh", "yn", "noun", "other"]


@lru_cache(maxsize=1024)  # every frame of an instruction lowers the same core
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
    if word.lower() in COMMON_WORDS or word.lower() in VERBS:
        return False
    # An unknown capitalised word followed by another capitalised one is a name: "Harry Potter".
    return bool(following[:1].isupper()) and following != "I"


_POLITE_PREFIX = re.compile(
    r"^(?:(?:can|could|would|will) you(?: please)?|please,?|kindly|i need you to|i want you to|i'd like you to)\s+",
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-Z\"'(]")
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|«[^»]*»')
_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
# A greeting that opens a longer message: "Hi!", "Hello there,", "Good morning." and what follows.
_GREETING_LEAD = re.compile(r"^((?:[A-Za-z']+\s*){1,4}?)([,.!]+)\s+(\S.*)$", re.DOTALL)
# Words that end the head of a noun phrase: what follows is its complement ("a poem | about the sea").
_HEAD_END = frozenset(
    """about for of on to with in from that which who where when whose describing explaining showing
    containing using related regarding like by at between into based written under over without""".split()
)


@dataclass(frozen=True)
class Parsed:
    """An instruction taken apart: its core (politeness and ending removed), kind and ending."""

    original: str  # the text the frames apply to (after a leading greeting)
    core: str  # no polite prefix, no trailing punctuation, first letter as written
    end: str  # the trailing punctuation as written ('' when none)
    kind: Kind
    simple: bool  # one plain sentence: its ending may be replaced to fit a template
    greeting: str = ""  # a greeting before the request with its punctuation ("Hi,"), kept as written


def is_greeting(text: str) -> bool:
    """Only greetings, thanks or small talk ("Hi!", "Thanks a lot.", "Hello, how are you?")."""
    parts = [p for p in re.split(r"[,.!?;…]+", text.casefold().replace("’", "'")) if p.strip()]
    return bool(parts) and all(" ".join(p.split()) in GREETINGS for p in parts)


def parse(text: str) -> Parsed:
    original = text.strip()
    lead = _GREETING_LEAD.match(original)
    if is_greeting(original):
        return Parsed(original, original, "", "greeting", simple=False)
    if lead and is_greeting(lead.group(1)):
        rest = parse(lead.group(3))  # the request after the greeting; the frames apply to it alone
        if rest.kind != "greeting":
            return replace(rest, greeting=lead.group(1).strip() + lead.group(2))
    body = original.rstrip(" .!?:;…")
    end = original[len(body) :].strip()
    core = body
    stripped = _POLITE_PREFIX.sub("", core)
    polite = stripped != core and bool(stripped)
    if polite:
        core = stripped[0].upper() + stripped[1:]
    core = re.sub(r",\s*please$", "", core, flags=re.IGNORECASE)
    embedded = "\n" in original or ":" in body or bool(_SENTENCE_BREAK.search(body)) or body[-1:] in "\"'”’)]`}"
    simple = bool(body) and not embedded
    # "Can you write a poem?" is a request, not a question; "What is X" without "?" is a question.
    # The first sentence ends with "?"; a "?" inside a quotation belongs to the quoted text.
    asks = bool(re.match(r"[^.!?]*\?", _QUOTED.sub('""', original))) and not polite
    return Parsed(original=original, core=core, end=end, kind=_kind(core, asks, simple), simple=simple)


def _kind(core: str, asks: bool, simple: bool) -> Kind:
    words = [w.casefold().replace("’", "'") for w in _WORD.findall(core)]
    first = words[0] if words else ""
    if first in WH_WORDS:
        return "wh"
    verb = bool(first) and first not in NOT_VERBS and _verb(words)
    if asks and not (verb and simple):  # "Explain X?" is still a request
        return "yn"
    if not first or first in AUX_WORDS:
        return "other"
    if verb and not (first in NOUN_BEFORE_OF and words[1:2] == ["of"]) and not _is_name(core):
        return "imperative"
    if simple and _noun_phrase(words):  # "Questions for a job interview" as well as "A poem ..."
        return "noun"
    return "other"


def _verb(words: list[str]) -> bool:
    """The instruction opens with a verb: "Write", "Re-write", "Text-summarize", "Briefly describe"."""
    first = words[0]
    if first in VERBS:
        return True
    if "-" in first:  # "re-word", "reverse-engineer", "text-summarize"
        parts = first.split("-")
        return parts[0] == "re" and "re" + parts[1] in VERBS or parts[0] in VERBS or parts[-1] in VERBS
    return first.endswith("ly") and len(words) > 1 and words[1] in VERBS  # an adverb before the verb


def _is_name(core: str) -> bool:
    """The first word is written as a name ("Mark Twain's novels"), not as a verb."""
    return core[:1].isupper() and lower_first(core) == core


def _noun_phrase(words: list[str]) -> bool:
    """A request named by its object: "A poem about the sea", "Three tips for ...", "Ideas for a party".

    Conservative, because a statement read as a noun phrase gives "Please give me the sky is blue":
    no auxiliary anywhere, no past-tense verb or pronoun in the head, a head of at most five words,
    and a bare noun only when it is a plural followed by its complement ("Tips for ...").
    """
    if any(w in AUX_WORDS or "'" in w and not w.endswith("'s") for w in words):
        return False
    head: list[str] = []
    for word in words:
        if word in _HEAD_END:
            break
        head.append(word)
    complement = len(head) < len(words)
    if not head or len(head) > 5 or any(w in PAST_VERBS or w in ("i", "you", "we", "they", "he", "she", "it")
                                        for w in head):  # fmt: skip
        return False
    if head[0] in QUANTIFIERS or head[0].isdigit():
        return len(head) > 1  # "A poem", "Three tips"; "A" alone is no phrase
    plural = len(head) == 1 and head[0].endswith("s") and not head[0].endswith(("ss", "'s")) and len(head[0]) > 3
    return plural and complement and head[0] not in VERBS
