"""The `qulab` command's contract: list / evaluate / curve JSON, csv data, and one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from qulab import cli
from qulab.core.experiment import Scenario
from qulab.evaluation.pipeline import evaluate, fit_model, prepare_split, run_attack
from qulab.models.registry import MODELS
from qulab.threats.evasion.attacks import ATTACKS

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run_json(capsys, argv):
    assert cli.main([*argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "stdout must hold the one JSON object only"
    return json.loads(out)


# ----------------------------------------------------------------------------------------------------------------
# list


def test_list_json_comes_from_the_registries(capsys):
    info = run_json(capsys, ["list"])
    assert [d["name"] for d in info["datasets"]][:1] == ["synthetic"]
    assert [m["name"] for m in info["models"]] == MODELS.names()
    assert [a["name"] for a in info["attacks"]] == ATTACKS.names()
    for attack in info["attacks"]:
        assert {"name", "knowledge", "access", "norm", "nist", "supports"} <= set(attack)
        assert attack["knowledge"] in {"white-box", "black-box"} and attack["nist"] == "evasion"
        assert set(attack["supports"]) <= set(MODELS.names())
    by_name = {a["name"]: a for a in info["attacks"]}
    assert "logistic_regression" in by_name["fgm"]["supports"]
    assert "decision_tree" not in by_name["fgm"]["supports"]
    assert by_name["decision_tree"]["supports"] == ["decision_tree"]
    assert by_name["hop_skip_jump"]["knowledge"] == "black-box"
    # Images-only attacks list the neural networks (on image data), never a model without image support.
    assert set(by_name["square"]["supports"]) == {"torch_mlp", "torch_cnn"}
    # AutoAttack needs a neural network (ART's AutoPGD losses) and three classes, the case listed.
    assert set(by_name["auto_attack"]["supports"]) == {"torch_mlp", "torch_cnn"}
    assert isinstance(info["defences"], list)
    for defence in info["defences"]:
        assert {"name", "label"} <= set(defence)


def test_list_text(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "fgm" in out and "white-box" in out and "defences:" in out
    assert "privacy attacks (qulab privacy --attack):" in out and "privacy mitigations" in out
    lira = next(line for line in out.splitlines() if line.strip().startswith("membership_lira"))
    assert "Likelihood-ratio attack (LiRA)" in lira and "grey-box, needs scores" in lira
    assert "Carlini et al. 2022" in out and "Abadi et al. 2016" in out


def test_list_json_lists_the_privacy_attacks_and_mitigations(capsys):
    from qulab.threats.privacy.attacks import PRIVACY_ATTACKS
    from qulab.threats.privacy.mitigations import PRIVACY_DEFENCES

    info = run_json(capsys, ["list"])
    assert [a["name"] for a in info["privacy_attacks"]] == PRIVACY_ATTACKS.names()
    assert [d["name"] for d in info["privacy_defences"]] == PRIVACY_DEFENCES.names()
    by_name = {a["name"]: a for a in info["privacy_attacks"]}
    gap = by_name["membership_gap"]
    assert gap["threat"] == {"nist_class": "privacy", "knowledge": "black-box", "access": ["decisions"],
                             "stage": "deployment", "norms": []}
    assert gap["kind"] == "membership" and gap["paper"].startswith("Yeom et al. 2018")
    assert set(gap["supports"]) == set(MODELS.names())  # decisions are what every model releases
    # Equation solving reads a logistic regression's scores; the loss attack needs a network's loss.
    assert by_name["extraction_equation_solving"]["supports"] == ["logistic_regression"]
    assert set(by_name["membership_loss"]["supports"]) == {"torch_mlp", "torch_cnn"}
    assert "training data" in by_name["membership_confidence"]["threat"]["access"]
    mitigations = {d["name"]: d for d in info["privacy_defences"]}
    assert mitigations["top1_label"]["releases"] == ["decisions"] and mitigations["top1_label"]["kind"] == "output"
    assert mitigations["regularisation"]["releases"] is None
    dp = mitigations["dp_sgd"]
    assert dp["differentially_private"] and dp["reference"].startswith("Abadi et al. 2016")
    assert {p["name"] for p in dp["params"]} == {"epsilon", "delta", "max_grad_norm", "epochs"}


# ----------------------------------------------------------------------------------------------------------------
# evaluate


def test_evaluate_defaults_match_library(capsys):
    printed = run_json(capsys, ["evaluate", "--eps", "0.3"])
    direct = evaluate(Scenario(eps=0.3)).summary()
    assert printed["clean_accuracy"] == direct["clean_accuracy"]
    assert printed["adversarial_accuracy"] == direct["adversarial_accuracy"]
    assert printed["n_test"] == 200 and printed["eps"] == 0.3
    assert printed["adversarial_accuracy"] < printed["clean_accuracy"]
    assert printed["seconds"] > 0


def test_evaluate_text_output_prints_accuracies_with_four_decimals(capsys):
    assert cli.main(["evaluate", "--eps", "0.1"]) == 0
    out = capsys.readouterr().out
    direct = evaluate(Scenario(eps=0.1)).summary()
    assert f"clean accuracy:       {direct['clean_accuracy']:.4f}\n" in out
    assert f"adversarial accuracy: {direct['adversarial_accuracy']:.4f}  (eps=0.1" in out


def test_curve_text_output_prints_accuracies_with_four_decimals(capsys):
    printed = run_json(capsys, ["curve", "--eps-max", "0.2", "--steps", "3"])
    assert cli.main(["curve", "--eps-max", "0.2", "--steps", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(f"clean accuracy {printed['clean_accuracy']:.4f}")
    rows = [line.split() for line in lines[2:5]]
    assert rows == [[f"{e:g}", f"{a:.4f}", f"{x:.4f}"] for e, a, x in
                    zip(printed["eps"], printed["adversarial_accuracy"], printed["exact_accuracy"], strict=True)]


def test_evaluate_with_model_and_attack_params_matches_library(capsys):
    argv = ["evaluate", "--data", "moons", "--model", "logistic_regression", "--attack", "pgd", "--eps", "0.2",
            "--norm", "2", "--param", "max_iter=5", "--model-param", "C=0.1", "--data-param", "n_samples=300"]
    printed = run_json(capsys, argv)
    scenario = Scenario(dataset="moons", attack="pgd", eps=0.2, norm="2", dataset_params=(("n_samples", 300),),
                        model_params=(("C", 0.1),), attack_params=(("max_iter", 5),))
    direct = evaluate(scenario).summary()
    assert printed["n_test"] == 60
    assert printed["adversarial_accuracy"] == direct["adversarial_accuracy"]
    assert printed["clean_accuracy"] == direct["clean_accuracy"]


def test_clip_keeps_adversarial_points_in_range(capsys):
    printed = run_json(capsys, ["evaluate", "--data", "iris", "--scaling", "minmax", "--eps", "0.3", "--clip", "0,1"])
    assert printed["clip"] == [0.0, 1.0]
    scenario = Scenario(dataset="iris", scaling="minmax", eps=0.3)
    clipped = replace(prepare_split(scenario), clip_values=(0.0, 1.0))
    outcome = run_attack(scenario, clipped, fit_model(scenario, clipped))
    assert outcome.X_adv.min() >= 0.0 and outcome.X_adv.max() <= 1.0
    assert printed["adversarial_accuracy"] == outcome.adversarial_accuracy


# ----------------------------------------------------------------------------------------------------------------
# curve


def test_curve_matches_run_attack_per_eps_and_the_margin_formula(capsys):
    printed = run_json(capsys, ["curve", "--eps-max", "0.5", "--steps", "6"])
    assert printed["eps"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert len(printed["adversarial_accuracy"]) == len(printed["eps"]) == len(printed["exact_accuracy"])
    scenario = Scenario()
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    assert printed["clean_accuracy"] == pytest.approx(model.estimator.score(split.X_test, split.y_test))
    w, b = model.estimator.coef_[0], model.estimator.intercept_[0]
    signed_margin = (2 * split.y_test - 1) * (split.X_test @ w + b)
    for e, adversarial, exact in zip(printed["eps"], printed["adversarial_accuracy"], printed["exact_accuracy"],
                                     strict=True):
        per_eps = run_attack(scenario.with_eps(e), split, model).adversarial_accuracy
        assert adversarial == pytest.approx(per_eps, abs=1e-12)
        assert exact == pytest.approx(np.mean(signed_margin > e * np.abs(w).sum()), abs=1e-12)
    assert printed["adversarial_accuracy"][-1] < printed["clean_accuracy"]


def test_curve_on_a_nonlinear_model_matches_run_attack_per_eps(capsys):
    printed = run_json(capsys, ["curve", "--data", "moons", "--model", "rbf_svm", "--eps", "0,0.1,0.25",
                                "--norm", "2", "--data-param", "n_samples=200"])
    assert "exact_accuracy" not in printed
    scenario = Scenario(dataset="moons", model="rbf_svm", norm="2", dataset_params=(("n_samples", 200),))
    split = prepare_split(scenario)
    model = fit_model(scenario, split)
    expected = [run_attack(scenario.with_eps(e), split, model).adversarial_accuracy for e in (0, 0.1, 0.25)]
    assert printed["adversarial_accuracy"] == pytest.approx(expected, abs=1e-12)


# ----------------------------------------------------------------------------------------------------------------
# csv data


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    X, y = make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=0, random_state=7)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=np.where(y == 1, "yes", "no"))
    frame.iloc[:200].to_csv(folder / "train.csv", index=False)
    frame.iloc[200:].to_csv(folder / "test.csv", index=False)
    frame.iloc[200:].drop(columns="d").to_csv(folder / "fewer_columns.csv", index=False)
    frame.iloc[200:].assign(label=np.where(y[200:] == 1, "maybe", "no")).to_csv(folder / "new_class.csv", index=False)
    (folder / "broken.csv").write_text("only\n1\n2\n")
    return folder


def test_csv_with_target_and_test_data_matches_independent_art(capsys, csv_files):
    from art.attacks.evasion import FastGradientMethod
    from art.estimators.classification.scikitlearn import ScikitlearnLogisticRegression

    printed = run_json(capsys, ["evaluate", "--data", f"csv:{csv_files / 'train.csv'}", "--target", "label",
                                "--test-data", f"csv:{csv_files / 'test.csv'}", "--eps", "0.3"])
    train, test = pd.read_csv(csv_files / "train.csv"), pd.read_csv(csv_files / "test.csv")
    features = ["a", "b", "c", "d"]
    y_train, y_test = (train.label == "yes").to_numpy(int), (test.label == "yes").to_numpy(int)
    model = LogisticRegression(max_iter=5000, random_state=42).fit(train[features].to_numpy(), y_train)
    X_test = test[features].to_numpy()
    X_adv = FastGradientMethod(ScikitlearnLogisticRegression(model), eps=0.3).generate(X_test, y=np.eye(2)[y_test])
    assert printed["n_test"] == 100 and printed["target"] == "label"
    assert printed["clean_accuracy"] == pytest.approx(model.score(X_test, y_test))
    assert printed["adversarial_accuracy"] == pytest.approx(np.mean(model.predict(X_adv) == y_test))


def test_test_data_scaler_is_fitted_on_training_only(capsys, csv_files):
    printed = run_json(capsys, ["curve", "--data", f"csv:{csv_files / 'train.csv'}", "--target", "label",
                                "--test-data", f"csv:{csv_files / 'test.csv'}", "--scaling", "standard",
                                "--eps", "0,0.5"])
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, test = pd.read_csv(csv_files / "train.csv"), pd.read_csv(csv_files / "test.csv")
    features = ["a", "b", "c", "d"]
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, random_state=42))
    pipe.fit(train[features], train.label)
    assert printed["clean_accuracy"] == pytest.approx(pipe.score(test[features], test.label))
    assert printed["exact_accuracy"] == printed["adversarial_accuracy"]


def test_csv_without_target_uses_the_proposed_column_and_says_so(capsys, csv_files):
    assert cli.main(["evaluate", "--data", f"csv:{csv_files / 'train.csv'}", "--eps", "0.1", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["target"] == "label"
    assert "no --target given" in captured.err and "'label'" in captured.err


# ----------------------------------------------------------------------------------------------------------------
# errors: one line, exit 2


ERRORS = [
    (["evaluate", "--eps", "-1"], "non-negative"),
    (["evaluate", "--eps", "x"], "not a number"),
    (["evaluate"], "--eps"),
    (["evaluate", "--eps", "0.1", "--data", "nope"], "unknown data set 'nope'"),
    (["evaluate", "--eps", "0.1", "--model", "nope"], "invalid choice"),
    (["evaluate", "--eps", "0.1", "--attack", "nope"], "invalid choice"),
    (["evaluate", "--eps", "0.1", "--param", "nope=1"], "no parameter"),
    (["evaluate", "--eps", "0.1", "--attack", "pgd", "--param", "max_iter=0"], "between 1 and 500"),
    (["evaluate", "--eps", "0.1", "--param", "max_iter"], "K=V"),
    (["evaluate", "--eps", "0.1", "--model-param", "C=-1"], "between 0.001 and 1000"),
    (["evaluate", "--eps", "0.1", "--model-param", "depth=3"], "no parameter 'depth'"),
    (["evaluate", "--eps", "0.1", "--data-param", "n_samples=5"], "between 100 and"),
    (["evaluate", "--eps", "0.1", "--test-size", "2"], "test size"),
    (["evaluate", "--eps", "0.1", "--model", "decision_tree"], "needs loss gradients"),
    (["evaluate", "--eps", "0.1", "--attack", "square", "--model", "torch_mlp"], "image inputs"),
    (["evaluate", "--eps", "0.1", "--attack", "auto_attack"], "neural networks only"),
    (["evaluate", "--eps", "0.1", "--attack", "auto_attack", "--model", "torch_mlp"], "at least 3 classes"),
    (["evaluate", "--eps", "0.1", "--model", "torch_cnn"], "needs image inputs"),
    (["evaluate", "--eps", "0.1", "--attack", "deepfool", "--norm", "inf"], "--norm 2"),
    (["evaluate", "--eps", "0.1", "--clip", "1,0"], "LO must be below HI"),
    (["evaluate", "--eps", "0.1", "--clip", "a"], "LO,HI"),
    (["evaluate", "--eps", "0.1", "--target", "x"], "--target applies to csv"),
    (["evaluate", "--eps", "0.1", "--data", "csv:"], "csv:PATH"),
    (["evaluate", "--eps", "0.1", "--data", "csv:/no/such/file.csv"], "no CSV file"),
    (["evaluate", "--eps", "0.1", "--test-data", "csv:x.csv"], "--test-data needs csv:PATH training data"),
    (["curve"], "one of the arguments --eps --eps-max is required"),
    (["curve", "--eps", "0,x"], "'x' is not a number"),
    (["curve", "--eps", "0,,1"], "empty value"),
    (["curve", "--eps", "0,-1"], "non-negative"),
    (["curve", "--eps-max", "0.3", "--steps", "1"], "at least 2 steps"),
    (["curve", "--eps-max", "0.3"], "needs --steps"),
    (["curve", "--eps", "0,0.1", "--steps", "3"], "--steps goes with --eps-max"),
    (["curve", "--eps", "0,0.1", "--eps-max", "0.3"], "not allowed with"),
    ([], "required"),
]


@pytest.mark.parametrize("argv, fragment", ERRORS, ids=[" ".join(a[1:]) or "no-command" for a, _ in ERRORS])
def test_errors_are_one_line_and_exit_2(capsys, argv, fragment):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("qulab: error: ") and fragment in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("case, fragment", [
    (["--data", "csv:{dir}/broken.csv", "--target", "only"], "broken.csv: The file has only one column"),
    (["--data", "csv:{dir}/train.csv", "--target", "nope"], "There is no column named 'nope'"),
    (["--data", "csv:{dir}/train.csv", "--target", "label", "--test-data", "csv:{dir}/fewer_columns.csv"],
     "feature columns differ from the training set's (missing 'd')"),
    (["--data", "csv:{dir}/train.csv", "--target", "label", "--test-data", "csv:{dir}/new_class.csv"],
     "classes the training set lacks: 'maybe'"),
    (["--data", "csv:{dir}/train.csv", "--target", "label", "--test-data", "csv:{dir}/missing.csv"], "no CSV file"),
    (["--data", "csv:{dir}/train.csv", "--data-param", "n_samples=200"], "--data-param applies to built-in"),
], ids=["malformed-csv", "unknown-target", "test-features-differ", "test-class-unknown", "test-file-missing",
        "csv-with-data-param"])
def test_csv_errors_are_one_line_and_exit_2(capsys, csv_files, case, fragment):
    argv = ["evaluate", "--eps", "0.1", *[part.format(dir=csv_files) for part in case]]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("qulab: error: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


# ----------------------------------------------------------------------------------------------------------------
# as a real process


def _qulab(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "qulab.cli", *argv], capture_output=True, text=True, env=env,
                          timeout=300)


def test_process_error_is_one_line_without_traceback():
    done = _qulab("evaluate", "--eps", "0.1", "--model", "decision_tree", "--attack", "pgd")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("qulab: error: Projected Gradient Descent needs loss gradients")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_process_json_stdout_is_exactly_one_object():
    """ART's progress bars and log lines must not reach stdout (DeepFool prints a progress bar by default)."""
    done = _qulab("curve", "--data", "iris", "--attack", "deepfool", "--eps", "0,0.5,1", "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert done.stdout.count("\n") == 1 and "Traceback" not in done.stderr
    assert printed["norm"] == "2" and len(printed["adversarial_accuracy"]) == 3
    assert printed["adversarial_accuracy"][0] == printed["clean_accuracy"] >= printed["adversarial_accuracy"][-1]
