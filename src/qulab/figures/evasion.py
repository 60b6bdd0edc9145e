"""Pure figure builders for the Attack Lab and Robustness pages: data in, Plotly figure out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from qulab.core.threat import NORM_NAMES
from qulab.evaluation.lab import DecisionPlane
from qulab.figures.codelab import sample_indices
from qulab.figures.style import (
    class_colour,
    series_colour,
    series_marker,
    show_coinciding_curves,
    spans_decades,
    vline_with_label,
    zoom_to_data,
)

if TYPE_CHECKING:  # the figure only reads a sweep's fields; drawing needs no attack library
    from qulab.evaluation.budget import BudgetSweep


def _discrete_colourscale(n_classes: int) -> list[list]:
    scale = []
    for k in range(n_classes):
        scale += [[k / n_classes, class_colour(k)], [(k + 1) / n_classes, class_colour(k)]]
    return scale


def build_decision_map(plane: DecisionPlane, pred_clean: np.ndarray, pred_adv: np.ndarray,
                       class_names: tuple[str, ...], max_points: int = 150) -> go.Figure:
    """The model's predicted class as a faint background, clean test points (circles) joined to their
    adversarial twins (crosses) by segments; colours are predicted classes, darker segments flipped a point."""
    n_classes = len(class_names)
    names = np.array([str(c) for c in class_names], dtype=object)
    fig = go.Figure(go.Heatmap(
        x=plane.xs, y=plane.ys, z=plane.classes, customdata=names[plane.classes],
        colorscale=_discrete_colourscale(n_classes), zmin=-0.5, zmax=n_classes - 0.5, opacity=0.28,
        showscale=False, hovertemplate="model predicts %{customdata}<extra></extra>", name="Decision regions"))
    idx = sample_indices(len(plane.clean), max_points)
    clean, adv = plane.clean[idx], plane.adversarial[idx]
    flipped = pred_clean[idx] != pred_adv[idx]
    for kind, points, preds, symbol in (("Clean", clean, pred_clean[idx], "circle"),
                                        ("Adversarial", adv, pred_adv[idx], "x")):
        fig.add_trace(go.Scatter(
            x=points[:, 0], y=points[:, 1], mode="markers", name=f"{kind} (colour = predicted class)",
            customdata=names[preds],
            marker={"color": [class_colour(int(k)) for k in preds], "symbol": symbol,
                    "size": 8 if kind == "Clean" else 9, "line": {"width": 0.6, "color": "white"}},
            hovertemplate=f"{kind}<br>predicted %{{customdata}}<extra></extra>"))
    # segments over the markers: at small eps a segment is shorter than two markers and would vanish beneath
    for mask, name, colour, width in ((~flipped, "Perturbation (prediction kept)", "rgba(70,70,70,0.6)", 1.2),
                                      (flipped, "Perturbation (prediction flipped)", "rgba(20,20,20,0.9)", 1.6)):
        gaps = np.full(int(mask.sum()), np.nan)
        fig.add_trace(go.Scatter(
            x=np.column_stack([clean[mask, 0], adv[mask, 0], gaps]).ravel(),
            y=np.column_stack([clean[mask, 1], adv[mask, 1], gaps]).ravel(),
            mode="lines", name=name, line={"color": colour, "width": width}, hoverinfo="skip"))
    for k, name in enumerate(class_names):  # legend swatches for the class colours
        swatch = str(name) if str(name).lower().startswith("class") else f"class {name}"
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=swatch,
                                 marker={"color": class_colour(k), "symbol": "square", "size": 10}))
    fig.update_xaxes(range=[plane.xs[0], plane.xs[-1]], title=plane.axis_titles[0])
    fig.update_yaxes(range=[plane.ys[0], plane.ys[-1]], title=plane.axis_titles[1])
    return fig.update_layout(title="Decision regions, with clean → adversarial test points", legend_title_text="",
                             height=560)


def build_image_gallery(originals: np.ndarray, adversarials: np.ndarray, image_shape: tuple[int, int],
                        clean_labels: Sequence[str], adv_labels: Sequence[str], true_labels: Sequence[str],
                        clean_conf: np.ndarray | None = None, adv_conf: np.ndarray | None = None,
                        value_range: tuple[float, float] | None = None) -> go.Figure:
    """One column per example: original, perturbation (own colour range, diverging: amplified), adversarial,
    each titled with the predicted class (and confidence when the model gives probabilities)."""
    k = len(originals)
    h, w = image_shape
    delta = (np.asarray(adversarials) - np.asarray(originals)).reshape(k, h, w)
    bound = float(np.abs(delta).max()) or 1.0
    lo, hi = value_range or (float(min(originals.min(), adversarials.min())),
                             float(max(originals.max(), adversarials.max())))

    def said(labels: Sequence[str], conf: np.ndarray | None, j: int) -> str:
        return f"→ {labels[j]}" + (f" ({conf[j]:.0%})" if conf is not None else "")

    titles = ([f"true {true_labels[j]} {said(clean_labels, clean_conf, j)}" for j in range(k)]
              + [f"max |δ| {np.abs(delta[j]).max():.2g}" for j in range(k)]
              + [said(adv_labels, adv_conf, j) for j in range(k)])
    fig = make_subplots(rows=3, cols=k, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.08,
                        row_titles=["Original", f"Perturbation (±{bound:.2g})", "Adversarial"])
    for j in range(k):
        for row, image, scale, zmin, zmax, what in (
                (1, originals[j].reshape(h, w), "Greys", lo, hi, "pixel"),
                (2, delta[j], "RdBu", -bound, bound, "change"),
                (3, adversarials[j].reshape(h, w), "Greys", lo, hi, "pixel")):
            fig.add_trace(go.Heatmap(z=image, colorscale=scale, zmin=zmin, zmax=zmax, showscale=False,
                                     hovertemplate=f"{what} %{{z:.3g}}<extra></extra>"), row=row, col=j + 1)
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    for i in range(1, 3 * k + 1):
        fig.layout[f"yaxis{i if i > 1 else ''}"].scaleanchor = f"x{i if i > 1 else ''}"
    fig.update_annotations(font_size=11)
    return fig.update_layout(title="Examples: original, perturbation (blue = pixel raised, red = lowered), adversarial",
                             height=520, margin={"l": 20, "r": 60, "t": 90, "b": 20}, plot_bgcolor="white")


def build_robustness_figure(curves: Sequence[BudgetSweep], norm: str, exact: BudgetSweep | None = None) -> go.Figure:
    """Accuracy against eps for several attacks on one chart; the exact curve (when known) as a dashed black
    line: no attack can lie below it. Each attack has its own colour and marker, and curves that coincide
    are drawn as nested bands and named so in the legend."""
    fig = go.Figure()
    for i, curve in enumerate(curves):
        fig.add_trace(go.Scatter(x=curve.eps, y=curve.accuracy, mode="lines+markers", name=curve.label,
                                 line={"color": series_colour(i), "width": 2}, legendrank=2 + i,
                                 marker={"symbol": series_marker(i), "size": 8},
                                 hovertemplate=f"{curve.label}<br>eps %{{x:.3g}}<br>accuracy %{{y:.3f}}"
                                               "<extra></extra>"))
    if exact is not None:  # drawn last, so it stays visible where an attack reaches it
        fig.add_trace(go.Scatter(x=exact.eps, y=exact.accuracy, mode="lines", name=exact.label, legendrank=1,
                                 line={"color": "black", "width": 2.5, "dash": "dash"},
                                 hovertemplate="eps %{x:.3g}<br>exact accuracy %{y:.3f}<extra></extra>"))
    fig.update_xaxes(title=f"epsilon ({NORM_NAMES[norm]} budget)", rangemode="tozero")
    fig.update_yaxes(title="accuracy under attack")
    fig.update_layout(title="Accuracy against the attack's budget", legend_title_text="", height=480)
    return zoom_to_data(show_coinciding_curves(fig))


def build_distance_histogram(distances: np.ndarray, norm: str, eps_max: float | None = None,
                             bins: int = 40) -> go.Figure:
    """How far each correctly classified test point is from the nearest decision boundary (exact, linear
    models); points at distance 0 (already misclassified) are left out and counted in the title. Distances
    spanning decades get log-spaced bins on a log axis, so the small ones are not one crowded bar."""
    distances = np.asarray(distances, dtype=np.float64)
    positive = distances[(distances > 0) & np.isfinite(distances)]
    zero = int(np.sum(distances == 0))
    log = spans_decades(positive)
    if log:
        edges = np.geomspace(positive.min(), positive.max(), bins + 1)
        counts, _ = np.histogram(positive, bins=edges)
        fig = go.Figure(go.Bar(x=edges[:-1], y=counts, width=np.diff(edges), offset=0,
                               customdata=np.column_stack([edges[:-1], edges[1:]]), marker={"color": series_colour(0)},
                               hovertemplate="distance %{customdata[0]:.3g} to %{customdata[1]:.3g}<br>"
                                             "%{y} points<extra></extra>"))
    else:
        fig = go.Figure(go.Histogram(x=positive, nbinsx=bins, marker={"color": series_colour(0)},
                                     hovertemplate="distance %{x}<br>%{y} points<extra></extra>"))
    if eps_max is not None and (eps_max > 0 or not log):
        vline_with_label(fig, eps_max, f"eps max = {eps_max:.3g}", log=log)
    fig.update_xaxes(title=f"minimal {NORM_NAMES[norm]} perturbation that changes the prediction"
                           + (" (log scale)" if log else ""), type="log" if log else "linear")
    fig.update_yaxes(title="test points")
    return fig.update_layout(title=f"Exact distance to the decision boundary ({zero} already misclassified points "
                                   "not shown)", height=380, bargap=0.05, margin={"t": 80})
