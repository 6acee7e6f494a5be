"""Reviewers and their roles: ``admin`` (settings, bulk actions, export, managing reviewers) or ``reviewer``.

With nobody listed, everyone is an admin: one person on one machine never has to set anything up.
Once reviewers are listed, a name not among them reviews only.
"""

from __future__ import annotations

import sqlalchemy as sa

from augment_core.errors import InputError
from augment_core.store.db import Database, now
from augment_core.store.schema import reviewers

ROLES = ("admin", "reviewer")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role '{role}'; choose {' or '.join(ROLES)}")
    return role


class ReviewerQueries:
    """List, add and remove reviewers; part of the Store facade."""

    db: Database

    def reviewers(self) -> dict[str, str]:
        """Every listed reviewer's role, by name."""
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(reviewers.c.name, reviewers.c.role).order_by(reviewers.c.name)).all()
        return {name: role for name, role in rows}

    def set_reviewer(self, name: str, role: str) -> None:
        """Add ``name`` with ``role``, or change the role of a listed one."""
        row = {"name": name.strip(), "role": check_role(role), "created_at": now()}
        if not row["name"]:
            raise InputError("a reviewer needs a name")
        self.db.write(lambda conn: conn.execute(self.db.upsert(reviewers, row, ["role"])))

    def remove_reviewer(self, name: str) -> bool:
        """Take ``name`` off the list (their responses stay); False when they were not listed."""
        removed = self.db.write(lambda conn: conn.execute(reviewers.delete().where(reviewers.c.name == name)).rowcount)
        return bool(removed)

    def role_of(self, name: str) -> str:
        """``name``'s role: as listed; ``admin`` while nobody is listed; ``reviewer`` for anyone else."""
        listed = self.reviewers()
        if not listed:
            return "admin"
        return listed.get(name, "reviewer")
