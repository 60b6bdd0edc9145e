"""Figures that compare stored runs: accuracy against the budget overlaid, and the key numbers side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from qulab.core.threat import NORM_NAMES
from qulab.figures.style import series_colour, series_marker, show_coinciding_curves
from qulab.reports.tables import budget_of, curve_of


def run_label(run: Any, separator: str = " · ") -> str:
    """A run in a legend: data and model, then attack (and defence), budget, and its short id to tell equal ones
    apart; ``separator`` goes between the two halves ("<br>" under a bar)."""
    experiment = run.experiment or {}
    setup = " · ".join(str(experiment[k]) for k in ("dataset", "model") if experiment.get(k))
    threat = [str(experiment["attack"])] if experiment.get("attack") else []
    if experiment.get("defence"):
        threat.append(f"+ {experiment['defence']}")
    eps = (run.results or {}).get("eps", experiment.get("eps"))
    if isinstance(eps, int | float):  # a curve run's budgets are on the chart's axis
        threat.append(f"eps={eps:g}")
    return f"{setup}{separator}{' '.join(threat)} [{run.id[:6]}]"


def _points(run: Any) -> tuple[list[float], list[float], str] | None:
    """What a run adds to the accuracy-against-budget chart: its curve, or its clean accuracy at 0 and its
    adversarial accuracy at its budget (two markers, not joined: nothing is known in between)."""
    curve = curve_of(run)
    if curve is not None:
        return curve[0], curve[1], "lines+markers"
    results = run.results or {}
    clean, adversarial, eps = results.get("clean_accuracy"), results.get("adversarial_accuracy"), budget_of(run)
    if None in (clean, adversarial, eps):
        return None
    return [0.0, float(eps)], [float(clean), float(adversarial)], "markers"


def build_runs_curve_figure(runs: Sequence[Any]) -> go.Figure:
    """Accuracy against eps for every run on one chart, one colour and marker per run (a curve's exact accuracy,
    where known, dashed in its colour; a defence's undefended curve dotted); runs without a curve show their clean
    (eps 0) and adversarial accuracy as markers."""
    fig = go.Figure()
    norms, largest = set(), 0.0
    for i, run in enumerate(runs):
        points = _points(run)
        if points is None:
            continue
        norms.add((run.experiment or {}).get("norm"))
        eps, accuracy, mode = points
        largest = max(largest, *eps)
        label = run_label(run)
        fig.add_trace(go.Scatter(x=eps, y=accuracy, mode=mode, name=label,
                                 line={"color": series_colour(i), "width": 2},
                                 marker={"symbol": series_marker(i), "size": 9, "color": series_colour(i)},
                                 hovertemplate=f"{label}<br>eps %{{x:.3g}}<br>accuracy %{{y:.3f}}<extra></extra>"))
        for key, what, dash in (("exact_accuracy", "exact (no attack can go lower)", "dash"),
                                ("curve_undefended", "undefended", "dot")):
            other = (run.results or {}).get(key)
            if mode != "markers" and isinstance(other, list) and len(other) == len(eps):
                fig.add_trace(go.Scatter(x=eps, y=other, mode="lines", name=f"{label}, {what}",
                                         line={"color": series_colour(i), "width": 1.5, "dash": dash},
                                         hovertemplate=f"eps %{{x:.3g}}<br>{what} %{{y:.3f}}<extra></extra>"))
    norm = NORM_NAMES.get(norms.pop(), "") if len(norms) == 1 else "each run's"
    margin = 0.04 * (largest or 1.0)  # markers at eps 0 would be cut in half by the axis
    fig.update_xaxes(title=f"epsilon ({norm} budget)", range=[-margin, largest + margin])
    fig.update_yaxes(title="accuracy under attack", range=[0, 1.02])  # runs compare on one full scale
    fig.update_layout(title="Accuracy against the attack's budget, run by run", legend_title_text="", height=480,
                      showlegend=True, legend={"orientation": "h", "yanchor": "top", "y": -0.18})
    return show_coinciding_curves(fig)


# Where a run keeps its accuracy under the threat: evasion and defence runs under attack, poisoning runs after
# training on the poisoned set (the first key a run has).
UNDER_THREAT = ("adversarial_accuracy", "poisoned_accuracy")


def _under_threat(results: dict[str, Any]) -> float | None:
    for key in UNDER_THREAT:
        value = results.get(key)
        value = value[-1] if isinstance(value, list) and value else value
        if isinstance(value, int | float):
            return float(value)
    return None


def build_runs_accuracy_figure(runs: Sequence[Any]) -> go.Figure:
    """Clean accuracy and accuracy under the threat (adversarial, or after poisoning) of each run as pairs of
    horizontal bars, the first run on top (a curve's at its largest budget); horizontal, so each run's long label
    reads in full. Runs without both numbers (privacy runs, failed runs) are left out."""
    labels, clean, under = [], [], []
    for run in runs:
        results = run.results or {}
        after = _under_threat(results)
        if not isinstance(results.get("clean_accuracy"), int | float) or after is None:
            continue
        labels.append(run_label(run, "<br>"))
        clean.append(float(results["clean_accuracy"]))
        under.append(after)
    return _bars(labels, (("clean accuracy", clean, 4), ("accuracy under the attack", under, 1)),
                 "Clean accuracy and accuracy under the attack, run by run", "accuracy")


# What a privacy run's bars show: each number a privacy attack gives, in [0, 1], with its legend and colour.
PRIVACY_NUMBERS = (("auc", "AUC (membership)", 0), ("advantage", "membership advantage", 1),
                   ("agreement", "agreement of the stolen model", 2),
                   ("attack_accuracy", "attribute attack accuracy", 3),
                   ("baseline_accuracy", "attribute baseline accuracy", 4))


def build_runs_privacy_figure(runs: Sequence[Any]) -> go.Figure:
    """The privacy runs' numbers side by side as horizontal bars, one group per run (each attack has its own
    numbers: AUC and advantage for membership, agreement for extraction, attack against baseline accuracy for
    attribute inference). No bars when no run is a privacy run with numbers."""
    chosen = [run for run in runs if run.kind == "privacy"
              and any(isinstance((run.results or {}).get(k), int | float) for k, _, _ in PRIVACY_NUMBERS)]
    labels = [run_label(run, "<br>") for run in chosen]
    series = [(name, [(run.results or {}).get(key) for run in chosen], colour) for key, name, colour in PRIVACY_NUMBERS]
    return _bars(labels, [(name, values, colour) for name, values, colour in series
                          if any(isinstance(v, int | float) for v in values)],
                 "What each privacy attack achieved, run by run", "value (0 to 1)")


def _bars(labels: list[str], series: Sequence[tuple[str, list, int]], title: str, axis: str) -> go.Figure:
    fig = go.Figure([  # no bars at all when no run has the numbers, so callers can leave the figure out
        go.Bar(y=labels, x=values, name=name, orientation="h", marker={"color": series_colour(colour)},
               hovertemplate=f"%{{y}}<br>{name} %{{x:.3f}}<extra></extra>")
        for name, values, colour in series if labels])
    fig.update_xaxes(title=axis, range=[0, 1.02])
    fig.update_yaxes(autorange="reversed", automargin=True)  # room for the labels under every template
    return fig.update_layout(title=title, barmode="group", legend_title_text="",
                             height=160 + 35 * max(len(series), 2) * max(len(labels), 1),
                             legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
                             margin={"t": 90})
