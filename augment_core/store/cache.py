"""The LLM response cache: replies that parsed and passed their checks, by request key."""

from __future__ import annotations

from typing import Any, Protocol

import sqlalchemy as sa

from augment_core.store.db import Database, now
from augment_core.store.schema import llm_cache


class ResponseCache(Protocol):
    """What a translator needs of the store: its cache, and whether calls to it are cheap."""

    @property
    def is_local(self) -> bool: ...

    def cache_get(self, key: str) -> dict[str, Any] | None: ...

    def cache_put(self, key: str, provider: str, model: str, response: dict[str, Any]) -> None: ...


class CacheQueries:
    """The store's side of :class:`ResponseCache`; part of the Store facade."""

    db: Database

    @property
    def is_local(self) -> bool:
        """A SQLite file on this machine: its calls are cheap enough to make inside the event loop."""
        return self.db.dialect == "sqlite"

    def cache_get(self, key: str) -> dict[str, Any] | None:
        with self.db.connect() as conn:
            value = conn.execute(sa.select(llm_cache.c.response).where(llm_cache.c.key == key)).scalar_one_or_none()
        return None if value is None else dict(value)

    def cache_put(self, key: str, provider: str, model: str, response: dict[str, Any]) -> None:
        row = {"key": key, "provider": provider, "model": model, "response": response, "created_at": now()}
        with self.db.begin(bump=False) as conn:  # the LLM cache is not shown anywhere
            conn.execute(self.db.insert_ignoring_duplicates(llm_cache), [row])
