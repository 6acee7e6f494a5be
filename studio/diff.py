"""Word-level change highlighting, safe for untrusted dataset text.

Every token is passed through ``html.escape`` before any markup is added, so text such as
``<script>`` or ``<img onerror=...>`` in a dataset is shown as text and never interpreted.
"""

from __future__ import annotations

import difflib
import html
import re

_TOKEN = re.compile(r"\s+|[^\s]+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def highlight_changes(original: str, candidate: str) -> tuple[str, str]:
    """HTML for both sides: removed words struck through on the left, new words marked on the right."""
    left, right = _tokens(original), _tokens(candidate)
    # Compare words only: whitespace changes are not worth a highlight.
    left_words = [i for i, t in enumerate(left) if not t.isspace()]
    right_words = [i for i, t in enumerate(right) if not t.isspace()]
    matcher = difflib.SequenceMatcher(
        None, [left[i] for i in left_words], [right[i] for i in right_words], autojunk=False
    )
    removed: set[int] = set()
    added: set[int] = set()
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            removed.update(left_words[a1:a2])
            added.update(right_words[b1:b2])
    return _render(left, removed, "del"), _render(right, added, "mark")


def _render(tokens: list[str], changed: set[int], tag: str) -> str:
    parts = []
    for i, token in enumerate(tokens):
        safe = html.escape(token, quote=True)
        parts.append(f"<{tag}>{safe}</{tag}>" if i in changed else safe)
    return "".join(parts)


def escaped_block(body_html: str, title: str) -> str:
    """A titled box for already-escaped HTML; the title is escaped here."""
    return (
        '<div class="aug-side" style="border:1px solid rgba(128,128,128,.35);border-radius:.5rem;'
        'padding:.6rem .8rem;white-space:pre-wrap;overflow-wrap:anywhere;min-height:3rem">'
        f'<div style="font-size:.8rem;opacity:.7;margin-bottom:.3rem">{html.escape(title)}</div>'
        f"{body_html}</div>"
    )
