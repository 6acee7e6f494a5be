"""Upload: read a dataset file, show its detected schema and a preview, map columns, import it whole or not at all."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from augment_core.errors import AugmentError, InputError
from augment_core.formats import apply_mapping, detect_schema
from augment_core.importer import import_file
from augment_core.readers import count_records, read_records
from augment_core.records import CHAT_LAYOUT, SCHEMA_KEYS, SCHEMAS, to_turns
from studio.common import fmt_int, get_store, md_code, md_escape, select_dataset, show_error, spooled_upload

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "sample_alpaca.jsonl"
SAMPLE_NAME = "sample"
PREVIEW_ROWS = 20
NO_COLUMN = "(not in the file)"
PREVIEW_KEY = "upload_preview"  # (file id, first records, parse error, record count) of the file in the uploader
CHATS_SHOWN = 3  # conversations drawn as chat bubbles
SKIPPED_SHOWN = 200  # skipped records listed after an import with skip-invalid
_SURROGATE = re.compile("[\ud800-\udfff]")
ROUND_KEY = "upload_round"  # bumped after an import: a new uploader key empties the widget
SAMPLE_RECORDS = SAMPLE.read_text(encoding="utf-8").count("\n")

st.title("Upload a dataset")


def _unique_name(stem: str) -> str:
    names = set(get_store().dataset_names())
    if stem not in names:
        return stem
    return next(f"{stem}-{i}" for i in itertools.count(2) if f"{stem}-{i}" not in names)


def _load_sample() -> None:
    store = get_store()
    if SAMPLE_NAME not in store.dataset_names():
        report = import_file(store, SAMPLE, name=SAMPLE_NAME)
        st.session_state["upload_message"] = f"Loaded the sample dataset: {report.imported} records ({report.schema})."
    else:
        st.session_state["upload_message"] = "The sample dataset is already stored; it is now selected."
    select_dataset(SAMPLE_NAME)




def _preview(upload: Any) -> tuple[list[dict[str, Any]], AugmentError | None, int | None]:
    """The first records of the upload and how many it holds, read once per uploaded file (a JSON file
    is parsed whole to get them), not on every rerun; the parse error instead when the file is bad."""
    cached = st.session_state.get(PREVIEW_KEY)
    if cached is not None and cached[0] == upload.file_id:
        return cached[1], cached[2], cached[3]
    records: list[dict[str, Any]] = []
    error: AugmentError | None = None
    count: int | None = None
    with spooled_upload(upload) as path:
        reader = read_records(path)
        try:
            records = [record for _, record in itertools.islice(reader, PREVIEW_ROWS)]
            count = count_records(path)
            if count is None:  # no cheap count for this type: the rest of the same read
                count = len(records) + sum(1 for _ in reader)
        except AugmentError as exc:
            if not records:
                error = exc
            # else a fault past the preview: no count; the import names it (or skips it)
        finally:
            if isinstance(reader, Generator):
                reader.close()  # its open file, before the folder goes
    st.session_state[PREVIEW_KEY] = (upload.file_id, records, error, count)
    return records, error, count


def cell(value: Any) -> str:
    """A preview cell: text as it is, anything else as JSON (never a Python repr); a lone surrogate,
    which the browser cannot be sent, as U+FFFD (the import names it)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return _SURROGATE.sub("\ufffd", text)


def chat_bubbles(records: list[dict[str, Any]], schema: str) -> None:
    """The first conversations as the chat they are: one bubble per turn, text escaped."""
    for number, record in enumerate(records[:CHATS_SHOWN], start=1):
        try:
            turns = to_turns(record, schema, placeholders=True)
        except (KeyError, IndexError, TypeError, ValueError):  # a record the import will name
            continue
        with st.expander(f"Conversation {number} ({len(turns)} turns)", expanded=number == 1):
            for role, text in turns:
                avatar = ":material/settings:" if role == "system" else None
                with st.chat_message(role, avatar=avatar):
                    st.markdown(md_escape(cell(text)) or "_(empty)_")


def _import(upload: Any, name: str, schema: str, mapping: dict[str, str], skip_invalid: bool) -> None:
    """Import callback: runs before the rerun, so the sidebar can select the new dataset."""
    st.session_state.pop("upload_error", None)
    try:
        with spooled_upload(upload) as path:
            report = import_file(
                get_store(), path, name=name.strip(), schema=schema, mapping=mapping, skip_invalid=skip_invalid
            )
            # Each skipped record's line names the file: the upload's name, not the server's temp path.
            skipped = [line.replace(str(path), upload.name, 1) for line in report.skipped]
    except AugmentError as exc:
        st.session_state["upload_error"] = (exc, upload.name)
        return
    select_dataset(report.dataset)
    st.session_state["upload_message"] = (
        f"Imported {fmt_int(report.imported)} records from {md_escape(upload.name)} into "
        f"'{md_escape(report.dataset)}' ({report.schema})."
    )
    st.session_state["upload_skipped"] = skipped
    # A fresh (empty) uploader: the stored file is not offered for a second import under a new name.
    st.session_state[ROUND_KEY] = st.session_state.get(ROUND_KEY, 0) + 1
    st.session_state.pop(PREVIEW_KEY, None)


