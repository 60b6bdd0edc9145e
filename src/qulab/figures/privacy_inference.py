"""Figures for what a model gives away about its training records: attribute inference (with and without the model)
and model inversion (a reconstructed image per class beside the class's mean). Pure Plotly builders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from qulab.figures.style import class_colour, series_colour


def build_attribute_figure(attack: float, baseline: float, majority: float,
                           per_level: Sequence[tuple[float, int, float, float]], column: str,
                           binned: bool) -> go.Figure:
    """Left: accuracy of the guess with the model, without it, and of always guessing the commonest value, with the
    leakage (the first two's difference) marked. Right: the two guesses' accuracy per true value of the column."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.12,
                        subplot_titles=("Overall", f"Per {'bin' if binned else 'value'} of '{column}'"))
    names = ("with the model", "without (baseline)", "commonest value")
    fig.add_trace(go.Bar(x=list(names), y=[attack, baseline, majority], text=[f"{v:.2f}" for v in
                                                                                (attack, baseline, majority)],
                         textposition="outside", marker_color=[series_colour(0), series_colour(2), "lightgrey"],
                         showlegend=False, hovertemplate="%{x}: %{y:.3f}<extra></extra>"), row=1, col=1)
    fig.add_annotation(x=0.5, y=max(attack, baseline) + 0.12, xref="x", yref="y",
                       text=f"leakage {attack - baseline:+.3f}", showarrow=False, font={"size": 13})
    labels = [f"{'bin ' if binned else ''}{i if binned else f'{level:g}'} ({n})"
              for i, (level, n, _, _) in enumerate(per_level)]
    for j, (name, values) in enumerate((("with the model", [r[2] for r in per_level]),
                                        ("without (baseline)", [r[3] for r in per_level]))):
        fig.add_trace(go.Bar(x=labels, y=values, name=name, marker_color=series_colour(2 * j),
                             hovertemplate="%{x}: %{y:.3f}<extra>" + name + "</extra>"), row=1, col=2)
    fig.update_yaxes(title="Guessed right (share of attacked records)", range=[0, 1.18], row=1, col=1)
    fig.update_yaxes(range=[0, 1.05], row=1, col=2)
    fig.update_xaxes(title="True value (records)", type="category", row=1, col=2)
    fig.update_layout(height=400, margin={"t": 40}, barmode="group", legend={"orientation": "h", "y": -0.3})
    return fig


def build_inversion_figure(reconstructions: np.ndarray, class_means: np.ndarray, class_names: Sequence[str],
                           confidences: Sequence[float] | None = None,
                           value_range: tuple[float, float] = (0.0, 1.0)) -> go.Figure:
    """Two rows of images, one column per class: the image the inversion reconstructed from the model, and the mean
    of the class's training images, on one grey scale (dark = high, as the digits are drawn)."""
    k = len(reconstructions)
    titles = [f"<span style='color:{class_colour(c)}'>{class_names[c]}</span>"
              + ("" if confidences is None else f" ({confidences[c]:.0%})") for c in range(k)] + [""] * k
    fig = make_subplots(rows=2, cols=k, subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.06,
                        row_titles=["Reconstructed", "Class mean"])
    lo, hi = value_range
    for c in range(k):
        for row, image, what in ((1, reconstructions[c], "reconstructed"), (2, class_means[c], "mean")):
            fig.add_trace(go.Heatmap(z=np.asarray(image), colorscale="Greys", zmin=lo, zmax=hi, showscale=False,
                                     hovertemplate=f"{what} %{{z:.2f}}<extra>{class_names[c]}</extra>"),
                          row=row, col=c + 1)
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    for i in range(1, 2 * k + 1):
        fig.layout[f"yaxis{i if i > 1 else ''}"].scaleanchor = f"x{i if i > 1 else ''}"
    fig.update_annotations(font_size=12)
    return fig.update_layout(height=300, margin={"l": 20, "r": 50, "t": 40, "b": 10}, plot_bgcolor="white")
