"""Insights' first chart, the similarity histogram, as a Vega-Lite spec.

Vega-Lite, not plotly: Streamlit's Vega chunk is 0.8 MB, plotly's 4.7 MB, and a browser opening
Insights first drew nothing until plotly's script had loaded (issue 17: 3.4 s cold). The charts
below it stay plotly and load meanwhile. Drawn as SVG, so its labels are text a test can measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

X_DOMAIN = [-0.02, 1.02]  # the whole 0-1 scale and a little more: the last bin (0.98-1.0) is drawn whole
PADDING = {"left": 12, "right": 24, "top": 12, "bottom": 12}  # room around the plot (no clipped bar or label)
WINDOW_COLOUR, BAND_COLOUR = "#4c78a8", "#2e9e5b"


def _x(**encoding: Any) -> dict[str, Any]:
    return {"type": "quantitative", "scale": {"domain": X_DOMAIN}, **encoding}


def _shade(low: float, high: float, colour: str, opacity: float) -> dict[str, Any]:
    return {
        "data": {"values": [{}]},
        "mark": {"type": "rect", "color": colour, "opacity": opacity},
        "encoding": {"x": _x(datum=low), "x2": {"datum": high}},
    }


def _label(text: str, at: float, align: str, dy: int) -> dict[str, Any]:
    # Inside the plot's top edge, the band's label lower down: at 800 px the two overlapped side by side.
    return {
        "data": {"values": [{}]},
        "mark": {"type": "text", "align": align, "baseline": "top", "dx": 4 if align == "left" else -4, "dy": dy,
                 "fontSize": 12, "color": "#444"},  # fmt: skip
        "encoding": {"x": _x(datum=at), "y": {"value": 0}, "text": {"value": text}},
    }


def similarity_histogram(
    bars: dict[str, list[int]], edges: Sequence[float], window: tuple[float, float], band: tuple[float, float]
) -> dict[str, Any]:
    """Overlaid bars per augmenter over ``edges`` (one count per bin), the valid window and the optimal
    band shaded and labelled."""
    rows = [
        {"augmenter": name, "from": round(edges[i], 4), "to": round(edges[i + 1], 4), "candidates": count}
        for name, heights in bars.items()
        for i, count in enumerate(heights)
    ]
    return {
        "title": "Semantic similarity by augmenter",
        "height": 380,
        "padding": PADDING,
        "usermeta": {"embedOptions": {"renderer": "svg"}},
        "layer": [
            _shade(*window, WINDOW_COLOUR, 0.08),
            _shade(*band, BAND_COLOUR, 0.12),
            {
                "data": {"values": rows},
                "mark": {"type": "bar", "opacity": 0.75},
                "encoding": {
                    "x": _x(field="from", title="semantic_similarity"),
                    "x2": {"field": "to"},
                    "y": {"field": "candidates", "type": "quantitative", "stack": None, "title": "candidates"},
                    "color": {"field": "augmenter", "type": "nominal", "legend": {"orient": "bottom"}},
                    "tooltip": [{"field": "augmenter"}, {"field": "from", "title": "similarity from"},
                                {"field": "candidates"}],  # fmt: skip
                },
            },
            _label("valid window", window[0], "left", 4),
            _label("optimal band", band[1], "right", 24),
        ],
    }
