"""Augment: pick augmenters (controls drawn from the registry), see the estimate, try them on 5 records,
run, watch, cancel, resume. Runs go through ``augment_core.runs`` (the same service as ``augment run``)."""

from __future__ import annotations

import json
import random
from typing import Any

import pandas as pd
import streamlit as st

from augment_core import runs
from augment_core.augmenters import describe_all
from augment_core.engines import ENGINES, ray_installed
from augment_core.errors import AugmentError
from augment_core.foreign import import_candidates
from augment_core.percent import percent
from augment_core.progress import AugmenterSummary, EstimateRow
from augment_core.run_registry import RunState
from studio.common import (
    dataset_counts,
    db_url,
    fmt_int,
    get_store,
    md_code,
    md_escape,
    require_dataset,
    show_error,
    spooled_upload,
)
from studio.providers import ProviderChoice
from studio.runs import run_registry, run_spec
from studio.sidebar import BUNDLED_MODEL_NOTE, provider_choice, uses_bundled_model

AUTO_ESTIMATE_LIMIT = 1000  # examples; above this the estimate waits for a click
PREVIEW_RECORDS = 5


st.title("Augment")
dataset = require_dataset()
store = get_store()
registry = run_registry()
choice = provider_choice()
catalogue = describe_all()


def setting_control(owner: str, spec: dict[str, Any]) -> Any:
    """One widget for one setting, chosen by its declared type."""
    key = f"aug_{owner}_{spec['name']}"
    label, default, help_text = spec["name"].replace("_", " "), spec["default"], spec["help"]
    kind = spec["type"]
    if kind == "bool":
        return st.checkbox(label, value=bool(default), key=key, help=help_text)
    if kind == "int":
        return st.number_input(label, value=int(default), step=1, key=key, help=help_text)
    if kind == "float":
        return st.number_input(label, value=float(default), step=0.1, key=key, help=help_text)
    if kind == "choice":
        return st.selectbox(label, spec["choices"], index=spec["choices"].index(default), key=key, help=help_text)
    if kind == "list":
        return st.text_input(label, value=",".join(default), key=key, help=help_text)
    if kind == "text":
        return st.text_area(label, value=str(default), key=key, help=help_text)
    return st.text_input(label, value=str(default), key=key, help=help_text)


# ---- augmenters and their settings, drawn from the registry ----
st.subheader("Augmenters")
chosen: dict[str, dict[str, Any]] = {}
for name, spec in catalogue.items():
    needs_llm = spec["needs_llm"]
    blocked = needs_llm and choice is None
    picked = st.checkbox(
        f"**{name}**: {spec['description']}",
        key=f"aug_use_{name}",
        disabled=blocked,
        help="needs an LLM provider: pick one in the sidebar" if blocked else None,
    )
    if picked and not blocked:
        with st.container(border=True):
            columns = st.columns(min(len(spec["settings"]), 4) or 1)
            values = {}
            for i, setting in enumerate(spec["settings"]):
                with columns[i % len(columns)]:
                    values[setting["name"]] = setting_control(name, setting)
            chosen[name] = values
if choice:  # the model name is typed by the user: a literal code span
    provider_line = f"LLM: `{choice.name}`" + (f" · {md_code(choice.model)}" if choice.model else "")
else:
    provider_line = "No LLM provider: only augmenters without a model can run."
st.caption(provider_line)
if choice and uses_bundled_model(choice.name, choice.model):
    st.info(BUNDLED_MODEL_NOTE, icon=":material/info:")

run = registry.get(dataset.id)
running = run is not None and run.running

