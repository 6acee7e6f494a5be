"""Checks on one record as read: does it fit its schema (``validate_record``), and can every value
be stored and trained on (``check_values``: length, NUL, lone surrogates, NaN). The importer runs
both on every record and names the field of the first fault (``RecordError``).
"""

from __future__ import annotations

import math
from typing import Any

from augment_core import preference
from augment_core.parts import content_problem
from augment_core.preference import PREFERENCE_SCHEMAS
from augment_core.records import CHAT_LAYOUT, CONTENT_PARTS, REQUIRED_KEYS, SCHEMA_KEYS, RecordError


def validate_record(record: dict[str, Any], schema: str) -> None:
    """Raise RecordError when ``record`` does not fit ``schema``."""
    for key in REQUIRED_KEYS[schema]:
        if key not in record or record[key] is None:
            raise RecordError("missing required field", key)
    if schema in PREFERENCE_SCHEMAS:
        problem = preference.problem(record, schema)
        if problem is not None:
            raise RecordError(problem[1], problem[0])
        return
    if schema in CHAT_LAYOUT:
        list_key, role_key, text_key, _, _ = CHAT_LAYOUT[schema]
        turns = record[list_key]
        if not isinstance(turns, list) or not turns:
            raise RecordError("expected a non-empty list of turns", list_key)
        for i, turn in enumerate(turns):
            if not isinstance(turn, dict):
                raise RecordError("expected an object", f"{list_key}.{i}")
            if not isinstance(turn.get(role_key), str):
                got = _type_name(turn.get(role_key))
                raise RecordError(f"expected a string, got {got}", f"{list_key}.{i}.{role_key}")
            if schema in CONTENT_PARTS:
                problem = content_problem(turn, text_key)
                if problem is not None:
                    raise RecordError(problem[1], f"{list_key}.{i}.{problem[0]}")
            elif not isinstance(turn.get(text_key), str):
                got = _type_name(turn.get(text_key))
                raise RecordError(f"expected a string, got {got}", f"{list_key}.{i}.{text_key}")
        _, _, _, user_roles, assistant_roles = CHAT_LAYOUT[schema]
        roles = {turn[role_key] for turn in turns}
        for side, names in (("user", user_roles), ("assistant", assistant_roles)):
            if not roles & set(names):
                raise RecordError(f"no {side} turn (roles: {', '.join(sorted(roles))})", list_key)
        return
    for key in SCHEMA_KEYS[schema]:
        if key in record and record[key] is not None and not isinstance(record[key], str):
            raise RecordError(f"expected a string, got {_type_name(record[key])}", key)
    # The instruction side is what every augmenter rewrites: an empty one is no example at all.
    first = REQUIRED_KEYS[schema][0]
    if not record[first].strip():
        raise RecordError("empty", first)


def text_problem(text: str) -> str | None:
    """What makes ``text`` unfit to store and train on: a NUL character (PostgreSQL refuses it in
    text) or a lone surrogate (not encodable as UTF-8); None when it is fine."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if text.isascii():  # the common case, and no surrogate can hide in it
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains a lone surrogate (U+{ord(text[exc.start]):04X}), which is not valid Unicode text"
    return None


def check_values(record: dict[str, Any], max_chars: int) -> None:
    """Raise RecordError naming the field of the first value no store or trainer can take: text
    over ``max_chars`` characters or with ``text_problem``, NaN or infinity (not JSON).

    The length limit is for text; inside a content part of another type (an image's data URL,
    audio) only the encoding is checked. Containers go on a stack, not the call stack: a record
    may be nested as deep as the JSON parser allowed.
    """
    for name, field in record.items():  # first the common case, a flat record: no stack, no paths
        kind = field.__class__
        if kind is str:
            if len(field) > max_chars or "\x00" in field or not field.isascii():
                _check_text(field, name, max_chars)
        elif field is not None and kind is not int and kind is not bool:
            break  # a nested value or a float: the whole walk below
    else:
        return
    stack: list[tuple[str, Any, bool]] = [("", record, True)]
    while stack:
        prefix, container, sized = stack.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(value, str):
                # The common case (short ASCII text, no NUL) costs three cheap tests.
                if (sized and len(value) > max_chars) or "\x00" in value or not value.isascii():
                    _check_text(value, f"{prefix}{key}", max_chars if sized else None)
            elif isinstance(value, dict):
                stack.append((f"{prefix}{key}.", value, sized and value.get("type", "text") == "text"))
            elif isinstance(value, list):
                stack.append((f"{prefix}{key}.", value, sized))
            elif isinstance(value, float) and not math.isfinite(value):
                raise RecordError(f"{value} is not a JSON number; use null or a number", f"{prefix}{key}")


def _check_text(value: str, path: str, max_chars: int | None) -> None:
    if max_chars is not None and len(value) > max_chars:
        limit = f"over the limit of {max_chars:,} (import.max_field_chars)"
        raise RecordError(f"{len(value):,} characters, {limit}", path)
    problem = text_problem(value)
    if problem is not None:
        raise RecordError(problem, path)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
