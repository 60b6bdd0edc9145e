"""The figures read as a newcomer needs: stable axes, visible segments, coinciding curves told apart, y-axes
zoomed to the data, one colour per class on every page, log axes where values span decades."""

import numpy as np
import pytest

from qulab.core.experiment import Scenario
from qulab.evaluation.curves import Curve
from qulab.evaluation.lab import DecisionPlane
from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack
from qulab.figures.codelab import build_attack_scatter, build_class_balance_figure, build_projection_figure
from qulab.figures.evasion import build_decision_map, build_distance_histogram, build_robustness_figure
from qulab.figures.style import spans_decades
from qulab.models.registry import binary_boundary
from qulab.threats.evasion.attacks import EPSILON


def _demo_figure(eps: float):
    scenario = Scenario().with_eps(eps)
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    outcome = run_attack(scenario, split, model)
    fig = build_attack_scatter(outcome.X_test, outcome.X_adv, outcome.pred_clean, outcome.pred_adv,
                               split.class_names, split.feature_names, binary_boundary(model.estimator),
                               eps_max=EPSILON.high)
    return fig, outcome


def test_attack_demo_axes_hold_still_and_contain_every_point_at_the_largest_budget():
    small, _ = _demo_figure(0.05)
    large, outcome = _demo_figure(EPSILON.high)
    assert small.layout.xaxis.range == large.layout.xaxis.range
    assert small.layout.yaxis.range == large.layout.yaxis.range
    (x0, x1), (y0, y1) = large.layout.xaxis.range, large.layout.yaxis.range
    assert x0 <= outcome.X_adv[:, 0].min() and outcome.X_adv[:, 0].max() <= x1
    assert y0 <= outcome.X_adv[:, 1].min() and outcome.X_adv[:, 1].max() <= y1


def test_attack_demo_draws_a_segment_for_every_moved_point_shown_at_eps_0_1():
    fig, outcome = _demo_figure(0.1)
    segments = next(t for t in fig.data if t.name == "Perturbation")
    x = np.asarray(segments.x, dtype=float)
    starts, ends = x[0::3], x[1::3]
    shown = min(150, len(outcome.X_test))
    moved = int(np.sum(np.any(outcome.X_adv != outcome.X_test, axis=1)))
    assert moved == len(outcome.X_test)  # FGM at eps 0.1 moves every point
    assert len(starts) == shown and np.all(np.isfinite(starts)) and np.all(np.isfinite(ends))
    markers = [i for i, t in enumerate(fig.data) if t.mode == "markers"]
    assert fig.data.index(segments) > max(markers)  # drawn over the markers, which would hide short segments


def _curve(label, accuracy, eps=(0.0, 0.1, 0.2)):
    return Curve(label, eps, accuracy, "test", 0.1)


def test_coinciding_attack_curves_are_named_and_drawn_as_nested_bands():
    fgm, pgd = _curve("FGM", (0.9, 0.7, 0.5)), _curve("PGD", (0.9, 0.7, 0.5))
    deepfool = _curve("DeepFool", (0.9, 0.8, 0.6))
    exact = _curve("Exact", (0.9, 0.7, 0.5))
    fig = build_robustness_figure([fgm, pgd, deepfool], "inf", exact)
    by_label = {t.name.split(" — ")[0]: t for t in fig.data}
    # the exact curve is the reference (first in the legend); the two attacks equal to it say so
    assert by_label["FGM"].name == "FGM — coincides with Exact"
    assert by_label["PGD"].name == "PGD — coincides with Exact"
    assert by_label["Exact"].name == "Exact" and by_label["DeepFool"].name == "DeepFool"
    widths = [by_label[k].line.width for k in ("FGM", "PGD", "Exact")]  # drawn in this order, each on top
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == 3
    assert by_label["FGM"].marker.symbol != by_label["PGD"].marker.symbol


def test_robustness_opens_zoomed_to_the_data_with_the_full_range_a_click_away():
    fig = build_robustness_figure([_curve("FGM", (0.97, 0.93, 0.90))], "inf")
    lo, hi = 0.90, 0.97
    pad = max(0.02 * 1.02, 0.05 * (hi - lo))
    assert fig.layout.yaxis.range == pytest.approx((lo - pad, hi + pad))
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["Zoom to data", "0–1"]
    assert buttons[0].args[0]["yaxis.range"] == pytest.approx([lo - pad, hi + pad])
    assert buttons[1].args[0]["yaxis.range"] == [0.0, 1.02]


def test_zoom_never_goes_past_the_full_range():
    fig = build_robustness_figure([_curve("FGM", (1.0, 0.5, 0.0))], "inf")
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.02)


