"""Meaning guards: cheap, explainable checks that a rewrite kept what must not change.

Embedding similarity misses a changed number or a dropped "not". Each guard extracts the items
that must survive a paraphrase (numbers, quantities, dates, named entities, code spans, URLs,
placeholders, negations) from the original and the candidate and reports what differs, as a
readable flag such as ``number 700-1000 missing``. Pure Python, no model: a pair takes
microseconds. ``words`` is also the tokeniser behind ``unique_words``.
"""

from __future__ import annotations

import re
from collections import Counter

from augment_core.records import FLAG_KINDS, Flag

# Words: letters/digits with inner apostrophes or hyphens; case-folded, so "The," == "the".
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    """The words of ``text``, case-folded and without punctuation ("Don't!" -> ["don't"])."""
    return [w.replace("’", "'") for w in _WORD.findall(text.casefold())]


def normalise(text: str) -> str:
    """Text reduced to its words, for exact-duplicate checks that ignore case and punctuation."""
    return " ".join(words(text))



# ---- numbers and quantities ------------------------------------------------------------------

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000, "dozen": 12,
}  # fmt: skip
_SCALES = {"thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000, "k": 1000, "bn": 1_000_000_000}
# A number: 1,000 / 3.5 / .5 / 1/2, optionally a range (700-1000, 5 to 10), with a scale word.
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|\.\d+"
_NUMBER = re.compile(
    rf"(?<![\w.])(?P<a>{_NUM})(?:\s*(?:-|–|to)\s*(?P<b>{_NUM}))?"
    r"(?:\s*(?P<scale>thousand|million|billion|bn|k)\b)?"
    r"\s*(?P<unit>%|percent\b|per cent\b|[a-zA-Z°$€£]+)?",
    re.IGNORECASE,
)
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_CURRENCY = {"$": "$", "€": "€", "£": "£", "usd": "$", "dollar": "$", "dollars": "$", "eur": "€", "euro": "€",
             "euros": "€", "gbp": "£", "pound": "£", "pounds": "£", "cents": "cent", "cent": "cent"}  # fmt: skip
_UNITS = {
    "%": "%", "percent": "%", "per cent": "%", "pct": "%",
    "km": "km", "kilometer": "km", "kilometers": "km", "kilometre": "km", "kilometres": "km",
    "m": "m", "meter": "m", "meters": "m", "metre": "m", "metres": "m",
    "cm": "cm", "mm": "mm", "mi": "mi", "mile": "mi", "miles": "mi", "ft": "ft", "foot": "ft", "feet": "ft",
    "in": "in", "inch": "in", "inches": "in", "kg": "kg", "kilogram": "kg", "kilograms": "kg",
    "g": "g", "gram": "g", "grams": "g", "lb": "lb", "lbs": "lb", "pound-weight": "lb", "oz": "oz", "ounces": "oz",
    "l": "l", "liter": "l", "liters": "l", "litre": "l", "litres": "l", "ml": "ml",
    "s": "s", "sec": "s", "second": "s", "seconds": "s", "min": "min", "minute": "min", "minutes": "min",
    "h": "h", "hr": "h", "hour": "h", "hours": "h", "day": "day", "days": "day", "week": "week", "weeks": "week",
    "month": "month", "months": "month", "year": "year", "years": "year",
    "°c": "°C", "°f": "°F", "c": "°C", "f": "°F", "gb": "GB", "mb": "MB", "kb": "KB", "tb": "TB",
    **_CURRENCY,
}  # fmt: skip


def _num_value(token: str) -> str:
    """A canonical spelling of a number token: 1,000 -> 1000, 3.50 -> 3.5."""
    token = token.replace(",", "")
    if "/" in token:
        return token
    try:
        value = float(token)
    except ValueError:
        return token
    return str(int(value)) if value.is_integer() else repr(value)


def _scaled(token: str, scale: str | None) -> str:
    if not scale or "/" in token:
        return _num_value(token)
    value = float(token.replace(",", "")) * _SCALES[scale.lower()]
    return str(int(value)) if value.is_integer() else repr(value)


def numbers(text: str) -> dict[str, str | None]:
    """Numbers in ``text`` (canonical spelling -> unit or None), number words included.

    A currency sign before a number counts as its unit ("$5" and "5 dollars" agree).
    """
    found: dict[str, str | None] = {}
    for m in _NUMBER.finditer(text):
        a = _scaled(m["a"], m["scale"])
        key = a if m["b"] is None else f"{a}-{_scaled(m['b'], m['scale'])}"
        unit_word = (m["unit"] or "").lower()
        unit = _UNITS.get(unit_word)
        before = text[max(0, m.start() - 1) : m.start()]
        if unit is None and before in _CURRENCY:
            unit = _CURRENCY[before]
        found.setdefault(key, unit)
    for m in _NUMBER_WORD.finditer(text):
        word = m[1].lower()
        if word in _SCALES and re.search(rf"\d\s*{word}\b", text, re.IGNORECASE):
            continue  # "5 million" was read above as 5000000
        if word == "one":
            continue  # "one of them", "no one": rarely a count that matters
        found.setdefault(str(_NUMBER_WORDS[word]), None)
    return found


def _number_flags(original: str, candidate: str) -> list[Flag]:
    a, b = numbers(original), numbers(candidate)
    flags = [Flag("number", n, "missing") for n in a if n not in b]
    flags += [Flag("number", n, "added") for n in b if n not in a]
    for n, unit in a.items():
        other = b.get(n)
        if n in b and unit and other and unit != other:
            flags.append(Flag("quantity", f"{n} {unit}", f"changed to {n} {other}"))
    return flags


# ---- dates -------------------------------------------------------------------------------------

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]  # fmt: skip
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DATE_WORDS = {m: m for m in _MONTHS} | {m[:3]: m for m in _MONTHS if m != "may"} | {"sept": "september"}
_DATE_WORDS |= {d: d for d in _DAYS} | {d[:3]: d for d in _DAYS}
_DATE_WORDS |= {w: w for w in ("yesterday", "today", "tomorrow", "tonight")}


