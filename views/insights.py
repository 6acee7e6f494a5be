"""Insights: the distributions behind the decisions. The histogram first (Vega-Lite, binned in SQL), then the
other charts with plotly from one query of every scored candidate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from augment_core.errors import AugmentError
from augment_core.mixing import mix_settings, parse_ratio
from augment_core.percent import percent
from augment_core.quality import thresholds_from_store
from studio.charts import similarity_histogram
from studio.common import dataset_counts, db_url, fmt_int, get_store, require_dataset, show_error

if TYPE_CHECKING:
    import plotly.graph_objects as go

SCATTER_POINTS = 5000  # more points than this only slow the browser; the sample is stated
BINS = np.linspace(0.0, 1.0, 51)
DECISION_COLOURS = {"approved": "#2e9e5b", "rejected": "#d1495b", "pending": "#9aa0a6"}
# Room around every plot (Streamlit's theme draws them edge to edge, clipping the outer bars and
# labels), and the legend under the plot, where it does not take the plot's width at 800 px.
MARGIN = {"l": 60, "r": 24, "t": 64, "b": 56}
LEGEND = {"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0}


def framed(figure: go.Figure, **layout: Any) -> go.Figure:
    """``figure`` with the studio's margins and legend placement, and ``layout`` on top."""
    figure.update_layout(margin=MARGIN, legend=LEGEND, **layout)
    return figure



@st.cache_data(show_spinner=False, max_entries=8)
def similarity_bins(url: str, dataset_id: int, version: int) -> dict[str, list[int]]:
    """The first chart's bars, counted in SQL once per store version (a run, a scoring pass, a decision)."""
    return get_store().similarity_bins(dataset_id, len(BINS) - 1)


@st.cache_data(show_spinner="Reading the scores ...", max_entries=8)
def scored_table(url: str, dataset_id: int, version: int) -> pd.DataFrame:
    """Every scored candidate with its decision, read once per store version."""
    columns, rows = get_store().review_table(dataset_id)
    return pd.DataFrame(rows, columns=columns)


st.title("Insights")
dataset = require_dataset()
store = get_store()
version = store.version()
counts = dataset_counts(dataset)  # the sidebar's, counted once per store version
decisions = counts.decisions
try:  # the settings are checked where they are read: a bad one is one clear line, not a traceback
    thresholds = thresholds_from_store(store)
    mix = mix_settings(store)
except AugmentError as exc:
    show_error(exc)
    st.stop()
(valid_low, valid_high), (band_low, band_high) = thresholds.valid_window, thresholds.optimal_band

# ---- the mix: originals against approved augmentations ----
originals = counts.examples
approved = decisions.approved
share = approved / (originals + approved) if originals + approved else 0.0
target_originals, target_augmented = parse_ratio(mix.ratio)
target_share = float(target_augmented / (target_originals + target_augmented))
m1, m2, m3, m4 = st.columns(4)
m1.metric("Originals", fmt_int(originals))
m2.metric("Approved augmentations", fmt_int(approved), help=f"{fmt_int(counts.candidates)} candidates in all")
m3.metric("Augmented share", percent(share), delta=f"{(share - target_share) * 100:+.0f} pts vs target {mix.ratio}",
          delta_color="off")
m4.metric("Growth factor", f"{(originals + approved) / originals:.2f}x" if originals else "-",
          help="(originals + approved augmentations) / originals")
if share > mix.max_augmented_share:
    st.warning(
        f"Augmented examples are {percent(share)} of the set, above the {percent(mix.max_augmented_share)} cap: "
        "the model may learn the augmenters' style. The export will cap them unless you change the mix.",
        icon=":material/warning:",
    )

# ---- similarity histogram per augmenter, window and band shaded (studio/charts.py: Vega-Lite) ----
# Binned in SQL and drawn before every score is read for the charts below: the browser draws it meanwhile.
bars = similarity_bins(db_url(), dataset.id, version)
if not bars:
    st.info("No scored candidates yet: run augmenters (and scoring) on the Augment page.")
    st.stop()
st.vega_lite_chart(spec=similarity_histogram(bars, BINS.tolist(), thresholds.valid_window, thresholds.optimal_band),
                   key="insights_histogram", width="stretch")

# Imported here, after the first chart is on its way: a cold server took a while over plotly's import.
import plotly.graph_objects as go  # noqa: E402

frame = scored_table(db_url(), dataset.id, version)

left, right = st.columns(2)

# ---- length ratio against similarity, coloured by decision ----
sample = frame if len(frame) <= SCATTER_POINTS else frame.sample(SCATTER_POINTS, random_state=0)
scatter = go.Figure()
for decision, group in sample.groupby("decision", sort=True):
    scatter.add_trace(
        go.Scattergl(
            x=group["semantic_similarity"], y=group["length_ratio"], mode="markers", name=str(decision),
            marker={"size": 5, "opacity": 0.6, "color": DECISION_COLOURS.get(str(decision))},
        )
    )