# ---- estimate: calls, tokens, cost, before anything is sent ----
@st.cache_data(show_spinner="Estimating ...", max_entries=32)
def estimate(
    url: str, name: str, dataset_id: int, candidates: int, settings: str, provider: str | None, model: str | None,
    base_url: str | None, _choice: ProviderChoice | None,
) -> list[dict[str, Any]]:
    """The estimate's table, cached: it asks the LLM cache once per planned request, so a rerun for an
    unrelated widget must not redo it. New candidates (a run) change the key; the API key (``_choice``)
    is left out of it, as it changes no figure."""
    data = get_store()
    chosen_dataset = data.get_dataset(name)
    if chosen_dataset is None:  # deleted since this run began
        return []
    planned = runs.estimate(data, run_spec(chosen_dataset, json.loads(settings), _choice))
    return [estimate_row(r) for r in planned.rows.values()]


# The estimate and the result count the same things under the same names: items (already stored
# ones included), calls to make / made, calls the cache answers / answered.
def estimate_row(r: EstimateRow) -> dict[str, Any]:
    return {
        "augmenter": r.name,
        "items": r.items,
        "already stored": r.skipped,
        "calls": r.calls,
        "from cache": r.cached,
        "LLM calls": r.llm_calls,
        "input tokens": r.input_tokens,
        "output tokens": r.output_tokens,
        "cost (USD)": f"{r.cost_usd:.4f}" if r.priced else "no price known",
    }


def result_row(s: AugmenterSummary) -> dict[str, Any]:
    u = s.usage
    return {
        "augmenter": s.name,
        "items": s.items,
        "already stored": s.skipped,
        "new": s.added,
        "failed": s.failed,
        "duplicates": s.duplicates,
        "calls": u.calls,
        "from cache": u.cached,
        "input tokens": u.input_tokens,
        "output tokens": u.output_tokens,
        "cost (USD)": round(u.cost_usd, 4),
    }


if chosen:
    st.subheader("Estimate")
    wanted = dataset.example_count <= AUTO_ESTIMATE_LIMIT or st.button("Estimate", key="aug_estimate")
    if wanted:
        rows: list[dict[str, Any]] | None
        try:
            rows = estimate(
                db_url(), dataset.name, dataset.id, dataset_counts(dataset).candidates,
                json.dumps(chosen, sort_keys=True), choice.name if choice else None, choice.model if choice else None,
                choice.base_url if choice else None, _choice=choice,
            )
        except AugmentError as exc:
            show_error(exc)
            rows = None
        if rows is not None:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            st.caption("Calls and tokens leave out work already stored and calls the LLM cache answers: "
                       "a resumed run only pays for the rest.")


# ---- try, run, cancel, resume ----
def start(limit: int | None = None) -> None:
    score = st.session_state.get("aug_score", True)
    sample = st.session_state.get("aug_try_sample", "first")
    try:
        # A fresh seed per try: "random" shows other records each time.
        engine = "local" if limit is not None else st.session_state.get("aug_engine", "local")  # a try is local
        spec = run_spec(dataset, chosen, choice, score=score, limit=limit, sample=sample, seed=random.randrange(2**31),
                        engine=engine)  # fmt: skip
        registry.start(store, spec)
    except AugmentError as exc:
        st.session_state["aug_error"] = exc


def cancel(state: RunState) -> None:
    state.cancel.set()


previous = run is not None and not running and (run.report is not None and run.report.cancelled or run.error)
c1, c2, c3 = st.columns([2, 2, 3])
c1.button(
    "Resume" if previous else "Run",
    type="primary",
    icon=":material/play_arrow:",
    key="aug_run",
    disabled=running or not chosen,
    on_click=start,
    help="A rerun skips what is already stored, so Run after a stop resumes.",
)
if running and run is not None:
    c2.button("Cancel", icon=":material/stop:", key="aug_cancel", on_click=cancel, args=(run,))
if ray_installed():
    c3.selectbox("Engine", ENGINES, key="aug_engine", help="ray: a Ray started on this machine (docs/ray.md)")
# A row of its own: beside the engine select, in a third of an 800 px page, the label was cut.
st.checkbox("Score the new candidates afterwards", value=True, key="aug_score",
            help="similarity, validity window, length ratio, meaning guards (all-MiniLM-L6-v2, local)")
