"""Pure figure builders for the Defences page: outcomes in, Plotly figures out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from qulab.defences import DEFENCES, DefenceOutcome
from qulab.figures.style import show_coinciding_curves, vline_with_label, zoom_to_data

UNDEFENDED_COLOUR = "#7f7f7f"
DEFENCE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


def build_defence_curves_figure(outcomes: Sequence[DefenceOutcome]) -> go.Figure:
    """Robust accuracy against eps: the undefended model once, then each defence (solid = the honest number,
    dotted = the non-adaptive attack of a sanitiser, dash-dot = the certified accuracy, dashed grey = exact).
    Curves that coincide are drawn as nested bands and named so in the legend; the y-axis opens zoomed to
    the data."""
    fig = go.Figure()
    if not outcomes:
        return fig.update_layout(title="Robust accuracy against epsilon")
    first = outcomes[0]
    fig.add_trace(go.Scatter(x=first.eps_grid, y=first.curve_undefended, mode="lines+markers", name="Undefended",
                             line={"color": UNDEFENDED_COLOUR, "width": 3}))
    if first.exact_curve_undefended is not None:
        fig.add_trace(go.Scatter(x=first.eps_grid, y=first.exact_curve_undefended, mode="lines",
                                 name="Undefended (exact)", line={"color": UNDEFENDED_COLOUR, "dash": "dash"}))
    for i, outcome in enumerate(outcomes):
        colour = DEFENCE_COLOURS[i % len(DEFENCE_COLOURS)]
        label = DEFENCES.get(outcome.defence).label
        honest = " (adaptive attack)" if outcome.curve_nonadaptive is not None else ""
        fig.add_trace(go.Scatter(x=outcome.eps_grid, y=outcome.curve_defended, mode="lines+markers",
                                 name=f"{label}{honest}", line={"color": colour, "width": 3}))
        if outcome.curve_nonadaptive is not None:
            fig.add_trace(go.Scatter(x=outcome.eps_grid, y=outcome.curve_nonadaptive, mode="lines+markers",
                                     name=f"{label} (non-adaptive attack)",
                                     line={"color": colour, "dash": "dot"}, marker={"symbol": "circle-open"}))
        if outcome.exact_curve_defended is not None:
            fig.add_trace(go.Scatter(x=outcome.eps_grid, y=outcome.exact_curve_defended, mode="lines",
                                     name=f"{label} (exact)", line={"color": colour, "dash": "dash"}))
        if outcome.certified_curve is not None:
            fig.add_trace(go.Scatter(x=outcome.eps_grid, y=outcome.certified_curve, mode="lines+markers",
                                     name=f"{label} (certified)", line={"color": colour, "dash": "dashdot"},
                                     marker={"symbol": "diamond"}))
    norm = first.scenario.norm
    vline_with_label(fig, first.scenario.eps, f"eps = {first.scenario.eps:g}")
    fig.update_layout(
        title=f"Robust accuracy against epsilon ({first.attack_label}, {first.n_test} held-out test points)",
        xaxis_title=f"Epsilon ({'L∞' if norm == 'inf' else 'L' + norm})", yaxis_title="Accuracy",
        legend={"orientation": "h", "y": -0.2}, margin={"t": 90})
    return zoom_to_data(show_coinciding_curves(fig))


def build_certified_radius_figure(outcome: DefenceOutcome, bins: int = 20) -> go.Figure:
    """Histogram of the certified L2 radii (0 = not certified or wrong), with the radius the budget needs."""
    radii = np.asarray(outcome.certified_radii or (), dtype=float)
    fig = go.Figure(go.Histogram(x=radii, nbinsx=bins, name="Test points", marker={"color": DEFENCE_COLOURS[0]},
                                 hovertemplate="radius %{x}<br>%{y} points<extra></extra>"))
    if outcome.certified_radius_needed is not None:
        vline_with_label(fig, outcome.certified_radius_needed,
                         f"needed for eps = {outcome.scenario.eps:g}: {outcome.certified_radius_needed:.3g}",
                         dash="dash")
    return fig.update_layout(title="Certified L2 radius per test point (0 = abstained or wrong)",
                             xaxis_title="Certified radius (L2)", yaxis_title="Test points", bargap=0.05,
                             showlegend=False, margin={"t": 80})