scatter.add_vrect(x0=band_low, x1=band_high, fillcolor="#2e9e5b", opacity=0.08, line_width=0)
title = "Length ratio against similarity"
if len(sample) < len(frame):
    title += f" (random {fmt_int(len(sample))} of {fmt_int(len(frame))})"
framed(scatter, title=title, xaxis_title="semantic_similarity", yaxis_title="length_ratio", legend_title="decision")
left.plotly_chart(scatter, key="insights_scatter")

# ---- acceptance rate per augmenter ----
by = frame.groupby("augmenter")["decision"].value_counts().unstack(fill_value=0)
for status in DECISION_COLOURS:
    if status not in by:
        by[status] = 0
decided = by["approved"] + by["rejected"]
rate = (by["approved"] / decided.where(decided > 0)).fillna(0.0)
acceptance = go.Figure(
    go.Bar(
        x=by.index.astype(str), y=rate, marker_color="#2e9e5b",
        text=[f"{percent(r)} of {fmt_int(d)}" for r, d in zip(rate, decided, strict=True)], textposition="auto",
    )
)
framed(acceptance, title="Acceptance rate per augmenter (of decided)", yaxis_tickformat=".0%",
       yaxis_range=[0, 1.05], xaxis_title="augmenter")
right.plotly_chart(acceptance, key="insights_acceptance")

# ---- the mix against its target ----
target_aug = originals * float(target_augmented / target_originals)
mix_figure = go.Figure(
    [
        go.Bar(name="now", x=["originals", "approved augmentations"], y=[originals, approved]),
        go.Bar(name=f"target {mix.ratio}", x=["originals", "approved augmentations"], y=[originals, target_aug],
               opacity=0.5),
    ]
)
framed(mix_figure, title=f"Mix against the {mix.ratio} target", barmode="group")
left.plotly_chart(mix_figure, key="insights_mix")

summary = frame.groupby("augmenter").agg(
    candidates=("decision", "size"),
    valid=("is_valid", "mean"),
    optimal=("in_optimal_band", "mean"),
    similarity=("semantic_similarity", "median"),
    length_ratio=("length_ratio", "median"),
    new_words=("unique_words", "mean"),
)
right.dataframe(
    summary.style.format({"valid": percent, "optimal": percent, "similarity": "{:.3f}", "length_ratio": "{:.2f}",
                          "new_words": "{:.1f}"}),
    width="stretch",
)


# ---- diversity of the instructions, before and after the approved augmentations ----
@st.cache_data(show_spinner="Measuring diversity ...", max_entries=16)
def diversity(url: str, name: str, approved: int, semantic: bool) -> dict[str, dict[str, Any]]:
    """Cached per number of approvals: the figures only change when a decision does."""
    from augment_core.diversity import dataset_diversity
    from augment_core.quality import Embedder, model_name_from_store

    data = get_store()
    chosen = data.get_dataset(name)
    if chosen is None:
        return {}
    embedder = Embedder.load(model_name_from_store(data)) if semantic else None
    return {part: d.as_dict() for part, d in dataset_diversity(data, chosen, embedder).items()}


st.subheader("Diversity of the instructions")
semantic = st.toggle("Also the embedding spread (loads the local embedding model)", key="insights_semantic")
spread = diversity(db_url(), dataset.name, approved, semantic)
before, after = spread["originals"], spread["with_approved"]
d1, d2, d3 = st.columns(3)
d1.metric("distinct-1", f"{after['distinct_1']:.3f}", delta=f"{after['distinct_1'] - before['distinct_1']:+.3f}",
          help="distinct words over all words; originals alone vs with the approved augmentations")
d2.metric("distinct-2", f"{after['distinct_2']:.3f}", delta=f"{after['distinct_2'] - before['distinct_2']:+.3f}")
if after["mean_pairwise_similarity"] is not None and before["mean_pairwise_similarity"] is not None:
    d3.metric("mean pairwise similarity", f"{after['mean_pairwise_similarity']:.3f}",
              delta=f"{after['mean_pairwise_similarity'] - before['mean_pairwise_similarity']:+.3f}",
              delta_color="inverse", help=f"over a random {after['sampled']:,} instructions; lower: more diverse")
st.caption("Augmented text adds the same meaning in new words: distinct-n can drop when the templates repeat "
           "their own phrases, which is a reason to mix augmenters.")

# ---- the team: a toggle, so the agreement figures are computed only when asked for ----
if st.toggle("Team: progress, agreement and the audit of the accept rule", key="insights_team"):
    from studio.team_panel import draw_team_panel

    draw_team_panel(dataset)
