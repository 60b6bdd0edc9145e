"""Pure figure builders: data in, Plotly figure out; testable without Streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from qulab.figures.style import class_colour


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
                         boundary: tuple[np.ndarray, float] | None = None, max_points: int = 150,
                         eps_max: float = 0.0) -> go.Figure:
    """Clean (circles) and adversarial (crosses) test points coloured by predicted class.

    A grey segment joins each moved point to its adversarial twin, drawn over the markers: at small epsilon a
    segment is shorter than two markers are wide and would vanish beneath them. The axes span the clean points
    widened by ``eps_max`` (the largest L∞ budget offered), so moving epsilon moves the points, not the axes.
    For a binary linear model the decision boundary w·x + b = 0 is drawn as a dashed line.
    """
    idx = sample_indices(len(X_clean), max_points)
    clean, adv = X_clean[idx], X_adv[idx]
    fig = go.Figure()
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
    moved = np.any(adv != clean, axis=1)
    gaps = np.full(int(moved.sum()), np.nan)
    fig.add_trace(go.Scatter(x=np.column_stack([clean[moved, 0], adv[moved, 0], gaps]).ravel(),
                             y=np.column_stack([clean[moved, 1], adv[moved, 1], gaps]).ravel(),
                             mode="lines", name="Perturbation", line={"color": "rgba(50,50,50,0.7)", "width": 1.3},
                             hoverinfo="skip"))
    lo, hi = X_clean.min(axis=0) - eps_max, X_clean.max(axis=0) + eps_max
    pad = 0.03 * (hi - lo)
    x_range, y_range = [lo[0] - pad[0], hi[0] + pad[0]], [lo[1] - pad[1], hi[1] + pad[1]]
    if boundary is not None:
        _add_boundary(fig, boundary, np.array([[x_range[0], y_range[0]], [x_range[1], y_range[1]]]))
    fig.update_xaxes(range=x_range)
    fig.update_yaxes(range=y_range)
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


def build_class_balance_figure(class_names: tuple[str, ...], train_counts: np.ndarray,
                               test_counts: np.ndarray) -> go.Figure:
    """Rows per class, stacked: the training part below, the test part on top."""
    names = [str(c) for c in class_names]
    fig = go.Figure()
    for part, counts, opacity in (("Training", train_counts, 1.0), ("Test", test_counts, 0.5)):
        fig.add_trace(go.Bar(
            x=names, y=np.asarray(counts), name=part, opacity=opacity,
            marker={"color": [class_colour(k) for k in range(len(names))]},
            hovertemplate=f"class %{{x}}<br>{part.lower()} rows: %{{y:,}}<extra></extra>"))
    total = np.asarray(train_counts) + np.asarray(test_counts)
    fig.add_trace(go.Scatter(x=names, y=total, mode="text", text=[f"{t:,}" for t in total],
                             textposition="top center", showlegend=False, hoverinfo="skip"))
    fig.update_layout(barmode="stack", title="Class balance: rows per class (solid = training, faded = test)",
                      xaxis_title="Class", yaxis_title="Rows", showlegend=False, bargap=0.3)
    fig.update_xaxes(type="category")
    return fig.update_yaxes(range=[0, float(total.max()) * 1.15 if len(total) else 1])


def build_projection_figure(coords: np.ndarray, y: np.ndarray, class_names: tuple[str, ...],
                            axis_titles: tuple[str, str], title: str) -> go.Figure:
    """Points in two dimensions coloured by their true class."""
    fig = go.Figure()
    for k, name in enumerate(class_names):
        mask = np.asarray(y) == k
        fig.add_trace(go.Scatter(
            x=coords[mask, 0], y=coords[mask, 1], mode="markers", name=str(name),
            marker={"color": class_colour(k), "size": 6, "opacity": 0.75, "line": {"width": 0.4, "color": "white"}},
            hovertemplate=f"class {name}<br>{axis_titles[0]}=%{{x:.3g}}<br>{axis_titles[1]}=%{{y:.3g}}<extra></extra>"))
    return fig.update_layout(title=title, xaxis_title=axis_titles[0], yaxis_title=axis_titles[1],
                             legend_title_text="Class")


def build_image_grid_figure(X: np.ndarray, y: np.ndarray, class_names: tuple[str, ...],
                            image_shape: tuple[int, int], per_class: int = 8,
                            value_range: tuple[float, float] | None = None) -> go.Figure:
    """A mosaic of sample images: one row per class (its first ``per_class`` images), white = low, black = high.

    All tiles share one heatmap (one pixel of blank space between them), which keeps the figure light;
    hovering a pixel tells its class, sample and value.
    """
    h, w = image_shape
    n_classes = len(class_names)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    mosaic = np.full((n_classes * (h + 1) - 1, per_class * (w + 1) - 1), np.nan)
    hover = np.full(mosaic.shape, "", dtype=object)
    for k in range(n_classes):
        for j, i in enumerate(np.flatnonzero(y == k)[:per_class]):
            top, left = k * (h + 1), j * (w + 1)
            mosaic[top:top + h, left:left + w] = X[i].reshape(h, w)
            hover[top:top + h, left:left + w] = f"class {class_names[k]}, sample {j + 1}"
    lo, hi = value_range if value_range is not None else (float(np.nanmin(mosaic)), float(np.nanmax(mosaic)))
    fig = go.Figure(go.Heatmap(
        z=mosaic, customdata=hover, colorscale="Greys", zmin=lo, zmax=hi, hoverongaps=False,
        showscale=False,
        hovertemplate="%{customdata}<br>pixel value %{z:.3g}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showgrid=False, zeroline=False, title="Class",
                     tickmode="array", tickvals=[k * (h + 1) + (h - 1) / 2 for k in range(n_classes)],
                     ticktext=[str(c) for c in class_names])
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    return fig.update_layout(title=f"Sample images: the first {per_class} of each class",
                             plot_bgcolor="white", height=max(300, 50 * n_classes + 120),
                             margin={"l": 60, "r": 20})
