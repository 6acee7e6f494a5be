"""What every page shares: the store, the chosen dataset, provider settings, error display."""

from __future__ import annotations

import os
import re
import shutil
import string
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from augment_core.errors import AugmentError, DatasetFormatError
from augment_core.records import Dataset
from augment_core.store import DEFAULT_URL, DatasetCounts, Store

DATASET_KEY = "dataset"
COUNTS_KEY = "dataset_counts"  # the sidebar's counts of the picked dataset, for this run's pages


@st.cache_resource(show_spinner=False)
def _open_store(url: str) -> Store:
    return Store(url)


def db_url() -> str:
    return os.environ.get("AUGMENT_DB", DEFAULT_URL)


def get_store() -> Store:
    """One Store (one connection pool) per database URL for the whole server."""
    return _open_store(db_url())


def current_dataset() -> Dataset | None:
    """The dataset picked in the sidebar, or None when nothing is stored yet."""
    name = st.session_state.get(DATASET_KEY)
    return None if name is None else get_store().get_dataset(name)


def require_dataset() -> Dataset:
    """The picked dataset; stops the page with a pointer to Upload when there is none."""
    dataset = current_dataset()
    if dataset is None:
        st.info("No dataset yet: import one on the Upload page (or load the sample dataset there).")
        st.page_link("views/upload.py", label="Go to Upload", icon=":material/upload:")
        st.stop()
    return dataset


def dataset_counts(dataset: Dataset) -> DatasetCounts:
    """The picked dataset's counts as the sidebar drew them in this run (counted here otherwise)."""
    counts = st.session_state.get(COUNTS_KEY)
    if not isinstance(counts, DatasetCounts) or st.session_state.get(DATASET_KEY) != dataset.name:
        counts = get_store().dataset_counts(dataset.id)
    return counts


def select_dataset(name: str) -> None:
    """Make ``name`` the sidebar's dataset; call from a callback (before the sidebar is drawn)."""
    st.session_state[DATASET_KEY] = name


def secret(name: str) -> str | None:
    """A value from the environment or ``st.secrets`` (no secrets file is fine)."""
    value = os.environ.get(name)
    if value:
        return value
    try:
        found = st.secrets.get(name)
    except FileNotFoundError:  # no secrets.toml at all
        return None
    return str(found) if found else None


def show_error(exc: Exception, file_name: str | None = None) -> None:
    """One clear line for an error of the library's tree; a dataset error names file, line and field."""
    if isinstance(exc, DatasetFormatError):
        # File names, field names and problems quote the data: never rendered as Markdown.
        where = md_escape(file_name or exc.path)
        line = f", line {exc.line}" if exc.line is not None else ""
        field = f", field {md_code(exc.field)}" if exc.field else ""
        st.error(f"**{where}**{line}{field}: {md_escape(exc.problem)}", icon=":material/error:")
    elif isinstance(exc, AugmentError):
        st.error(md_escape(exc), icon=":material/error:")
    else:  # pragma: no cover - only the library's own tree is caught by pages
        raise exc


_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")


def md_escape(text: object) -> str:
    """Text from the data as literal Markdown: every ASCII punctuation mark backslash-escaped (CommonMark
    allows it for all of them), so no link, image, autolink, HTML, emphasis, math or colour directive
    forms; newlines become spaces, so no block (heading, list, fence) starts either."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def md_code(text: object) -> str:
    """Text from the data as one inline code span (shown literally), fenced longer than any backtick run in it."""
    value = " ".join(str(text).splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", value)), default=0) + 1)
    return f"{fence} {value} {fence}" if value.startswith("`") or value.endswith("`") else f"{fence}{value}{fence}"


def fmt_int(value: Any) -> str:
    return f"{int(value):,}"


@contextmanager
def spooled_upload(upload: Any) -> Iterator[Path]:
    """The uploaded bytes in a temp file for as long as it is read (the readers take a path); removed after.

    Only the extension comes from the upload's name (the importer reads the file type from it):
    a path is never built from a name the user chose, however long or odd.
    """
    folder = Path(tempfile.mkdtemp(prefix="augment-upload-"))
    try:
        suffix = Path(upload.name).suffix.lower()
        path = folder / f"upload{suffix if suffix[1:].isalnum() else ''}"
        path.write_bytes(upload.getvalue())
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