def dates(text: str) -> set[str]:
    """Month, weekday and relative-day words ("Aug" -> "august"); years are numbers."""
    found = set()
    for w in re.findall(r"[A-Za-z]+", text):
        low = w.lower()
        # "may", "march", "sun", "wed" are also ordinary words: count them only when capitalised.
        if low in _DATE_WORDS and (w[0].isupper() or low in ("yesterday", "today", "tomorrow", "tonight")):
            if low in ("may", "march", "sun", "sat", "wed") and w[0].isupper() and text.lstrip().startswith(w):
                continue
            found.add(_DATE_WORDS[low])
    return found


# ---- named entities ----------------------------------------------------------------------------

# Capitalised words that are not names (sentence starts are skipped separately).
_NOT_NAMES = set(
    "i a an the this that these those it its he she we they you your our my his her their there here "
    "what which who whom whose when where why how if but and or so yet for nor not no yes please also "
    "in on at by of to from with as is are was were be been do does did can could will would should may "
    "might must shall however although because while after before then than".split()
) | set(_DATE_WORDS)
# A capitalised word may hold inner dots (U.S.) but a dot before a space ends the run.
_CAP_WORD = r"[A-Z](?:[\w'’&-]|\.(?=\w))*"
_CAP_SEQ = re.compile(rf"\b{_CAP_WORD}(?:[ \t]+(?:of[ \t]+|de[ \t]+|the[ \t]+)?{_CAP_WORD})*")
_SENTENCE_ENDS = frozenset('.!?:;"“(\n')


def _starts_sentence(text: str, at: int) -> bool:
    """Whether position ``at`` begins a sentence: only spaces after an end mark or the start."""
    i = at - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_ENDS


