"""The Attack Lab and Robustness pages in AppTest, and the library helpers behind them."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from qulab.app import state as dc
from qulab.core.experiment import Scenario
from qulab.core.registry import InvalidInput
from qulab.core.wording import number_text
from qulab.evaluation.curves import Curve
from qulab.evaluation.lab import decision_plane, eps_range, estimate_seconds, gallery_indices
from qulab.evaluation.pipeline import evaluate, fit_model, prepare_split, run_attack, subsample
from qulab.figures.evasion import (
    build_decision_map,
    build_distance_histogram,
    build_image_gallery,
    build_robustness_figure,
)
from qulab.models.registry import MODELS
from qulab.threats.evasion.attacks import ATTACKS, EPSILON

PAGES = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages"


def open_page(name: str, choice: dc.DataChoice | None = None) -> AppTest:
    app = AppTest.from_file(str(PAGES / name), default_timeout=180)
    if choice is not None:
        app.session_state[dc.CHOICE_KEY] = choice
    app.run()
    assert not app.exception, app.exception
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


# ---------------------------------------------------------------------------------------------------------
# Attack Lab


def test_attack_lab_defaults_match_an_independent_evaluate_then_follow_epsilon():
    app = open_page("attack_lab.py")
    assert app.title[0].value == "Attack Lab"
    assert any("Data in use" in m.value for m in app.markdown)
    for eps in (0.1, 0.3):
        if eps != 0.1:
            app.slider(key="al_eps_inf").set_value(eps).run()
            assert not app.exception
        summary = evaluate(Scenario(eps=eps)).summary()  # defaults: synthetic, logistic regression, FGM, L∞
        shown = metrics(app)
        assert shown["Clean accuracy"] == f"{summary['clean_accuracy']:.3f}"
        assert shown["Adversarial accuracy"] == f"{summary['adversarial_accuracy']:.3f}"
        assert shown["Attack success rate"] == f"{summary['attack_success_rate']:.3f}"
        assert shown["Predictions flipped"] == f"{summary['flipped']} of {summary['n_test']}"
        assert shown["Max L∞ perturbation"] == number_text(summary['max_linf'])
        assert shown["Median L2 perturbation"] == number_text(summary['median_l2'])
    assert len(app.get("plotly_chart")) == 1  # the decision map (no gallery: not images)


def test_a_model_change_that_rules_out_the_attack_switches_to_the_first_it_runs_and_says_so():
    app = open_page("attack_lab.py")
    app.number_input(key="al_sample").set_value(20).run()  # a quick run, never held for a button
    app.selectbox(key="al_model").set_value("decision_tree").run()
    assert not app.exception
    tree = MODELS.get("decision_tree")
    first = next(a for a in ATTACKS if a.unsupported_reason(tree, 2, False) is None)
    assert app.selectbox(key="al_attack").value == first.name
    assert [c.value for c in app.caption if "switched to" in c.value] == [
        f":material/swap_horiz: Fast Gradient Method does not run on the {tree.in_text}; switched to {first.label}."]
    if any(button.key == "al_run" for button in app.button):  # a loaded host's estimate asks for the button
        app.button(key="al_run").click().run()
    results = [c.value for c in app.caption if "test points attacked" in c.value]
    assert results and all(f"with {first.label} at" in c for c in results)  # the box's attack, never FGM's


def test_unsupported_pair_shows_the_reason_and_no_results():
    app = open_page("attack_lab.py")
    app.selectbox(key="al_model").set_value("decision_tree").run()
    app.selectbox(key="al_attack").set_value("fgm").run()  # chosen on purpose: it stays, with its reason
    assert not app.exception
    reason = ATTACKS.get("fgm").unsupported_reason(MODELS.get("decision_tree"), 2, False)
    assert any(reason in info.value for info in app.info)
    assert "(unavailable)" in app.selectbox(key="al_attack").format_func("fgm")
    assert not app.metric and not app.error
    app.selectbox(key="al_attack").set_value("decision_tree").run()  # the tree's own attack works
    assert not app.exception and not app.info
    assert "Attack success rate" in metrics(app)


def test_the_c_slider_steps_through_decades_and_reaches_0_1():
    """C runs from 0.001 to 1000: a linear slider could not land on 0.1; the log one does, and the page's numbers
    are then those of an independent evaluation with C = 0.1."""
    app = open_page("attack_lab.py")
    c = app.select_slider(key="al_logistic_regression_C")
    assert c.value == 1.0 and c.format_func(0.1) == "0.1" and c.format_func(0.001) == "0.001"
    c.set_value(0.1).run()
    assert not app.exception, app.exception
    summary = evaluate(Scenario(model_params=(("C", 0.1),))).summary()
    assert summary != evaluate(Scenario()).summary()  # C matters here, so the match below means something
    assert metrics(app)["Adversarial accuracy"] == f"{summary['adversarial_accuracy']:.3f}"


def test_the_tree_depth_slider_says_0_is_unlimited():
    app = open_page("attack_lab.py")
    app.selectbox(key="al_model").set_value("decision_tree").run()
    depth = app.select_slider(key="al_decision_tree_max_depth")
    assert depth.value == 0 and depth.format_func(0) == "unlimited" and depth.format_func(5) == "5"
    assert "0 means unlimited" in depth.help


def test_sample_size_attacks_a_seeded_subset():
    app = open_page("attack_lab.py")
    app.number_input(key="al_sample").set_value(40).run()
    assert not app.exception
    scenario = Scenario()
    split = prepare_split(scenario)
    outcome = run_attack(scenario, subsample(split, 40, scenario.seed), fit_model(scenario, split))
    shown = metrics(app)
    assert shown["Predictions flipped"].endswith("of 40")
    assert shown["Adversarial accuracy"] == f"{outcome.adversarial_accuracy:.3f}"


def test_image_data_offer_the_cnn_and_show_a_gallery():
    app = open_page("attack_lab.py", dc.builtin_choice("digits"))
    cnn = MODELS.get("torch_cnn").label
    assert cnn in app.selectbox(key="al_model").options
    app.number_input(key="al_sample").set_value(20).run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 2  # decision map (PCA plane) and the gallery
    assert cnn not in open_page("attack_lab.py").selectbox(key="al_model").options


# ---------------------------------------------------------------------------------------------------------
# Robustness


def test_robustness_defaults_draw_attacks_beside_the_exact_curve():
    app = open_page("robustness.py")
    assert app.title[0].value == "Robustness"
    table = app.dataframe[0].value
    assert list(table["Curve"]) == ["Exact (closed form)", "Fast Gradient Method", "Projected Gradient Descent"]
    assert {"How it was computed", "Seconds", "Largest gap to exact"} <= set(table.columns)
    fgm = table.set_index("Curve").loc["Fast Gradient Method"]
    assert fgm["Largest gap to exact"] == 0.0  # binary linear model: FGM is optimal
    assert any("sub-optimality" in m.value for m in app.markdown)
    assert len(app.get("plotly_chart")) == 2  # the curves and the distance histogram


def test_robustness_offers_only_compatible_attacks_and_no_exact_curve_for_trees():
    app = open_page("robustness.py")
    app.selectbox(key="rb_model").set_value("decision_tree").run()
    assert not app.exception
    attacks = app.multiselect(key="rb_attacks_decision_tree_inf")
    assert ATTACKS.get("fgm").label not in attacks.options and attacks.value == []  # the tree attack is L1 only
    app.radio(key="rb_norm").set_value("1").run()
    assert not app.exception
    assert app.multiselect(key="rb_attacks_decision_tree_1").value == ["decision_tree"]
    assert list(app.dataframe[0].value["Curve"]) == ["Decision Tree Attack"]
    assert any("No exact curve: a decision tree is not linear" in c.value for c in app.caption)


# ---------------------------------------------------------------------------------------------------------
# Library helpers and figures


def test_subsample_is_seeded_and_leaves_training_alone():
    split = prepare_split(Scenario())
    a, b = subsample(split, 30, 7), subsample(split, 30, 7)
    assert len(a.y_test) == 30 and np.array_equal(a.X_test, b.X_test)
    assert a.X_train is split.X_train and subsample(split, 10_000, 7) is split


def test_eps_range_widens_with_the_norm():
    assert eps_range("inf", 64).high == EPSILON.high and eps_range("inf", 64).default == EPSILON.default
    assert eps_range("2", 64).high == pytest.approx(EPSILON.high * 8)
    assert eps_range("1", 4).high == pytest.approx(EPSILON.high * 4)
    assert estimate_seconds(1.0, 2, 200) == 100.0


def test_decision_plane_maps_the_pca_grid_back_through_the_model():
    scenario = Scenario(dataset="iris")
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    plane = decision_plane(model.predict, split.X_train, split.X_test, split.X_test + 0.1, split.feature_names,
                           resolution=20)
    assert plane.classes.shape == (20, 20) and set(np.unique(plane.classes)) <= {0, 1, 2}
    assert "PC 1" in plane.axis_titles[0] and plane.clean.shape == (len(split.y_test), 2)
    fig = build_decision_map(plane, model.predict(split.X_test), model.predict(split.X_test + 0.1),
                             split.class_names)
    assert isinstance(fig, go.Figure) and isinstance(fig.data[0], go.Heatmap)


def test_gallery_curve_and_histogram_figures():
    X = np.random.default_rng(0).uniform(0, 1, (3, 64))
    idx = gallery_indices(np.array([0, 1, 1]), np.array([1, 1, 0]), np.array([0, 1, 1]), k=2)
    assert list(idx) == [0, 2]
    fig = build_image_gallery(X, np.clip(X + 0.05, 0, 1), (8, 8), ["0", "1", "1"], ["1", "1", "0"], ["0", "1", "1"],
                              np.array([0.9, 0.8, 0.7]), None, (0.0, 1.0))
    assert len(fig.data) == 9 and fig.data[1].colorscale[0][1] != fig.data[0].colorscale[0][1]
    curve = Curve("FGM", (0.0, 0.5), (1.0, 0.5), "test", 0.1)
    assert len(build_robustness_figure([curve], "inf", curve).data) == 2
    assert len(build_distance_histogram(np.array([0.0, 0.2, 0.3, np.inf]), "2", 0.5).data) == 1


@pytest.mark.parametrize("attack", ["deepfool", "hop_skip_jump"])
def test_minimal_attacks_never_correct_a_misclassified_point(attack):
    scenario = Scenario(attack=attack, norm="2", eps=1.0, attack_params=(("max_iter", 5),) if attack != "deepfool"
                        else ())
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    wrong = model.predict(split.X_test) != split.y_test
    keep = np.flatnonzero(wrong)[:4].tolist() + np.flatnonzero(~wrong)[:4].tolist()
    small = replace(split, X_test=split.X_test[keep], y_test=split.y_test[keep])
    outcome = run_attack(scenario, small, model)
    assert outcome.adversarial_accuracy <= outcome.clean_accuracy
    assert np.array_equal(outcome.X_adv[:4], outcome.X_test[:4])  # the misclassified points are left alone


def test_run_attack_judges_support_on_the_split_classes():
    """AutoAttack needs 3 classes: it must run on iris (3) and be refused, in words, on the binary synthetic data."""
    iris = Scenario(dataset="iris", model="torch_mlp", model_params=(("epochs", 5), ("hidden", 8)),
                    attack="auto_attack", attack_params=(("max_iter", 2),))
    split = prepare_split(iris)
    assert run_attack(iris, subsample(split, 6, 0), fit_model(iris, split)).n_test == 6
    binary = Scenario(attack="auto_attack", model="torch_mlp", model_params=(("epochs", 5), ("hidden", 8)))
    with pytest.raises(InvalidInput, match="at least 3 classes"):
        evaluate(binary)


def test_a_failing_attack_shows_its_reason_and_the_page_keeps_working(monkeypatch):
    from qulab.threats.evasion.attacks import ATTACKS

    def broken(*args, **kwargs):
        raise RuntimeError("ART gave up on this input")

    monkeypatch.setitem(ATTACKS._entries, "pgd", replace(ATTACKS.get("pgd"), build=broken))
    app = open_page("attack_lab.py", dc.builtin_choice("iris"))
    app.selectbox(key="al_attack").set_value("pgd").run()
    assert not app.exception
    assert app.error and app.error[0].value.startswith("Projected Gradient Descent failed")
    assert "ART gave up on this input" in app.error[0].value
    app.selectbox(key="al_attack").set_value("fgm").run()
    assert not app.exception and not app.error and "Adversarial accuracy" in metrics(app)


def test_after_a_run_the_estimate_and_button_give_way_to_the_time_taken_beside_the_estimate(monkeypatch):
    from qulab.app import widgets
    from qulab.evaluation.estimates import MeasuredTimes

    monkeypatch.setattr(widgets, "AUTO_RUN_SECONDS", -1.0)  # every run waits for its button
    monkeypatch.setattr(widgets, "MEASURED", MeasuredTimes())  # nothing learned yet
    app = open_page("attack_lab.py")
    assert app.button(key="al_run") is not None
    assert any("should take about" in i.value for i in app.info)
    app.button(key="al_run").click().run()
    assert not app.exception
    assert not any(b.key == "al_run" for b in app.button)
    assert not any("should take about" in i.value for i in app.info)
    labels = [e.label for e in app.get("status")]
    took = [label for label in labels if " took " in label]
    assert len(took) == 1 and "(estimated " in took[0], labels
    assert "Adversarial accuracy" in metrics(app)
    n = int(took[0].split(" on ")[1].split()[0])
    seconds = float(took[0].split(" took ")[1].split(" s")[0])
    learned = widgets.MEASURED.estimate(widgets.run_kind(Scenario()), n)  # the page's defaults are Scenario()'s
    assert learned == pytest.approx(seconds, abs=0.006)  # recorded from the run, shown to two decimals


def test_the_robustness_bar_moves_forward_in_shares_of_each_curves_estimated_work(monkeypatch):
    from streamlit.delta_generator import DeltaGenerator

    from qulab.app import widgets

    seconds = {"fgm": 1.0, "pgd": 3.0}  # PGD is estimated at three times FGM's work
    monkeypatch.setattr(widgets, "estimate_curve",
                        lambda scenario, n, steps, data, progress=None: seconds[scenario.attack])
    monkeypatch.setattr(widgets, "CURVES", type(widgets.CURVES)(64))  # no curve computed yet
    shown: list[tuple[float, str]] = []
    draw = DeltaGenerator.progress

    def recorded(self, value, text=None, **kwargs):
        shown.append((float(value), text or ""))
        return draw(self, value, text=text, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "progress", recorded)
    open_page("robustness.py")
    values = [v for v, _ in shown]
    assert len(values) > 3 and values == sorted(values), shown
    fgm_done = [v for v, text in shown if text == f"{ATTACKS.get('fgm').label}: done"]
    assert fgm_done == [pytest.approx(0.25)]  # FGM's share is 1 of 4 estimated seconds, not half
    assert values[-1] == pytest.approx(1.0)
