"""Word-level change highlighting, safe for untrusted dataset text.

Every token is passed through ``html.escape`` before any markup is added, so text such as
``<script>`` or ``<img onerror=...>`` in a dataset is shown as text and never interpreted.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\s+|[^\s]+")
_NOT_WORD = re.compile(r"[\W_]+")
MINOR_STYLE = "text-decoration:underline dotted;text-underline-offset:3px"


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _key(token: str) -> str:
    """What a word is compared by: its letters and digits in lower case (a mark alone stays itself)."""
    return _NOT_WORD.sub("", token.casefold()) or token


@dataclass(frozen=True)
class Diff:
    """Both sides as HTML, and the words that changed only in case or punctuation (old, new)."""

    original_html: str
    candidate_html: str
    minor: list[tuple[str, str]] = field(default_factory=list)


def highlight_changes(original: str, candidate: str) -> Diff:
    """Removed words struck through on the left, new words marked on the right; a word whose case
    or punctuation alone changed ("Describe" / "describe", "list" / "list,") is underlined dotted
    instead, and listed in ``minor``. Whitespace changes are not marked."""
    left, right = _tokens(original), _tokens(candidate)
    left_words = [i for i, t in enumerate(left) if not t.isspace()]
    right_words = [i for i, t in enumerate(right) if not t.isspace()]
    matcher = difflib.SequenceMatcher(
        None, [_key(left[i]) for i in left_words], [_key(right[i]) for i in right_words], autojunk=False
    )
    marks: dict[int, str] = {}
    adds: dict[int, str] = {}
    minor: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            for i, j in zip(left_words[a1:a2], right_words[b1:b2], strict=True):
                if left[i] != right[j]:
                    marks[i], adds[j] = "minor", "minor"
                    minor.append((left[i], right[j]))
            continue
        for i in left_words[a1:a2]:
            marks[i] = "minor" if not _NOT_WORD.sub("", left[i]) else "del"
            if marks[i] == "minor":
                minor.append((left[i], ""))
        for j in right_words[b1:b2]:
            adds[j] = "minor" if not _NOT_WORD.sub("", right[j]) else "mark"
            if adds[j] == "minor":
                minor.append(("", right[j]))
    return Diff(_render(left, marks), _render(right, adds), minor)


def _render(tokens: list[str], changed: dict[int, str]) -> str:
    parts = []
    for i, token in enumerate(tokens):
        safe = html.escape(token, quote=True)
        tag = changed.get(i)
        if tag == "minor":
            parts.append(f'<span class="aug-minor" style="{MINOR_STYLE}">{safe}</span>')
        else:
            parts.append(f"<{tag}>{safe}</{tag}>" if tag else safe)
    return "".join(parts)


def escaped_block(body_html: str, title: str) -> str:
    """A titled box for already-escaped HTML; the title is escaped here."""
    return (
        '<div class="aug-side" style="border:1px solid rgba(128,128,128,.35);border-radius:.5rem;'
        'padding:.6rem .8rem;white-space:pre-wrap;overflow-wrap:anywhere;min-height:3rem">'
        f'<div style="font-size:.8rem;opacity:.7;margin-bottom:.3rem">{html.escape(title)}</div>'
        f"{body_html}</div>"
    )
