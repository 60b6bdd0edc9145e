"""Poisoning figures: metrics against the poison rate (a band over seeds), the training data with the poisoned and
flagged points marked, clean vs triggered images, and a detector's scores. Pure Plotly builders (no Streamlit)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from qulab.figures.evasion import build_image_gallery
from qulab.figures.style import class_colour, series_colour, series_marker, show_coinciding_curves


def build_rate_figure(rates: Sequence[float], series: Sequence[tuple[str, np.ndarray]], y_title: str,
                      reference: tuple[str, float] | None = None) -> go.Figure:
    """One line per metric: its mean over seeds against the poison rate, with a band from the lowest to the
    highest seed (``values`` shaped rates × seeds; NaN where a metric is undefined). ``reference`` draws a
    dotted horizontal line (e.g. the clean model's accuracy)."""
    fig = go.Figure()
    x = np.asarray(rates, dtype=np.float64)
    with warnings.catch_warnings():  # a metric undefined at every seed of a rate (recall at rate 0) is a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        _add_rate_series(fig, x, series)
    if reference is not None:
        fig.add_hline(y=reference[1], line={"color": "black", "dash": "dot", "width": 1.5},
                      annotation_text=reference[0], annotation_position="top right")
    show_coinciding_curves(fig)
    return fig.update_layout(xaxis_title="Poison rate (share of the training set)", yaxis_title=y_title,
                             yaxis_range=[0, 1.02], legend={"orientation": "h", "y": -0.2}, height=420,
                             margin={"t": 30})


def _add_rate_series(fig: go.Figure, x: np.ndarray, series: Sequence[tuple[str, np.ndarray]]) -> None:
    for i, (name, values) in enumerate(series):
        values = np.asarray(values, dtype=np.float64)
        colour = series_colour(i)
        if values.shape[1] > 1:
            low, high = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
            fig.add_trace(go.Scatter(x=np.r_[x, x[::-1]], y=np.r_[high, low[::-1]], fill="toself", opacity=0.2,
                                     fillcolor=colour, line={"width": 0}, hoverinfo="skip", showlegend=False,
                                     mode="none"))
        fig.add_trace(go.Scatter(
            x=x, y=np.nanmean(values, axis=1), name=name, mode="lines+markers",
            line={"color": colour, "width": 2}, marker={"symbol": series_marker(i), "size": 8},
            hovertemplate=f"{name}<br>rate %{{x:.2f}}<br>mean %{{y:.3f}} over {values.shape[1]} "
                          f"seed{'s' if values.shape[1] > 1 else ''}<extra></extra>"))


def build_training_view(coords: np.ndarray, axis_titles: tuple[str, str], labels: np.ndarray,
                        poisoned: np.ndarray, flagged: np.ndarray | None, class_names: Sequence[str]) -> go.Figure:
    """The training set as the victim saw it (colour = the label it learned from), the attacker's points drawn as
    crosses, and the detector's flags as black rings (``poisoned`` and ``flagged`` are boolean masks)."""
    fig = go.Figure()
    for k, name in enumerate(class_names):
        for mask, symbol, what in ((~poisoned, "circle", "clean"), (poisoned, "x", "poisoned")):
            rows = mask & (labels == k)
            if rows.any():
                fig.add_trace(go.Scatter(
                    x=coords[rows, 0], y=coords[rows, 1], mode="markers", name=f"{name} ({what})",
                    marker={"color": class_colour(k), "symbol": symbol, "size": 9 if what == "poisoned" else 6,
                            "opacity": 1.0 if what == "poisoned" else 0.55, "line": {"width": 0}},
                    hovertemplate=f"label {name} ({what})<extra></extra>"))
    if flagged is not None and flagged.any():
        fig.add_trace(go.Scatter(
            x=coords[flagged, 0], y=coords[flagged, 1], mode="markers", name="flagged by the detector",
            marker={"symbol": "circle-open", "size": 14, "color": "black", "line": {"width": 1.5}},
            hovertemplate="flagged<extra></extra>"))
    return fig.update_layout(xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], height=480,
                             legend={"title": "Label trained on"}, margin={"t": 30})


def build_trigger_gallery(clean: np.ndarray, triggered: np.ndarray, image_shape: tuple[int, int],
                          pred_clean: Sequence[str], pred_triggered: Sequence[str], true_labels: Sequence[str],
                          value_range: tuple[float, float] | None = None) -> go.Figure:
    """Clean test images over their triggered versions, each titled with the poisoned model's prediction; the
    middle row is the trigger itself (the evasion gallery's layout, its rows renamed)."""
    fig = build_image_gallery(clean, triggered, image_shape, pred_clean, pred_triggered, true_labels,
                              value_range=value_range)
    renamed = {"Original": "Clean", "Adversarial": "Triggered"}
    for note in fig.layout.annotations:
        text = note.text or ""
        if text in renamed:
            note.text = renamed[text]
        elif text.startswith("Perturbation"):
            note.text = "Trigger" + text.removeprefix("Perturbation")
        elif text.startswith("max |δ|"):
            note.text = ""
    return fig.update_layout(title_text="Clean test images, the trigger (blue = pixel raised), the triggered images")


def build_score_figure(scores: np.ndarray, poisoned: np.ndarray, threshold: float | None,
                       score_title: str = "Suspicion score") -> go.Figure:
    """The detector's score per training point, poisoned and clean points as overlaid histograms, with its cut."""
    fig = go.Figure()
    for mask, name, colour in ((~poisoned, "clean points", series_colour(4)), (poisoned, "poisoned points",
                                                                                series_colour(1))):
        if mask.any():
            fig.add_trace(go.Histogram(x=scores[mask], name=name, marker_color=colour, opacity=0.65, nbinsx=40))
    if threshold is not None:
        fig.add_vline(x=threshold, line={"color": "black", "dash": "dot", "width": 1.5},
                      annotation_text="flagged from here", annotation_position="top right")
    # Log counts: the clean points usually outnumber the poisoned ones many times over, and pile up in one bin.
    return fig.update_layout(barmode="overlay", xaxis_title=score_title, yaxis_title="Training points (log scale)",
                             yaxis_type="log", height=360, legend={"orientation": "h", "y": -0.25}, margin={"t": 30})
