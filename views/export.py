"""Export: the curated set as a file, through the same code path as `augment export`."""

from __future__ import annotations

import dataclasses
import shlex

import pandas as pd
import streamlit as st

from augment_core.errors import AugmentError
from augment_core.export import FORMATS, ExportOptions, export_bytes, plan_export
from augment_core.formats import FILE_TYPES
from augment_core.mixing import mix_settings
from augment_core.percent import percent
from augment_core.records import Selection
from augment_core.trainers import TRAINERS
from studio.common import fmt_int, get_store, md_code, md_escape, require_dataset, show_error
from studio.identity import current_is_admin

MIME_TYPES = {"jsonl": "application/jsonl", "json": "application/json", "csv": "text/csv",
              "parquet": "application/vnd.apache.parquet"}
SELECTION_HELP = {"approved": "approved by a reviewer", "valid": "approved, or pending inside the valid window",
                  "all": "every candidate not rejected"}
PREPARED = "export_prepared"

st.title("Export")
dataset = require_dataset()
if not current_is_admin():
    st.info("Exporting is for admins; ask one of them (`augment reviewers` lists the team).")
    st.stop()
store = get_store()
stored = mix_settings(store)

c1, c2, c3 = st.columns(3)
schema = c1.selectbox("Schema", FORMATS, key="ex_format",
                      format_func=lambda f: f"same as input ({dataset.schema})" if f == "same" else f)
file_type = c2.selectbox("File type", FILE_TYPES, key="ex_file_type")
status = c3.selectbox("Candidates", [s.value for s in Selection], key="ex_status",
                      format_func=lambda s: f"{s}: {SELECTION_HELP[s]}")
m1, m2, m3, m4 = st.columns(4)
ratio = m1.text_input("Target ratio (originals:augmented)", value=stored.ratio, key="ex_ratio")
cap = m2.slider("Augmented share cap", 0.05, 1.0, float(stored.max_augmented_share), step=0.05, key="ex_cap")
include_originals = m3.checkbox("Include the originals", value=True, key="ex_originals")
provenance = m4.checkbox("Provenance columns", value=False, key="ex_provenance",
                         help="augmenter, parameters, provider usage, scores and decision on every record")
csv_safe = file_type == "csv" and st.checkbox(
    "CSV: prefix cells starting with = + - @ with '", value=False, key="ex_csv_safe",
    help="A spreadsheet opening the file would run such cells as formulas; the prefix makes them text. "
         "Off: the text is kept exactly (it is training data) and the count is reported.")
trainer = st.selectbox("For a trainer", [None, *TRAINERS], key="ex_trainer",
                       format_func=lambda t: "no trainer file" if t is None else t,
                       help="llama-factory: dataset_info.json beside the file; axolotl: a datasets: snippet. "
                            "The download is then a ZIP of both, as is a datasets (hf) folder.")

options = ExportOptions(
    format=schema,
    status=status,
    ratio=ratio.strip(),
    max_augmented_share=cap,
    include_originals=include_originals,
    provenance=provenance,
    file_type=file_type,
    trainer=trainer,
    csv_safe=csv_safe,
)

try:
    planned = plan_export(store, dataset, options)  # the same plan `augment export` writes
    settings, report = planned.settings, planned.plan.report
except AugmentError as exc:
    show_error(exc)
    st.stop()

st.subheader("What the file will hold")
k1, k2, k3, k4, k5 = st.columns(5)
k1.metric("Records", fmt_int(report.total))
k2.metric("Originals", fmt_int(report.originals))
k3.metric("Augmented", fmt_int(report.augmented), help=f"{fmt_int(report.eligible)} eligible")
k4.metric("Augmented share", percent(report.augmented_share), help=f"cap {percent(settings.max_augmented_share)}")
k5.metric("Growth factor", f"{report.growth_factor:.2f}x")
if report.augmented_by_augmenter:
    st.dataframe(
        pd.DataFrame(sorted(report.augmented_by_augmenter.items()), columns=["augmenter", "records"]),
        hide_index=True,
    )
st.caption(f"Ratio reached {report.ratio_reached} (target {settings.ratio}; limited by {report.limited_by}).")
if report.eligible == 0:
    st.info(f"No candidates are eligible under '{status}': the file holds the originals only.")


def prepare(opts: ExportOptions) -> None:
    try:
        data, written = export_bytes(store, dataset, opts, opts.file_type or "jsonl")
    except AugmentError as exc:
        st.session_state[PREPARED] = exc
        return
    st.session_state[PREPARED] = (opts, data, written)


st.button("Prepare the file", type="primary", icon=":material/build:", on_click=prepare, args=(options,),
          key="ex_prepare")
prepared = st.session_state.get(PREPARED)
if isinstance(prepared, AugmentError):
    show_error(prepared)
elif prepared is not None:
    opts, data, written = prepared
    records = written.records
    if opts != options:
        st.caption("The settings changed since the file was prepared: prepare it again.")
    else:
        zipped = file_type == "hf" or opts.trainer is not None
        name = f"{dataset.name}-curated.{'zip' if zipped else file_type}"
        st.download_button(
            f"Download {md_escape(name)} ({fmt_int(records)} records, {len(data) / 1024:,.1f} KiB)",
            data=data,
            file_name=name,
            mime="application/zip" if zipped else MIME_TYPES.get(file_type, "application/octet-stream"),
            icon=":material/download:",
            key="ex_download",
            on_click="ignore",
        )
        flags = " ".join(
            f"--{f.name.replace('_', '-')} {getattr(opts, f.name)}" for f in dataclasses.fields(opts)
            if f.name in ("format", "status", "ratio", "max_augmented_share")
        )
        flags += " --provenance" if opts.provenance else ""
        flags += "" if opts.include_originals else " --no-originals"
        flags += f" --trainer {opts.trainer}" if opts.trainer else ""
        flags += " --file-type hf" if file_type == "hf" else ""
        flags += " --csv-safe" if opts.csv_safe else ""
        if written.formula_cells and not opts.csv_safe:
            st.warning(
                f"{fmt_int(written.formula_cells)} cells start with = + - or @: a spreadsheet may run them as "
                "formulas. They are kept as they are; tick the CSV option above to prefix them with '.",
                icon=":material/warning:",
            )
        target = f"{dataset.name}-curated" + ("" if file_type == "hf" else f".{file_type}")
        command = f"augment export {shlex.quote(target)} --dataset {shlex.quote(dataset.name)} {flags}"
        st.caption(f"The same file from the command line: {md_code(command)}")
