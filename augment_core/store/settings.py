"""Settings as stored: a key and a JSON value. Which keys exist and what they accept: ``augment_core.settings``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from augment_core.store.db import Database
from augment_core.store.schema import settings


class SettingQueries:
    """Read and write stored settings; part of the Store facade."""

    db: Database

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.db.connect() as conn:
            value = conn.execute(sa.select(settings.c.value).where(settings.c.key == key)).scalar_one_or_none()
        return default if value is None else value

    def set_setting(self, key: str, value: Any) -> None:
        with self.db.begin() as conn:
            conn.execute(self.db.upsert(settings, {"key": key, "value": value}, ["value"]))

    def delete_setting(self, key: str) -> None:
        with self.db.begin() as conn:
            conn.execute(settings.delete().where(settings.c.key == key))
