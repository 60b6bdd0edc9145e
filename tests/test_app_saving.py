"""The pages save their results in the run store, as the CLI would: the Attack Lab's run is the CLI's run of the
same experiment, the Robustness page's curves and the Defences page's evaluations are saved with their numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qulab import cli
from qulab.app.saving import save_defences
from qulab.core.experiment import Scenario, freeze
from qulab.data.datasets import load_dataset
from qulab.defences import evaluate_defence
from qulab.evaluation.curves import attack_curve
from qulab.evaluation.pipeline import evaluate, fit_model, prepare_split, subsample
from qulab.store import RunStore

PAGES = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages"
EXTRAS = ("eps_grid", "test_points", "test_data")


def _page(name: str) -> AppTest:
    app = AppTest.from_file(str(PAGES / name), default_timeout=180)
    app.run()
    assert not app.exception, app.exception
    return app


def test_the_attack_labs_run_is_the_clis_run_of_the_same_experiment(capsys):
    app = _page("attack_lab.py")  # defaults: synthetic data, logistic regression, FGM at 0.1, all 200 test points
    (run,) = RunStore().list()
    expected = evaluate(Scenario(eps=0.1)).summary()
    # The page rescales FGM's cached step, the CLI runs ART at this budget: perturbation sizes agree to float32.
    sizes = {k for k in expected if k.startswith(("median_", "max_"))}
    assert {k: run.results[k] for k in expected if k not in sizes | {"seconds"}} == \
        {k: v for k, v in expected.items() if k not in sizes | {"seconds"}}
    assert {k: run.results[k] for k in sizes} == pytest.approx({k: expected[k] for k in sizes}, rel=1e-6)
    assert cli.main(["evaluate", "--eps", "0.1", "--json"]) == 0
    captured = capsys.readouterr()
    assert f"in the run store ({run.id[:12]}" in captured.err and json.loads(captured.out) == run.results
    app.number_input(key="al_sample").set_value(20).run()  # a sample of the test set is another experiment
    assert not app.exception
    runs = RunStore().list()
    assert len(runs) == 2 and runs[0].experiment["test_points"] == 20 and runs[0].results["n_test"] == 20
    app.run()  # shown again from the cache: nothing new, nothing rewritten
    assert RunStore().list() == runs


def test_the_robustness_pages_curves_are_saved_with_their_numbers():
    _page("robustness.py")
    runs = RunStore().list()
    assert sorted(run.experiment["attack"] for run in runs) == ["fgm", "pgd"]
    for run in runs:
        scenario = Scenario.from_dict({k: v for k, v in run.experiment.items() if k not in EXTRAS})
        split = prepare_split(scenario)
        sample = subsample(split, run.experiment.get("test_points", len(split.y_test)), scenario.seed)
        curve = attack_curve(scenario, sample, fit_model(scenario, split), run.experiment["eps_grid"])
        assert run.results["adversarial_accuracy"] == list(curve.accuracy)
        assert run.results["eps"] == run.experiment["eps_grid"] and "exact_accuracy" in run.results


def test_a_defence_evaluation_is_saved_as_the_cli_gives_it(capsys):
    flags = ["--data", "moons", "--data-param", "n_samples=120", "--eps", "0.2", "--defense", "gaussian_noise"]
    scenario = Scenario(dataset="moons", eps=0.2, dataset_params=freeze({"n_samples": 120}))
    outcome = evaluate_defence(scenario, "gaussian_noise", {})
    save_defences([outcome], load_dataset("moons", {"n_samples": 120}, seed=42), None)
    (run,) = RunStore().list()
    assert run.kind == "defence" and run.experiment["defence"] == "gaussian_noise"
    assert cli.main([*["evaluate"], *flags, "--store", str(RunStore().path.with_name("cli.sqlite3")), "--json"]) == 0
    computed = json.loads(capsys.readouterr().out)  # the CLI's own evaluation, in a store of its own
    timings = ("seconds", "fit_seconds_undefended", "fit_seconds_defended")
    assert {k: v for k, v in run.results.items() if k not in timings} == \
        {k: v for k, v in computed.items() if k not in timings}
    assert cli.main(["evaluate", *flags, "--json"]) == 0  # and the CLI finds the page's run
    assert f"in the run store ({run.id[:12]}" in capsys.readouterr().err
