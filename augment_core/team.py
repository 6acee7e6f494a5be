"""Who is reviewing, and what their role lets them do.

The CLI's ``--reviewer`` and the studio without authentication default to the local user (the OS
account); with authentication the studio names the person its OpenID Connect login returned. Roles
live in the store (``Store.role_of``): ``admin`` may change settings, run bulk actions, export and
manage reviewers; ``reviewer`` reviews only. With nobody listed, everyone is an admin.
"""

from __future__ import annotations

import getpass

from augment_core.errors import InputError
from augment_core.store import LOCAL_REVIEWER, Store

ADMIN = "admin"


def local_reviewer() -> str:
    """The OS user's name, or ``local`` where the OS does not say."""
    try:
        return getpass.getuser() or LOCAL_REVIEWER
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return LOCAL_REVIEWER


def is_admin(store: Store, reviewer: str) -> bool:
    return store.role_of(reviewer) == ADMIN


def require_admin(store: Store, reviewer: str, action: str) -> None:
    """An InputError unless ``reviewer`` may ``action`` (bulk decisions, settings, export, reviewers)."""
    if not is_admin(store, reviewer):
        raise InputError(f"{action} is for admins; reviewer '{reviewer}' has the role '{store.role_of(reviewer)}'")


def set_reviewer(store: Store, by: str, name: str, role: str) -> None:
    """``by`` (an admin) lists ``name`` with ``role``; the list never loses its last admin."""
    require_admin(store, by, "managing reviewers")
    listed = store.reviewers()
    admins = {n for n, r in listed.items() if r == ADMIN}
    if role != ADMIN and (admins <= {name}):
        raise InputError(f"'{name}' would leave no admin; first add one: augment reviewers add NAME --role admin")
    store.set_reviewer(name, role)


def remove_reviewer(store: Store, by: str, name: str) -> None:
    """``by`` (an admin) takes ``name`` off the list; the last admin goes only when the list is empty after."""
    require_admin(store, by, "managing reviewers")
    listed = store.reviewers()
    if name not in listed:
        raise InputError(f"no reviewer '{name}' is listed; listed: {', '.join(listed) or 'none'}")
    others = {n: r for n, r in listed.items() if n != name}
    if others and ADMIN not in others.values():
        raise InputError(f"'{name}' is the last admin; make another reviewer an admin first")
    store.remove_reviewer(name)
