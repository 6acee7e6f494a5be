"""JSON text as the store and the exported files hold it: non-ASCII characters kept as written.

``to_json(value)`` equals ``json.dumps(value, ensure_ascii=False)``; the encoder is built once, as
``json.dumps`` builds a new one on every call given any option (a third of the cost of encoding a
short record, paid 100,000 times in an import or an export).

``to_json_bytes(value)`` is the compact UTF-8 form the exported JSONL and JSON files are written
in, by orjson: encoding was the largest single cost of a 100,000-record export.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

to_json: Callable[[Any], str] = json.JSONEncoder(ensure_ascii=False).encode


def to_json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON. What orjson refuses (an integer over 64 bits, a key that
    is not a string) goes through the standard encoder instead, so it is written as before."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return to_json(value).encode("utf-8")