def entities(text: str) -> set[str]:
    """Named-entity-like spans: runs of capitalised words not at a sentence start, acronyms.

    A heuristic without a model: it errs towards proposing too many (a later check against the
    candidate's words, case-insensitively, keeps false alarms down).
    """
    found: set[str] = set()
    for m in _CAP_SEQ.finditer(text):
        parts = [p.strip(".'’") for p in m[0].split()]
        if _starts_sentence(text, m.start()):
            parts = parts[1:]  # the first word may be capitalised only because it starts a sentence
        while parts and (parts[0].lower() in _NOT_NAMES or not parts[0][:1].isupper()):
            parts = parts[1:]
        while parts and parts[-1].lower() in _NOT_NAMES:
            parts = parts[:-1]
        if parts:
            found.add(" ".join(parts))
    return found


def _entity_flags(original: str, candidate: str) -> list[Flag]:
    # An entity survives when each of its words appears in the other text in any case, so
    # "Lincoln Near-Earth Asteroid Research" kept as "lincoln near-earth asteroid research" passes.
    a_words, b_words = set(words(original)), set(words(candidate))
    flags = []
    for ent in sorted(entities(original)):
        if not set(words(ent)) <= b_words:
            flags.append(Flag("entity", f"'{ent}'", "missing"))
    for ent in sorted(entities(candidate)):
        if not set(words(ent)) <= a_words:
            flags.append(Flag("entity", f"'{ent}'", "added"))
    return flags


# ---- literal spans: code, URLs, placeholders ---------------------------------------------------

_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+|\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_PLACEHOLDER = re.compile(
    r"\{\{?\s*[\w.-]*\s*\}?\}"  # {name}, {{ name }}
    r"|</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>"  # <tag>, </tag>, <br/>
    r"|%\(\w+\)[sd]|%[sd]|\$\{?[A-Za-z_]\w*\}?"  # %(name)s, %s, $VAR, ${VAR}
)


def _literal_flags(kind: str, pattern: re.Pattern[str], original: str, candidate: str) -> list[Flag]:
    a = Counter(m.rstrip(".,;:") for m in pattern.findall(original))
    b = Counter(m.rstrip(".,;:") for m in pattern.findall(candidate))
    flags = [Flag(kind, item, "missing") for item in a if b[item] < a[item]]
    return flags + [Flag(kind, item, "added") for item in b if a[item] < b[item]]


# ---- negation ----------------------------------------------------------------------------------

_NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without", "cannot"}


# Set phrases whose negation word negates nothing ("if you don't mind", "not only ... but").
_NON_NEGATING = re.compile(
    r"\b(?:if you (?:do not|don't|don’t) mind|(?:do not|don't|don’t) hesitate|no problem|not only|no doubt|"
    r"(?:can't|cannot|can’t) help but|(?:would not|wouldn't|wouldn’t) mind)\b",
    re.IGNORECASE,
)


def negations(text: str) -> int:
    """How many negation cues ``text`` holds ("not", "never", "n't", "without", ...), set phrases aside."""
    return sum(1 for w in words(_NON_NEGATING.sub(" ", text)) if w in _NEGATIONS or w.endswith("n't"))


def _negation_flags(original: str, candidate: str) -> list[Flag]:
    a, b = negations(original), negations(candidate)
    if a == b:
        return []
    return [Flag("negation", "", "added" if b > a else "removed")]


# ---- all guards --------------------------------------------------------------------------------

KINDS = FLAG_KINDS


def check(original: str, candidate: str) -> list[Flag]:
    """Every difference the guards find between ``original`` and ``candidate``."""
    flags = _number_flags(original, candidate)
    da, db = dates(original), dates(candidate)
    flags += [Flag("date", d, "missing") for d in sorted(da - db)] + [Flag("date", d, "added") for d in sorted(db - da)]
    flags += _entity_flags(original, candidate)
    flags += _literal_flags("code", _CODE, original, candidate)
    flags += _literal_flags("url", _URL, original, candidate)
    # Placeholders inside code spans are the code guard's business.
    flags += _literal_flags("placeholder", _PLACEHOLDER, _CODE.sub(" ", original), _CODE.sub(" ", candidate))
    flags += _negation_flags(original, candidate)
    return flags
