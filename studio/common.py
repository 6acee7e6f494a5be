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
from augment_core.records import Dataset, Decision, DecisionStatus
from augment_core.store import DEFAULT_URL, DatasetCounts, Store

DATASET_KEY = "dataset"
COUNTS_KEY = "dataset_counts"  # (store version, dataset id, counts) this session last drew


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


@st.cache_data(show_spinner=False, max_entries=32)
def _counted(url: str, dataset_id: int, version: int) -> DatasetCounts:
    """A dataset's counts, counted once per store version (by whichever session asks first)."""
    return get_store().dataset_counts(dataset_id)


def dataset_counts(dataset: Dataset) -> DatasetCounts:
    """The dataset's counts as of the store's version now: this session's own (carried over its last
    decision, see ``counted_decision``), else counted once per version for every session."""
    version = get_store().version()
    held = st.session_state.get(COUNTS_KEY)
    if isinstance(held, tuple) and held[:2] == (version, dataset.id):
        return held[2]  # type: ignore[no-any-return]
    counts = _counted(db_url(), dataset.id, version)
    st.session_state[COUNTS_KEY] = (version, dataset.id, counts)
    return counts


def counted_decision(dataset_id: int, before: Decision | None, after: Decision) -> None:
    """After this session's decision on one candidate (``before`` read just ahead of it): when that
    write is the only one since the counts this session holds, they are moved by it instead of being
    counted again (100,000 candidates take a few hundred ms to count)."""
    held = st.session_state.get(COUNTS_KEY)
    written = get_store().db.last_written_version
    if not isinstance(held, tuple) or held[1] != dataset_id or written != held[0] + 1:
        return  # someone else wrote in between: the next run counts
    old = DecisionStatus.PENDING if before is None else before.status
    st.session_state[COUNTS_KEY] = (written, dataset_id, held[2].after(old, after.status))


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