def test_a_class_has_one_colour_on_every_figure():
    names = ("malignant", "benign")
    y = np.array([0, 1, 1, 0])
    points = np.arange(8.0).reshape(4, 2)
    projection = build_projection_figure(points, y, names, ("a", "b"), "t")
    balance = build_class_balance_figure(names, np.array([3, 5]), np.array([1, 2]))
    scatter = build_attack_scatter(points, points + 0.1, y, y, names, ("a", "b"))
    plane = DecisionPlane(xs=np.array([0.0, 1.0]), ys=np.array([0.0, 1.0]), classes=np.array([[0, 1], [1, 0]]),
                          clean=points, adversarial=points + 0.1, axis_titles=("a", "b"), description="")
    regions = build_decision_map(plane, y, y, names)
    for k, name in enumerate(names):
        colours = {
            "projection": next(t.marker.color for t in projection.data if t.name == name),
            "balance": balance.data[0].marker.color[k],
            "scatter": next(t.marker.color for t in scatter.data if t.name == f"Clean · predicted {name}"),
            "regions": next(t.marker.color for t in regions.data if t.name == f"class {name}"),
        }
        assert len(set(colours.values())) == 1, colours
    assert colours["projection"] != projection.data[0].marker.color  # the two classes differ


def test_log_axis_for_three_decades_not_for_one():
    three = np.geomspace(0.001, 1.0, 50)
    one = np.geomspace(0.1, 1.0, 50)
    assert spans_decades(three) and not spans_decades(one)
    assert not spans_decades(np.array([0.0, 0.001, 1.0]))  # a zero has no place on a log axis
    log_fig = build_distance_histogram(three, "2", eps_max=0.05)
    lin_fig = build_distance_histogram(one, "2", eps_max=0.5)
    assert log_fig.layout.xaxis.type == "log" and lin_fig.layout.xaxis.type in (None, "linear")
    assert int(np.sum(log_fig.data[0].y)) == len(three)  # every point lands in a log-spaced bin
    assert log_fig.layout.shapes[0].x0 == pytest.approx(np.log10(0.05))  # the line where eps max is


def test_eps_max_label_sits_above_the_bars():
    fig = build_distance_histogram(np.array([0.2, 0.3, 0.3, 0.3, 0.4]), "2", eps_max=0.3)
    label = next(a for a in fig.layout.annotations if a.text.startswith("eps max"))
    assert (label.yref, label.y, label.yanchor) == ("paper", 1.0, "bottom")


def test_defences_chart_names_each_curve_hidden_under_another():
    from qulab.defences.evaluate import evaluate_defence
    from qulab.figures.defences import build_defence_curves_figure

    scenario = Scenario(dataset="breast_cancer", scaling="minmax", model="logistic_regression", attack="pgd", eps=0.1)
    outcome = evaluate_defence(scenario, "adversarial_training", eps_grid=(0.0, 0.1, 0.2))
    fig = build_defence_curves_figure([outcome])
    names = [t.name for t in fig.data]
    undefended_equal = np.allclose(outcome.curve_undefended, outcome.exact_curve_undefended)
    defended_equal = np.allclose(outcome.curve_defended, outcome.exact_curve_defended)
    assert undefended_equal == ("Undefended (exact) — coincides with Undefended" in names)
    assert any("(exact) — coincides with Adversarial training" in n for n in names) == defended_equal
    assert undefended_equal or defended_equal  # PGD finds the exact minimal perturbation of a binary linear model
    curves = [c for c in (outcome.curve_undefended, outcome.exact_curve_undefended, outcome.curve_defended,
                          outcome.exact_curve_defended) if c is not None]
    lo, hi = float(np.min(curves)), float(np.max(curves))
    pad = max(0.02 * 1.02, 0.05 * (hi - lo))
    assert fig.layout.yaxis.range == pytest.approx((max(0.0, lo - pad), min(1.02, hi + pad)))


def test_decision_map_draws_segments_over_the_markers():
    points = np.arange(8.0).reshape(4, 2)
    plane = DecisionPlane(xs=np.array([0.0, 8.0]), ys=np.array([0.0, 8.0]), classes=np.array([[0, 1], [1, 0]]),
                          clean=points, adversarial=points + 0.1, axis_titles=("a", "b"), description="")
    fig = build_decision_map(plane, np.array([0, 1, 1, 0]), np.array([0, 0, 1, 0]), ("a", "b"))
    drawn = [t for t in fig.data[1:] if t.x[0] is not None]  # after the heatmap, without the legend swatches
    kinds = ["segment" if t.mode == "lines" else "marker" for t in drawn]
    assert kinds == ["marker", "marker", "segment", "segment"]
    flipped = next(t for t in fig.data if t.name == "Perturbation (prediction flipped)")
    assert len(flipped.x) == 3  # one point changed its prediction: one segment and its gap
