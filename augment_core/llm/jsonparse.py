"""Pull the JSON a model was asked for out of what it actually wrote.

Models wrap JSON in code fences, put prose before or after it, or stop mid-array at the token
limit. ``extract_json`` finds the first value of the expected kind (array or object) and checks
it against a JSON schema when one is given; anything else raises ``ParseError`` with a reason
short enough to send back to the model in a repair prompt.
"""

from __future__ import annotations

import json
import re
from typing import Any

from augment_core.errors import ParseError

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n?(.*?)```", re.DOTALL)
# strict=False accepts raw newlines and tabs inside strings, which small models (and llama.cpp's
# length-limited string grammar) produce; the text is still the model's, just not escaped.
_decoder = json.JSONDecoder(strict=False)


def _kind(expect: type) -> str:
    return "array" if expect is list else "object"


def extract_json(text: str, expect: type = list, schema: dict[str, Any] | None = None) -> Any:
    """The first JSON array (``expect=list``) or object (``expect=dict``) in ``text``."""
    if expect not in (list, dict):
        raise ValueError(f"expect must be list or dict, not {expect!r}")
    opener = "[" if expect is list else "{"
    stripped = text.strip()
    if not stripped:
        raise ParseError(f"empty reply, expected a JSON {_kind(expect)}")
    # Fenced blocks first (the model's own framing), then the whole reply. Within a source every
    # opener is tried: with a schema the first value that fits wins, else the longest one (prose
    # like "see [1]" before the real array must not win).
    sources = [m.group(1) for m in _FENCE.finditer(stripped)] + [stripped]
    wrong: Any = None
    first_error = ""
    schema_error: ParseError | None = None
    for source in sources:
        best: Any = None
        best_span = -1
        start = source.find(opener)
        while start != -1:
            try:
                value, end = _decoder.raw_decode(source, start)
            except json.JSONDecodeError as exc:
                first_error = first_error or f"invalid JSON at char {exc.pos}: {exc.msg}"
                start = source.find(opener, start + 1)
                continue
            if not isinstance(value, expect):
                wrong = value
            elif schema is not None:
                try:
                    _validate(value, schema)
                    return value
                except ParseError as exc:
                    schema_error = schema_error or exc
            elif end - start > best_span:
                best, best_span = value, end - start
            start = source.find(opener, start + 1)
        if best_span >= 0:
            return best
    if schema_error is not None:
        raise schema_error
    if wrong is None:
        try:
            wrong = json.loads(stripped)  # valid JSON of another kind ("found list")
        except json.JSONDecodeError:
            pass
    if wrong is not None:
        raise ParseError(f"expected a JSON {_kind(expect)}, found {type(wrong).__name__}")
    if first_error:
        if _looks_truncated(stripped):
            raise ParseError(f"the JSON {_kind(expect)} is cut off before its end ({first_error})")
        raise ParseError(first_error)
    raise ParseError(f"no JSON {_kind(expect)} in the reply")


def _looks_truncated(text: str) -> bool:
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return depth > 0 or in_string


def _validate(value: Any, schema: dict[str, Any]) -> None:
    import jsonschema  # a light import, and only needed when a schema is given

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise ParseError(f"JSON does not match the schema at {where}: {exc.message}") from None


def repair_prompt(original: str, reply: str, error: str, expect: type = list) -> str:
    """A follow-up prompt that shows the model its reply and what was wrong with it."""
    clipped = reply if len(reply) <= 4000 else reply[:4000] + " [...]"
    return (
        f"{original}\n\n---\nYour previous reply was:\n{clipped}\n\n"
        f"It could not be used: {error}.\n"
        f"Reply again with only the JSON {_kind(expect)}, no code fences and no other text."
    )
