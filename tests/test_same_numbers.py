"""One experiment, the same numbers everywhere: the Attack Lab's run at each budget, the Robustness page's curve,
the CLI's `evaluate` and `curve --json`, and the Defences page's undefended side all read the budget engine."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from qulab import cli
from qulab.app import state as dc
from qulab.app import widgets as lw
from qulab.defences import evaluate_defence, undefended_baseline
from qulab.evaluation.curves import attack_curve, eps_grid
from qulab.evaluation.pipeline import attack_sweep, subsample

CHOICE = dc.builtin_choice("breast_cancer", scaling="minmax")
SAMPLE = 200  # the pages' default sample: more than the 114 test points, so every page attacks all of them

EXPERIMENTS = {  # attack: (norm, largest eps, attack parameters) — one per kind of sweep, a random one among them
    "fgm": ("inf", 0.3, ()),
    "pgd": ("inf", 0.3, (("max_iter", 10),)),
    "deepfool": ("2", 0.9, ()),
    "hop_skip_jump": ("2", 0.9, (("init_size", 20), ("max_eval", 200), ("max_iter", 3))),
    "universal": ("inf", 0.3, (("max_iter", 2),)),
}
RANDOM_ATTACKS = ("hop_skip_jump", "universal")  # they draw from the global generators, seeded per ART run


def cli_json(capsys, argv: list[str]) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("attack", EXPERIMENTS)
def test_one_experiment_gives_the_same_numbers_on_every_page_and_in_the_cli(attack, capsys):
    norm, eps_max, params = EXPERIMENTS[attack]
    scenario = dc.choice_scenario(CHOICE, attack=attack, norm=norm, eps=eps_max, attack_params=params)
    grid = eps_grid(eps_max, 4)
    flags = ["--data", "breast_cancer", "--scaling", "minmax", "--attack", attack, "--norm", norm,
             *[f"--param={k}={v}" for k, v in params]]

    # Robustness page: the curve of the cached model on the page's sample
    split, model = lw.fitted(lw.LabData(CHOICE, None, dc.choice_split(CHOICE)), scenario)
    robustness = attack_curve(scenario, subsample(split, SAMPLE, scenario.seed), model, grid).accuracy
    # Attack Lab page: one run per budget, as the page makes it (FGM through the cached step)
    lab = [lw.lab_run(scenario.with_eps(float(e)), SAMPLE).outcome.adversarial_accuracy for e in grid]
    # CLI
    curve = cli_json(capsys, ["curve", "--eps-max", str(eps_max), "--steps", "4", *flags])
    evaluate = [cli_json(capsys, ["evaluate", "--eps", str(float(e)), *flags])["adversarial_accuracy"] for e in grid]
    # Defences page: the undefended side every defence is compared with
    baseline = undefended_baseline(scenario, tuple(map(float, grid)))

    assert curve["eps"] == list(grid) == list(baseline.grid)
    assert robustness[-1] < robustness[0], "the attack should break some points, or equality says little"
    assert lab == list(robustness)
    assert curve["adversarial_accuracy"] == list(robustness)
    assert evaluate == list(robustness)
    assert list(baseline.curve) == list(robustness)
    assert curve["clean_accuracy"] == baseline.clean == robustness[0]
    assert np.isclose(robustness[0], model.estimator.score(split.X_test, split.y_test))


@pytest.mark.parametrize("attack", RANDOM_ATTACKS)
def test_a_random_attack_gives_the_robustness_numbers_on_the_undefended_side_of_a_defence(attack, capsys):
    """The undefended side of a defence's evaluation (the Defences page's function and `qulab curve --defense`)
    equals the Robustness curve for an attack whose result depends on its random draws: every side seeds each ART
    run with the scenario's seed, whatever ran before it (here the defended model's training and attack)."""
    norm, eps_max, params = EXPERIMENTS[attack]
    scenario = dc.choice_scenario(CHOICE, attack=attack, norm=norm, eps=eps_max, attack_params=params)
    grid = eps_grid(eps_max, 4)
    split, model = lw.fitted(lw.LabData(CHOICE, None, dc.choice_split(CHOICE)), scenario)
    robustness = attack_curve(scenario, subsample(split, SAMPLE, scenario.seed), model, grid).accuracy
    other_draws = attack_sweep(replace(scenario, seed=scenario.seed + 1), split, model, grid).accuracy
    assert other_draws != robustness, "the attack should depend on its draws, or equality says little"

    page = evaluate_defence(scenario, "adversarial_training", eps_grid=tuple(map(float, grid)))
    cli_defended = cli_json(capsys, ["curve", "--data", "breast_cancer", "--scaling", "minmax", "--attack", attack,
                                     "--norm", norm, *[f"--param={k}={v}" for k, v in params],
                                     "--eps-max", str(eps_max), "--steps", "4", "--defense", "adversarial_training"])

    assert page.eps_grid == tuple(cli_defended["eps"]) == tuple(grid)
    assert list(page.curve_undefended) == cli_defended["undefended"]["adversarial_accuracy"] == list(robustness)
    assert page.clean_undefended == cli_defended["undefended"]["clean_accuracy"] == robustness[0]


def test_the_robustness_page_draws_the_cli_curves(capsys):
    """What the page draws (the chart's own data), against `qulab curve --json` for the same experiment."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "robustness.py"
    app = AppTest.from_file(str(page), default_timeout=300)
    app.session_state[dc.CHOICE_KEY] = CHOICE
    app.run()
    app.slider(key="rb_eps_max_inf").set_value(0.3)
    app.slider(key="rb_steps").set_value(4)
    app.multiselect(key="rb_attacks_logistic_regression_inf").set_value(["fgm", "pgd"])
    app.run()
    assert not app.exception and not app.error
    traces = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    drawn = {trace["name"].split(" — coincides with ")[0]: trace["y"] for trace in traces}  # the legend's label
    flags = ["--data", "breast_cancer", "--scaling", "minmax", "--eps-max", "0.3", "--steps", "4"]
    fgm = cli_json(capsys, ["curve", "--attack", "fgm", *flags])
    pgd = cli_json(capsys, ["curve", "--attack", "pgd", *flags])
    assert drawn["Fast Gradient Method"] == fgm["adversarial_accuracy"]
    assert drawn["Projected Gradient Descent"] == pgd["adversarial_accuracy"]
    assert drawn["Exact (closed form)"] == fgm["exact_accuracy"] == pgd["exact_accuracy"]
    assert fgm["adversarial_accuracy"][-1] < fgm["clean_accuracy"]
