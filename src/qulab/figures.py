"""Pure figure builders: data in, Plotly figure out; testable without Streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

# One colour per class, the same on every figure.
CLASS_COLOURS = px.colors.qualitative.Plotly


def class_colour(k: int) -> str:
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


def build_overview_scatter(frame: pd.DataFrame) -> go.Figure:
    fig = px.scatter(frame, x="X", y="Y", color="Category", hover_data={"Time": "|%Y-%m-%d"},
                     color_discrete_map={"NegativeX": class_colour(0), "PositiveX": class_colour(1)},
                     title="Y against X, coloured by Category")
    return fig.update_layout(legend_title_text="Category")


def build_time_series(frame: pd.DataFrame) -> go.Figure:
    fig = px.line(frame, x="Time", y="Y", title="Y over Time (one value per day)", markers=True)
    return fig.update_xaxes(title="Time (date)")


def sample_indices(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """A fixed subsample, so points don't jump around when only epsilon changes."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def build_attack_scatter(X_clean: np.ndarray, X_adv: np.ndarray, pred_clean: np.ndarray, pred_adv: np.ndarray,
                         class_names: tuple[str, ...], feature_names: tuple[str, str],
                         boundary: tuple[np.ndarray, float] | None = None, max_points: int = 150) -> go.Figure:
    """Clean (circles) and adversarial (crosses) test points coloured by predicted class.

    A thin grey segment joins each clean point to its adversarial twin; for a binary linear model the
    decision boundary w·x + b = 0 is drawn as a dashed line.
    """
    idx = sample_indices(len(X_clean), max_points)
    clean, adv = X_clean[idx], X_adv[idx]
    fig = go.Figure()
    seg_x = np.column_stack([clean[:, 0], adv[:, 0], np.full(len(idx), np.nan)]).ravel()
    seg_y = np.column_stack([clean[:, 1], adv[:, 1], np.full(len(idx), np.nan)]).ravel()
    fig.add_trace(go.Scatter(x=seg_x, y=seg_y, mode="lines", name="Perturbation",
                             line={"color": "rgba(120,120,120,0.5)", "width": 1}, hoverinfo="skip"))
    for kind, points, preds, symbol in (("Clean", clean, pred_clean[idx], "circle"),
                                        ("Adversarial", adv, pred_adv[idx], "x")):
        for k, name in enumerate(class_names):
            mask = preds == k
            fig.add_trace(go.Scatter(
                x=points[mask, 0], y=points[mask, 1], mode="markers", name=f"{kind} · predicted {name}",
                marker={"color": class_colour(k), "symbol": symbol, "size": 8 if kind == "Clean" else 9,
                        "line": {"width": 0.5, "color": "white"}},
                hovertemplate=f"{kind}<br>{feature_names[0]}=%{{x:.3f}}<br>{feature_names[1]}=%{{y:.3f}}"
                              f"<br>predicted {name}<extra></extra>"))
    if boundary is not None:
        _add_boundary(fig, boundary, np.vstack([clean, adv]))
    fig.update_layout(title="Clean vs adversarial test points (colour = predicted class)",
                      xaxis_title=feature_names[0], yaxis_title=feature_names[1], legend_title_text="")
    return fig


def _add_boundary(fig: go.Figure, boundary: tuple[np.ndarray, float], points: np.ndarray) -> None:
    (w1, w2), b = boundary
    lo, hi = points.min(axis=0), points.max(axis=0)
    if abs(w2) >= abs(w1):
        xs = np.array([lo[0], hi[0]])
        ys = -(w1 * xs + b) / w2
    else:
        ys = np.array([lo[1], hi[1]])
        xs = -(w2 * ys + b) / w1
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="Decision boundary",
                             line={"color": "black", "dash": "dash", "width": 2}))
