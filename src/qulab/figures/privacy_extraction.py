"""Model-extraction figures: the copy's agreement and accuracy against the number of queries, and stolen against
true weights for equation solving. Pure Plotly builders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from qulab.figures.style import class_colour, series_colour, series_marker

_ANSWER_NAMES = {"probabilities": "probabilities", "labels": "top label only"}


def build_extraction_curve(curves: Mapping[str, Sequence[Any]]) -> go.Figure:
    """Per kind of answer (name → points with ``queries``, ``agreement``, ``stolen_accuracy``): agreement with the
    target (solid) and the copy's own test accuracy (dotted) against the queries, on a log axis."""
    fig = go.Figure()
    for i, (answers, points) in enumerate(curves.items()):
        queries = [p.queries for p in points]
        name = _ANSWER_NAMES.get(answers, answers)
        fig.add_trace(go.Scatter(x=queries, y=[p.agreement for p in points], mode="lines+markers",
                                 name=f"agreement, {name}", line={"color": series_colour(i), "width": 2},
                                 marker={"symbol": series_marker(i), "size": 9},
                                 hovertemplate="%{x} queries<br>agreement %{y:.3f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=queries, y=[p.stolen_accuracy for p in points], mode="lines+markers",
                                 name=f"copy's accuracy, {name}", line={"color": series_colour(i), "dash": "dot"},
                                 marker={"symbol": series_marker(i), "size": 7},
                                 hovertemplate="%{x} queries<br>accuracy %{y:.3f}<extra></extra>"))
    fig.update_xaxes(type="log", title="Queries sent to the target")
    fig.update_yaxes(title="Share of test rows", range=[0, 1.02])
    fig.update_layout(height=400, margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig


def build_weight_recovery(stolen_W: np.ndarray, stolen_b: np.ndarray, true_W: np.ndarray,
                          true_b: np.ndarray) -> go.Figure:
    """Stolen against true weights, one marker per weight (class colours; intercepts as diamonds), on the
    diagonal of exact recovery. The first class's row is zero by the softmax's convention and is left out."""
    fig = go.Figure()
    values = np.concatenate([np.ravel(true_W), np.ravel(true_b)])
    low, high = float(values.min()), float(values.max())
    pad = 0.05 * (high - low or 1.0)
    fig.add_trace(go.Scatter(x=[low - pad, high + pad], y=[low - pad, high + pad], mode="lines",
                             name="exact recovery", line={"dash": "dot", "color": "grey"}))
    for k in range(1, len(true_W)):
        fig.add_trace(go.Scatter(x=true_W[k], y=stolen_W[k], mode="markers", name=f"class {k} weights",
                                 marker={"color": class_colour(k), "size": 7},
                                 hovertemplate="true %{x:.4g}<br>stolen %{y:.4g}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[true_b[k]], y=[stolen_b[k]], mode="markers", name=f"class {k} intercept",
                                 marker={"color": class_colour(k), "size": 12, "symbol": "diamond"},
                                 showlegend=len(true_W) <= 3))
    fig.update_xaxes(title="The target's weight (relative to class 0)")
    fig.update_yaxes(title="The stolen weight")
    fig.update_layout(height=400, margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig
