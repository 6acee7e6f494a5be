"""Hashes of content: the one place that turns text or values into keys.

Every key is SHA-256 of UTF-8 text. ``content_key(*parts)`` hashes the parts as one JSON array
(sorted object keys, non-ASCII as written): candidate ids are exactly that. A few older keys
serialise their parts in their own way; they are stored in databases and caches (a rerun after
an upgrade must find them), so their callers keep that serialisation and hash it with
``digest``. ``order_key`` is the one BLAKE2 left: the mix's tie-break, whose order decides which
candidates an export picks for a seed and so must not change between versions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def digest(text: str, length: int = 64) -> str:
    """SHA-256 of ``text`` as hex, cut to ``length`` characters (a short tag in provenance)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def content_key(*parts: Any) -> str:
    """The key of content made from ``parts`` (JSON values): equal parts, equal key."""
    return digest(json.dumps(list(parts), sort_keys=True, ensure_ascii=False))


def order_key(seed: int, name: str) -> bytes:
    """A stable pseudo-random sort key of ``name`` for ``seed`` (8 bytes)."""
    return hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
