"""Insights rounds rates honestly (issue 17 point 8): 239 of 240 approved is 99.6%, never 100%; the
histogram's axis leaves room for its last bin and the plots keep their margins."""

from __future__ import annotations

import plotly.io

from augment_core.store import Store
from tests.test_pages import MakeApp, histogram_spec, seed
from tests.test_pages import make_app as make_app  # a fixture


def test_a_rate_just_under_all_does_not_read_100_percent(make_app: MakeApp, store: Store) -> None:
    ids = seed(store, per_example=20)  # 480 candidates, 240 per augmenter
    for cid in ids:
        store.set_decision(cid, "approved")
    store.set_decision(next(c for c in ids if c.endswith("-0")), "rejected")  # one templates candidate
    at = make_app("views/insights.py", dataset="sample")
    assert not at.exception
    charts = [plotly.io.from_json(c.proto.spec) for c in at.get("plotly_chart")]
    by_title = {figure.layout.title.text.split(" (")[0]: figure for figure in charts}
    acceptance = by_title["Acceptance rate per augmenter"]
    assert sorted(acceptance.data[0].text) == ["100% of 240", "99.6% of 240"]
    for figure in charts:
        assert figure.layout.margin.l and figure.layout.margin.r and figure.layout.margin.t and figure.layout.margin.b
    histogram = histogram_spec(at)  # Vega-Lite
    assert histogram["title"] == "Semantic similarity by augmenter"
    bars = next(layer for layer in histogram["layer"] if layer["mark"]["type"] == "bar")
    domain = bars["encoding"]["x"]["scale"]["domain"]
    assert domain[0] < 0 and domain[1] > 1  # the 0.98-1.0 bin whole
    assert all(histogram["padding"][side] > 0 for side in ("left", "right", "top", "bottom"))
    labels = [layer for layer in histogram["layer"] if layer["mark"]["type"] == "text"]
    assert [label["encoding"]["text"]["value"] for label in labels] == ["valid window", "optimal band"]
    assert labels[1]["mark"]["dy"] > labels[0]["mark"]["dy"]  # the band's label lower down: they overlapped
