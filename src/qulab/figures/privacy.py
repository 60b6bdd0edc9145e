"""Privacy figures: membership ROCs on log-log axes, the per-class breakdown, advantage against ε under the DP
bound, accuracy against ε, and generalisation gap against advantage across model families. Pure builders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from qulab.figures.style import class_colour, series_colour, series_marker, zoom_to_data


def build_roc(curves: Mapping[str, Any], n_nonmembers: int) -> go.Figure:
    """ROC curves (name → object with ``fpr``/``tpr``) on log-log axes, from the smallest FPR one non-member can
    make (1/n) to 1, with the diagonal of guessing."""
    floor = 1.0 / max(n_nonmembers, 1)
    fig = go.Figure()
    grid = np.logspace(np.log10(floor), 0, 50)
    fig.add_trace(go.Scatter(x=grid, y=grid, mode="lines", name="guessing", line={"dash": "dot", "color": "grey"}))
    for i, (name, curve) in enumerate(curves.items()):
        fpr, tpr = np.asarray(curve.fpr), np.asarray(curve.tpr)
        keep = (fpr > 0) & (tpr > 0)  # zero has no place on a log axis; the first shown point is FPR = 1/n
        few = keep.sum() <= 10  # a label-only attack's ROC has a point or two: show them, not a hidden corner
        fig.add_trace(go.Scatter(x=fpr[keep], y=tpr[keep], mode="lines+markers" if few else "lines", name=name,
                                 line_shape="hv", line={"color": series_colour(i), "width": 2},
                                 marker={"size": 9, "symbol": series_marker(i)}))
    decades = {"type": "log", "dtick": 1, "range": [np.log10(floor), 0.02]}  # a tick per power of ten
    fig.update_xaxes(title="False-positive rate (non-members called members)", **decades)
    fig.update_yaxes(title="True-positive rate (members found)", **decades)
    fig.update_layout(height=420, margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig


def build_class_breakdown(rows: Sequence[Any]) -> go.Figure:
    """Per class: the attack's AUC (bars, class colours), with the members and non-members each rests on."""
    shown = [row for row in rows if row.auc is not None]
    fig = go.Figure(go.Bar(
        x=[row.name for row in shown], y=[row.auc for row in shown],
        marker_color=[class_colour(k) for k, row in enumerate(rows) if row.auc is not None],
        text=[f"{row.auc:.2f}" for row in shown], textposition="outside",
        customdata=[[row.n_members, row.n_nonmembers, row.advantage] for row in shown],
        hovertemplate="class %{x}<br>AUC %{y:.3f}<br>advantage %{customdata[2]:.3f}<br>"
                      "%{customdata[0]} members, %{customdata[1]} non-members<extra></extra>"))
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey", annotation_text="guessing")
    fig.update_yaxes(title="AUC of the attack on the class", range=[0, 1.08])
    fig.update_xaxes(title="Class", type="category")
    fig.update_layout(height=360, margin={"t": 30})
    return fig


def build_advantage_vs_epsilon(epsilons: Sequence[float], advantages: Sequence[float], delta: float,
                               label: str, accountant: str = "accountant") -> go.Figure:
    """Measured membership advantage against the accountant's ε, under the bound (e^ε − 1 + 2δ)/(e^ε + 1) that
    every (ε, δ)-DP learner obeys (log ε axis, titled with whose accounting the ε is)."""
    from qulab.threats.privacy.mitigations import dp_bound

    eps = np.asarray(epsilons, dtype=np.float64)
    grid = np.logspace(np.log10(min(eps.min(), 0.1)), np.log10(max(eps.max(), 10.0)), 100)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=grid, y=[dp_bound(e, delta) for e in grid], mode="lines", name=f"DP bound (δ={delta:g})",
                             fill="tozeroy", fillcolor="rgba(51,160,44,0.10)", line={"color": series_colour(2)}))
    fig.add_trace(go.Scatter(x=eps, y=advantages, mode="lines+markers", name=f"measured: {label}",
                             marker={"symbol": series_marker(0), "size": 9}, line={"color": series_colour(0)}))
    fig.update_xaxes(title=f"ε ({accountant})", **_epsilon_ticks(eps))
    fig.update_yaxes(title="Membership advantage (TPR − FPR)", range=[0, 1.02])
    fig.update_layout(height=380, margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig


def build_accuracy_vs_epsilon(epsilons: Sequence[float], train: Sequence[float], test: Sequence[float],
                              undefended: tuple[float, float] | None = None,
                              accountant: str = "accountant") -> go.Figure:
    """Train and test accuracy against ε, with the undefended model's as dotted lines."""
    fig = go.Figure()
    for i, (name, values) in enumerate((("training accuracy", train), ("test accuracy", test))):
        fig.add_trace(go.Scatter(x=list(epsilons), y=list(values), mode="lines+markers", name=name,
                                 marker={"symbol": series_marker(i)}, line={"color": series_colour(i)}))
    if undefended is not None:  # as flat dotted lines, so zooming to the data keeps them in view
        ends = [min(epsilons), max(epsilons)]
        for i, (name, value) in enumerate((("training, no DP", undefended[0]), ("test, no DP", undefended[1]))):
            fig.add_trace(go.Scatter(x=ends, y=[value, value], mode="lines", name=name,
                                     line={"color": series_colour(i), "dash": "dot"}))
    fig.update_xaxes(title=f"ε ({accountant})", **_epsilon_ticks(np.asarray(epsilons, dtype=np.float64)))
    fig.update_yaxes(title="Accuracy")
    zoom_to_data(fig, (0.0, 1.02))
    fig.update_layout(height=380, margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig


def _epsilon_ticks(epsilons: np.ndarray) -> dict[str, Any]:
    """A log ε axis labelled at the measured ε values (plotly's minor log labels read as noise here)."""
    shown = sorted({float(f"{e:.2g}") for e in epsilons})
    return {"type": "log", "tickvals": shown, "ticktext": [f"{e:g}" for e in shown]}


def build_gap_vs_advantage(labels: Sequence[str], gaps: Sequence[float], advantages: Sequence[float]) -> go.Figure:
    """Each model family's generalisation gap (train − test accuracy) against the attack's advantage; the gap
    attack's advantage lies on the diagonal by construction."""
    top = max([*gaps, *advantages, 0.05]) * 1.1
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name="advantage = gap",
                             line={"dash": "dot", "color": "grey"}))
    for i, (label, gap, adv) in enumerate(zip(labels, gaps, advantages, strict=True)):
        fig.add_trace(go.Scatter(x=[gap], y=[adv], mode="markers+text", name=label, text=[label],
                                 textposition="top center", marker={"size": 12, "color": series_colour(i),
                                                                    "symbol": series_marker(i)}))
    fig.update_xaxes(title="Generalisation gap (train − test accuracy)", range=[min(0, *gaps) - 0.01, top])
    fig.update_yaxes(title="Membership advantage", range=[0, top])
    fig.update_layout(height=420, margin={"t": 30}, showlegend=False)
    return fig
