"""What every figure shares: one colour per class, when to use a log axis, coinciding curves made visible,
and a y-axis zoomed to the data with the full range one click away."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

# One colour per class index, the same on every page. Class 0 blue and class 1 orange, neither of which reads
# as "danger" or "safe": the data sets declare no positive class (breast cancer's 0 is malignant), so colour
# says only "which class", never "how bad".
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# Lines that are not classes (attacks, defences) take colours no class uses first.
SERIES_COLOURS = ("#6a3d9a", "#e31a1c", "#33a02c", "#b15928", "#1f78b4", "#fb9a99", "#a6cee3")
SERIES_MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "star", "triangle-down")

LOG_AXIS_RATIO = 100.0  # positive values whose max/min exceeds this span more than two decades


def class_colour(k: int) -> str:
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


def series_colour(i: int) -> str:
    return SERIES_COLOURS[i % len(SERIES_COLOURS)]


def series_marker(i: int) -> str:
    return SERIES_MARKERS[i % len(SERIES_MARKERS)]


def spans_decades(values: Sequence[float] | np.ndarray) -> bool:
    """Whether a log axis reads these values better: all positive and max/min above LOG_AXIS_RATIO."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return bool(v.size) and bool(v.min() > 0) and v.max() / v.min() > LOG_AXIS_RATIO


def _line_traces(fig: go.Figure) -> list[go.Scatter]:
    return [t for t in fig.data if isinstance(t, go.Scatter) and t.y is not None and len(t.y)
            and "lines" in (t.mode or "lines")]


def _same_curve(a: go.Scatter, b: go.Scatter) -> bool:
    xa, xb = np.asarray(a.x, dtype=np.float64), np.asarray(b.x, dtype=np.float64)
    ya, yb = np.asarray(a.y, dtype=np.float64), np.asarray(b.y, dtype=np.float64)
    return xa.shape == xb.shape and ya.shape == yb.shape and np.allclose(xa, xb) and np.allclose(ya, yb, atol=1e-9)


def show_coinciding_curves(fig: go.Figure) -> go.Figure:
    """Curves with the same points would hide each other: within each group of equal curves the one drawn
    first becomes the widest band and each later one narrower on top, and every member but the group's
    reference (lowest legend rank, else first drawn) says in the legend which curve it coincides with."""
    groups: list[list[go.Scatter]] = []
    for trace in _line_traces(fig):
        group = next((g for g in groups if _same_curve(g[0], trace)), None)
        if group is None:
            groups.append([trace])
        else:
            group.append(trace)
    for group in (g for g in groups if len(g) > 1):
        reference = min(group, key=lambda t: t.legendrank if t.legendrank is not None else float("inf"))
        for i, trace in enumerate(group):
            trace.line.width = 2 + 4 * (len(group) - 1 - i)
            if i < len(group) - 1:
                trace.opacity = 0.55
            if trace is not reference:
                trace.name = f"{trace.name} — coincides with {reference.name}"
    return fig


def data_range(fig: go.Figure, full: tuple[float, float]) -> tuple[float, float]:
    """The y range that shows every plotted value with a small margin, never beyond ``full``."""
    ys = np.concatenate([np.asarray(t.y, dtype=np.float64) for t in _line_traces(fig)] or [np.array(full)])
    ys = ys[np.isfinite(ys)]
    lo, hi = float(ys.min()), float(ys.max())
    pad = max(0.02 * (full[1] - full[0]), 0.05 * (hi - lo))
    return max(full[0], lo - pad), min(full[1], hi + pad)


def zoom_to_data(fig: go.Figure, full: tuple[float, float] = (0.0, 1.02)) -> go.Figure:
    """Open with the y-axis zoomed to the data; two buttons switch between that and the full range."""
    zoom = data_range(fig, full)
    fig.update_yaxes(range=list(zoom))
    return fig.update_layout(updatemenus=[{
        "type": "buttons", "direction": "left", "showactive": True, "active": 0,
        "x": 1.0, "xanchor": "right", "y": 1.0, "yanchor": "bottom", "pad": {"b": 4, "r": 8},  # r: the border shows
        "buttons": [{"label": "Zoom to data", "method": "relayout", "args": [{"yaxis.range": list(zoom)}]},
                    {"label": f"{full[0]:g}–{full[1]:.0f}", "method": "relayout",
                     "args": [{"yaxis.range": list(full)}]}]}])


def vline_with_label(fig: go.Figure, x: float, text: str, dash: str = "dot", log: bool = False) -> go.Figure:
    """A vertical marker line whose label sits above the plot area, where no bar or curve can reach it
    (on a log axis Plotly places shapes and annotations in log10 units)."""
    x = float(np.log10(x)) if log else x
    fig.add_vline(x=x, line={"color": "black", "dash": dash, "width": 1.5})
    return fig.add_annotation(x=x, y=1.0, xref="x", yref="paper", yanchor="bottom", text=text, showarrow=False,
                              font={"size": 12})
