"""Page state in the address (``st.query_params``), so a link, a reload or a second tab lands where it points.

Each value has a widget key and a URL parameter. ``restore`` runs before the widget is drawn: a
value the URL brings that this session did not write itself (a new session from a link or a
reload, an address edited by hand) is put in the widget's state. ``publish`` runs after it: the
address says the widget's value, and a default value leaves the parameter out. Moving to another
page clears the address; app.py's sidebar publishes the dataset again on every page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

SEEN = "_url_seen"  # parameter -> the values this session last wrote to (or took from) the address


def _seen() -> dict[str, list[str]]:
    seen: dict[str, list[str]] = st.session_state.setdefault(SEEN, {})
    return seen


def incoming(param: str) -> list[str] | None:
    """The values of ``param`` in the address when this session did not put them there itself, else None."""
    values = st.query_params.get_all(param)
    if not values or values == _seen().get(param):
        return None
    _seen()[param] = values
    return values


def restore(key: str, param: str, parse: Callable[[list[str]], Any]) -> None:
    """Before widget ``key`` is drawn: its value from the address, when the address brings a new one
    that ``parse`` accepts (``parse`` returns None for a value that is not a choice now)."""
    values = incoming(param)
    if values is not None and (value := parse(values)) is not None:
        st.session_state[key] = value


def publish(param: str, values: Sequence[str]) -> None:
    """The address says ``values`` for ``param``; none (the default) removes it."""
    wanted = [str(v) for v in values]
    _seen()[param] = wanted
    if st.query_params.get_all(param) == wanted:
        return
    if wanted:
        st.query_params[param] = wanted
    else:
        del st.query_params[param]


def one_of(choices: Sequence[str]) -> Callable[[list[str]], str | None]:
    """A parser for a one-value parameter that must be one of ``choices``."""
    return lambda values: values[0] if values[0] in choices else None


def some_of(choices: Sequence[str]) -> Callable[[list[str]], list[str] | None]:
    """A parser for a many-valued parameter: the values that are among ``choices``."""
    return lambda values: [v for v in values if v in choices] or None


def text(values: list[str]) -> str:
    return values[0]