t1, t2 = st.columns([2, 5])
t1.button(
    f"Try on {PREVIEW_RECORDS} records",
    icon=":material/science:",
    key="aug_try",
    disabled=running or not chosen,
    on_click=start,
    args=(PREVIEW_RECORDS,),
    help="Runs the chosen augmenters on a few records now and shows their candidates. They are kept: "
    "the full run skips them.",
)
t2.radio("Records to try", ["first", "random"], key="aug_try_sample", horizontal=True, label_visibility="collapsed",
         format_func=lambda s: f"the first {PREVIEW_RECORDS}" if s == "first" else f"{PREVIEW_RECORDS} at random")
if failure := st.session_state.pop("aug_error", None):
    show_error(failure)


def _eta(seconds: float | None) -> str:
    if seconds is None:  # too few items done for a rate
        return "estimating..."
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.1f} min"


def failure_reasons(count: int) -> None:
    """The stored failures' reasons, grouped, behind one click."""
    with st.expander(f"Why {fmt_int(count)} failed", icon=":material/error:"):
        reasons = store.failure_reasons(dataset.id, limit=20)
        st.dataframe(pd.DataFrame(reasons, columns=["reason", "candidates"]), hide_index=True, width="stretch")
        st.caption("Every failed candidate of this dataset, most common reason first; a rerun retries them.")


def preview(result: runs.RunResult) -> None:
    """The candidates of the records a preview tried, beside their originals (dataset text escaped)."""
    rows = runs.preview_rows(store, result)
    st.subheader(f"Candidates of the {fmt_int(result.examples)} records tried")
    if not rows:
        st.caption("No candidate: see the failures above, or the augmenters' settings.")
    groups: dict[tuple[int | None, str, str], list[runs.PreviewRow]] = {}
    for row in rows:  # one box per rewritten text, its candidates beside it
        groups.setdefault((row.example_id, row.field, row.original), []).append(row)
    for (_, field, original), members in groups.items():
        with st.container(border=True):
            left, right = st.columns(2)
            left.caption(f"original · {md_escape(field)}")
            left.markdown(md_escape(original))
            for row in members:
                score = "" if row.similarity is None else f" · similarity {row.similarity:.2f}"
                right.caption(f"{md_escape(row.augmenter)}{score}")
                right.markdown(f":red[failed:] {md_escape(row.error)}" if row.error else md_escape(row.text))
    st.caption("These candidates are stored: the full run skips them and Review shows them.")


