"""Message content as OpenAI writes it: a string, or a list of parts (text, images, audio, ...).

A text part is ``{"type": "text", "text": ...}`` or the variant ``{"type": "text", "value": ...}``.
Only text parts are text to augment; every other part is kept exactly as read and shown as a
placeholder (``[image]``). A rewritten text part is addressed by its own path,
``messages.2.content.0.text``, so ``records.get_field`` / ``with_field`` reach it like any field.
"""

from __future__ import annotations

from typing import Any

# Turn keys whose presence lets an assistant turn carry no text (a tool call, OpenAI style).
TOOL_CALL_KEYS = ("tool_calls", "function_call")


def text_key(part: Any) -> str | None:
    """The key holding a text part's text (``text`` or ``value``); None for any other part."""
    if not isinstance(part, dict) or part.get("type") != "text":
        return None
    for key in ("text", "value"):
        if isinstance(part.get(key), str):
            return key
    return None


def placeholder(part: Any) -> str:
    """How a part that is not text reads in review and previews: ``[image]``, ``[audio]``."""
    kind = part.get("type") if isinstance(part, dict) else None
    name = str(kind) if kind else "part"
    return f"[{name.removesuffix('_url').removeprefix('input_')}]"


def content_text(content: Any, placeholders: bool = False) -> str:
    """The text of a content value: the string, or its text parts joined by newlines.

    With ``placeholders`` every other part shows as ``[image]`` and the like, in place.
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    pieces = []
    for part in content:
        key = text_key(part)
        if key is not None:
            pieces.append(part[key])
        elif placeholders:
            pieces.append(placeholder(part))
    return "\n".join(pieces)


def content_paths(prefix: str, content: Any) -> list[str]:
    """Paths of the text an augmenter may rewrite: ``prefix`` itself, or each non-empty text part."""
    if isinstance(content, str):
        return [prefix]
    if not isinstance(content, list):
        return []
    paths = []
    for i, part in enumerate(content):
        key = text_key(part)
        if key is not None and part[key].strip():
            paths.append(f"{prefix}.{i}.{key}")
    return paths


def content_problem(turn: dict[str, Any], key: str) -> tuple[str, str] | None:
    """``(field, problem)`` when ``turn[key]`` is not content a message may hold; None when it is.

    A string, or a list of part objects each naming its ``type`` (a text part's text a string).
    No content at all is fine on a turn that calls a tool instead.
    """
    content = turn.get(key)
    if isinstance(content, str):
        return None
    if content is None and any(turn.get(k) for k in TOOL_CALL_KEYS):
        return None
    if not isinstance(content, list):
        got = "null" if content is None else type(content).__name__
        return key, f"expected a string or a list of content parts, got {got}"
    for i, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            return f"{key}.{i}", "expected a content part object with a 'type'"
        if part["type"] == "text" and text_key(part) is None:
            return f"{key}.{i}", "a text part needs a string 'text' (or 'value')"
    return None