left, right = st.columns([3, 1])
with right:
    st.button(
        "Load the sample dataset",
        icon=":material/dataset:",
        on_click=_load_sample,
        help=f"{SAMPLE.name}: {SAMPLE_RECORDS} Alpaca records shipped with the project",
    )
with left:
    upload = st.file_uploader(
        "JSONL, JSON, CSV or Parquet", type=["jsonl", "ndjson", "json", "csv", "parquet"],
        key=f"upload_file_{st.session_state.get(ROUND_KEY, 0)}",
    )

if message := st.session_state.pop("upload_message", None):
    st.success(message, icon=":material/check_circle:")
if skipped := st.session_state.pop("upload_skipped", None):
    st.warning(f"Skipped {fmt_int(len(skipped))} invalid records (not stored):", icon=":material/warning:")
    shown_skipped = skipped[:SKIPPED_SHOWN]
    st.dataframe(pd.DataFrame({"skipped": [cell(line) for line in shown_skipped]}), hide_index=True, width="stretch")
    if len(skipped) > SKIPPED_SHOWN:
        st.caption(f"The first {SKIPPED_SHOWN}; `augment import --skip-invalid` prints them all.")
if failure := st.session_state.pop("upload_error", None):
    show_error(*failure)
    st.caption("Nothing was stored from this file.")

if upload is None:
    st.session_state.pop(PREVIEW_KEY, None)
    st.stop()

preview, problem, total = _preview(upload)
if problem is not None:
    show_error(problem, upload.name)
    st.caption("Nothing was stored from this file.")
    st.stop()

columns = list(dict.fromkeys(key for record in preview for key in record))
st.subheader("Schema and columns")
c1, c2 = st.columns(2)
schema_choice = c1.selectbox("Schema", ["auto", *SCHEMAS], key="upload_schema", help="auto: detect from the columns")
name = c2.text_input("Dataset name", value=_unique_name(Path(upload.name).stem), key=f"upload_name_{upload.file_id}")

# Map every field of the schema to one of the file's columns; the default is the same name.
target: str | None = schema_choice
if target == "auto":
    try:
        target = detect_schema(preview[0])
    except InputError as exc:
        st.warning(f"{md_escape(exc)}. Pick a schema above, then map its fields to your columns.")
        target = None
mapping: dict[str, str] = {}
if target is not None:
    fields = SCHEMA_KEYS[target]
    cols = st.columns(len(fields))
    for col, field in zip(cols, fields, strict=True):
        options = [NO_COLUMN, *columns]
        chosen = col.selectbox(
            f"`{field}` comes from", options, index=options.index(field) if field in columns else 0,
            key=f"map_{upload.file_id}_{target}_{field}",
        )
        if chosen != NO_COLUMN and chosen != field:
            mapping[field] = chosen
    try:
        detected = detect_schema(apply_mapping(preview[0], mapping))
        st.markdown(f"Detected schema: **{detected}**" + (f" · mapping {md_code(mapping)}" if mapping else ""))
    except InputError as exc:
        st.warning(md_escape(exc))

held = "" if total is None else f" of {fmt_int(total)}"
st.subheader(f"Preview (first {len(preview)}{held} records)")
mapped = [apply_mapping(r, mapping) for r in preview]
st.dataframe(
    pd.DataFrame([{k: cell(v) for k, v in r.items()} for r in mapped]),
    hide_index=True,
    width="stretch",
)
if target in CHAT_LAYOUT:
    chat_bubbles(mapped, target)

if total is not None:
    st.markdown(f"The file holds **{fmt_int(total)}** records.")
skip_invalid = st.checkbox(
    "Skip invalid records", value=False, key="upload_skip_invalid",
    help="Import the valid records and list the others, as `augment import --skip-invalid` does.",
)

st.button(
    "Import",
    type="primary",
    icon=":material/database_upload:",
    disabled=target is None or not name.strip(),
    on_click=_import,
    args=(upload, name, schema_choice, mapping, skip_invalid),
)
if skip_invalid:
    st.caption("The whole file is checked while it is stored; invalid records are left out and listed.")
else:
    st.caption("The whole file is checked while it is stored; one bad record and nothing is kept.")