def draw(state: RunState) -> None:
    """Live counts while a run goes on; its report once it is over."""
    p = state.progress
    if state.phase in ("starting", "generating"):
        fraction = p.done / p.total if p and p.total else 0.0
        done, total = (fmt_int(p.done), fmt_int(p.total)) if p else ("0", "?")
        st.progress(min(fraction, 1.0), text=f"Generating: {done} of {total} items")
        if p is not None and p.note:  # a long wait (a rate limit), said while it lasts
            st.caption(md_escape(p.note))
    elif state.phase == "scoring":
        fraction = state.scored / state.to_score if state.to_score else 0.0
        st.progress(min(fraction, 1.0), text=f"Scoring: {fmt_int(state.scored)} of {fmt_int(state.to_score)}")
    # Live counts come from the progress events; once over, from the run's report.
    counts = state.report if state.report is not None else p
    if counts is not None:
        m1, m2, m3, m4, m5 = st.columns(5)
        m1.metric("Done", fmt_int(counts.done))
        m2.metric("Failed", fmt_int(counts.failed))
        m3.metric("New candidates", fmt_int(counts.added))
        m4.metric("Already stored", fmt_int(counts.skipped))
        m5.metric("ETA", (_eta(p.eta_seconds) if p is not None else "estimating...") if state.running else "-")
        if counts.failed:
            failure_reasons(counts.failed)
    if state.running:
        if state.cancel.is_set():
            st.caption("Stopping: requests in flight are abandoned; what finished is stored.")
        return
    if state.error:
        st.error(f"The run stopped: {md_escape(state.error)}", icon=":material/error:")
        return
    result = state.result
    if result is None:
        return
    r = result.report
    scored = f", {fmt_int(result.scored)} scored" if result.scored else ""
    outcome = "Cancelled" if r.cancelled else "Finished"
    if state.spec.limit is not None:
        outcome = f"Preview of {fmt_int(result.examples)} records: {outcome.lower()}"
    st.success(
        f"{outcome} in {result.seconds:,.1f} s "
        f"(generation {r.seconds:,.1f} s): {fmt_int(r.added)} new candidates, "
        f"{fmt_int(r.failed)} failed, {fmt_int(r.skipped)} items already stored{scored}.",
        icon=":material/check_circle:",
    )
    st.dataframe(pd.DataFrame([result_row(s) for s in r.by_augmenter.values()]), hide_index=True)
    if state.spec.provider == "local" and (per_item := r.seconds_per_item) is not None:
        rate = r.failure_rate
        failed_share = "" if rate is None else f", {percent(rate)} of the candidates failed"
        st.caption(f"Measured on this run with the local model: {per_item:,.1f} s per item{failed_share}.")
    if r.cancelled:
        st.caption("What finished is stored; Resume continues from there.")
    if state.spec.limit is not None:
        preview(result)
    st.page_link("views/review.py", label="Review the candidates", icon=":material/fact_check:")


# Every 2 s, not every second: each poll redraws the progress in the server and the browser, and on
# a 2-core machine that took cores from the scoring it shows (benchmarks/bench_studio_browser.py).
# Most of a poll's server cost was Streamlit's gc.collect(2) after the rerun, now off in
# .streamlit/config.toml (runner.postScriptGC); what remains is mostly the browser's redraw.
@st.fragment(run_every=2.0)
def live() -> None:
    """Polls the run every 2 s; when it is over, one full rerun draws the page without polling."""
    state = registry.get(dataset.id)
    if state is None or not state.running:
        st.rerun()
    draw(state)


if running:
    live()
elif run is not None:
    draw(run)


# ---- candidates made elsewhere: attached to their originals, then scored and reviewed like ours ----
SHOWN_PROBLEMS = 20

with st.expander("Bring your own candidates", icon=":material/upload_file:"):
    st.caption(
        "Rows made by another generator: `source_id` (the record's id) or `original` (the text of one of its "
        "fields), `text` (the candidate), and optionally `augmenter`, `target_field` and `metadata`. "
        "They are scored, reviewed, mixed and exported like the ones made here."
    )
    foreign = st.file_uploader("JSONL, JSON, CSV or Parquet", type=["jsonl", "ndjson", "json", "csv", "parquet"],
                               key="aug_foreign_file")  # fmt: skip
    if st.button("Attach and score", key="aug_foreign_import", icon=":material/add_link:", disabled=foreign is None):
        assert foreign is not None
        try:
            with spooled_upload(foreign) as path:
                report = import_candidates(store, dataset, path)
            if report.matched:
                with st.spinner("Scoring the attached candidates"):
                    runs.score_new(store, dataset)
        except AugmentError as exc:
            show_error(exc, foreign.name)
            st.caption("Nothing was stored from this file.")
        else:
            for problem in report.problems[:SHOWN_PROBLEMS]:
                show_error(problem, foreign.name)
            if len(report.problems) > SHOWN_PROBLEMS:
                st.caption(f"... and {fmt_int(len(report.problems) - SHOWN_PROBLEMS)} more rows not attached.")
            if report.matched:
                st.success(report.lines()[0] + ", scored.", icon=":material/check_circle:")
                st.page_link("views/review.py", label="Review them", icon=":material/fact_check:")
            else:
                st.caption("No row matched an original: nothing was stored.")
