"""`qulab privacy --model-file`: privacy attacks that need only a model's outputs, on a model trained outside QuLab.

The members are the --data rows (the model's training rows) and the non-members the --test-data rows. The gap attack's
advantage on a file is the file's own training accuracy minus its test accuracy, computed here from the file's
predictions (scikit-learn for the .skops tree, onnxruntime for its ONNX export): 1.0 − 17/30 on a small over-fitted
tree. Attacks that train models like the target, and mitigations, are refused in one line.
"""

import json

import numpy as np
import pytest
from own_files import CLASSES, FEATURES, own_arrays

from qulab.cli import main

MEMBERS, NON_MEMBERS = slice(0, 60), slice(60, 90)


def noisy_arrays() -> tuple[np.ndarray, np.ndarray]:
    """own_arrays with 30 % of the labels flipped: a tree fits the members exactly and generalises badly."""
    X, y = own_arrays()
    flip = np.random.default_rng(1).random(len(y)) < 0.3
    return X, np.where(flip, 1 - y, y)


def _csv(rows: slice) -> str:
    X, y = noisy_arrays()
    lines = [",".join((*FEATURES, "label"))] + [
        ",".join([*(f"{v:.17g}" for v in row), CLASSES[label]]) for row, label in zip(X[rows], y[rows], strict=True)]
    return "\n".join(lines) + "\n"


def _onnx(model, path) -> None:
    from skl2onnx import to_onnx

    X, _ = own_arrays()
    path.write_bytes(to_onnx(model, X[:1].astype(np.float32),
                             options={id(model): {"zipmap": False}}).SerializeToString())


def onnx_labels(path, X: np.ndarray) -> np.ndarray:
    """The ONNX graph's own predicted class (its label output: the class names it was trained on), read with
    onnxruntime, not through QuLab."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    label, _ = session.run(None, {name: X.astype(np.float32)})
    return np.asarray(label)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.tree import DecisionTreeClassifier

    folder = tmp_path_factory.mktemp("privacy_own_model")
    (folder / "train.csv").write_text(_csv(MEMBERS))
    (folder / "test.csv").write_text(_csv(NON_MEMBERS))
    X, y = noisy_arrays()
    names = np.array(CLASSES)[y]
    tree = DecisionTreeClassifier(random_state=0).fit(X[MEMBERS], names[MEMBERS])
    sio.dump(tree, folder / "tree.skops")
    _onnx(tree, folder / "tree.onnx")
    _onnx(LogisticRegression().fit(X[MEMBERS], y[MEMBERS]), folder / "logistic.onnx")
    _onnx(MLPClassifier((16,), max_iter=2000, random_state=0).fit(X[MEMBERS], y[MEMBERS]), folder / "mlp.onnx")
    return folder, tree


def _privacy(capsys, folder, model_file, *argv):
    code = main(["privacy", "--store", str(folder / "store"), "--data", f"csv:{folder / 'train.csv'}",
                 "--test-data", f"csv:{folder / 'test.csv'}", "--target", "label", "--model-file",
                 str(folder / model_file), *argv])
    return code, capsys.readouterr()


@pytest.mark.parametrize("model_file", ["tree.skops", "tree.onnx"])
def test_the_gap_attack_on_a_file_is_its_own_train_minus_test_accuracy(capsys, files, model_file):
    folder, tree = files
    X, y = noisy_arrays()
    names = np.array(CLASSES)[y]
    predicted = tree.predict(X) if model_file.endswith(".skops") else onnx_labels(folder / model_file, X)
    train = float(np.mean(predicted[MEMBERS] == names[MEMBERS]))
    test = float(np.mean(predicted[NON_MEMBERS] == names[NON_MEMBERS]))
    assert (train, test) == (1.0, pytest.approx(17 / 30))  # an over-fitted tree: the gap is large

    code, out = _privacy(capsys, folder, model_file, "--attack", "membership_gap", "--json")
    assert code == 0, out.err
    result = json.loads(out.out)
    assert result["advantage"] == pytest.approx(train - test, abs=1e-9)
    assert result["train_accuracy"] == pytest.approx(train, abs=1e-12)
    assert result["test_accuracy"] == pytest.approx(test, abs=1e-12)
    assert (result["n_members"], result["n_nonmembers"]) == (60, 30)
    assert result["model_file"] == str(folder / model_file) and result["model"].startswith("file:")
    assert result["threat_model"]["label"] == ("white box" if model_file.endswith(".skops") else "black box")


@pytest.mark.parametrize(("argv", "words"), [
    (["--attack", "membership_lira"], "Likelihood-ratio attack (LiRA) trains models the way the target was trained"),
    (["--attack", "membership_shadow"], "Shadow models (ART) trains models the way the target was trained"),
    (["--defense", "dp_sgd"], "--defense does not apply to a --model-file"),
    (["--model", "decision_tree"], "not both"),
    (["--model-param", "max_depth=3"], "attacked as it is"),
])
def test_what_a_model_file_cannot_take_is_refused_in_one_line(capsys, files, argv, words):
    folder, _ = files
    code, out = _privacy(capsys, folder, "tree.skops", *argv)
    assert code == 2 and out.err.count("\n") == 1 and words in out.err, out.err


def test_a_model_file_needs_its_non_members(capsys, files):
    folder, _ = files
    code = main(["privacy", "--data", f"csv:{folder / 'train.csv'}", "--target", "label", "--model-file",
                 str(folder / "tree.skops")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--model-file needs --test-data" in err, err


def test_equation_solving_on_a_black_box_file_checks_fresh_queries(capsys, files):
    """A logistic regression behind ONNX is stolen (its fresh answers reproduced to float32 precision); an MLP
    behind ONNX is not softmax-linear, and fresh queries one standard deviation out show it. (At the default spread
    of 0.1 the ReLU network is linear where it is asked, and the check passes there too: 1.5e-7 measured.)"""
    folder, _ = files
    results = {}
    for name in ("logistic.onnx", "mlp.onnx"):
        code, out = _privacy(capsys, folder, name, "--attack", "extraction_equation_solving", "--param", "spread=1",
                             "--json")
        assert code == 0, out.err
        results[name] = json.loads(out.out)
    linear, mlp = results["logistic.onnx"], results["mlp.onnx"]
    assert linear["threat_model"]["label"] == "black box" and linear["max_weight_error"] is None
    assert linear["queries"] == len(FEATURES) + 1 and linear["check_queries"] == 100
    assert linear["max_probability_error"] < 1e-6 and linear["agreement"] == 1.0
    assert mlp["max_probability_error"] > 0.01


def test_attribute_inference_on_a_files_continuous_column(capsys, files):
    """The file is not retrained: the attacker estimates column f1 and is scored on its quartile bin. The share of
    targets in the commonest known bin is recomputed here from the rows."""
    folder, _ = files
    code, out = _privacy(capsys, folder, "tree.onnx", "--attack", "attribute_black_box", "--param", "column=0",
                         "--json")
    assert code == 0, out.err
    result = json.loads(out.out)
    assert (result["sensitive_column"], result["binned"], result["levels"]) == ("f1", True, 4)
    assert (result["n_known"], result["n_targets"]) == (30, 30)
    X, _ = noisy_arrays()
    column = X[MEMBERS, 0]
    bins = np.searchsorted(np.quantile(column, [0.25, 0.5, 0.75]), column, side="right")
    order = np.random.default_rng(42).permutation(60)
    known, targets = bins[order[:30]], bins[order[30:]]
    commonest = np.bincount(known, minlength=4).argmax()
    assert result["majority_accuracy"] == pytest.approx(np.mean(targets == commonest), abs=1e-12)
    for key in ("attack_accuracy", "baseline_accuracy"):
        assert 0 <= result[key] <= 1 and result[key] * 30 == pytest.approx(round(result[key] * 30))

    # The .skops tree is a white box: every quartile's median is tried in the tree itself (not a retrained twin).
    code, out = _privacy(capsys, folder, "tree.skops", "--attack", "attribute_white_box_tree", "--param", "column=0",
                         "--json")
    assert code == 0, out.err
    white = json.loads(out.out)
    assert (white["binned"], white["levels"], white["n_targets"]) == (True, 4, 30)
    assert white["majority_accuracy"] == result["majority_accuracy"]


def test_the_registry_says_which_attacks_take_a_model_file(capsys):
    from qulab.threats.privacy.attacks import PRIVACY_ATTACKS

    assert {a.name for a in PRIVACY_ATTACKS if a.trains_like_target} == {"membership_lira", "membership_shadow"}
    assert main(["list", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    listed = {a["name"]: a["model_file"] for a in info["privacy_attacks"]}
    assert listed["membership_gap"] and not listed["membership_lira"] and not listed["membership_shadow"]
    evasion = {a["name"]: a["model_file"] for a in info["attacks"]}  # as test_model_file_cli.py runs them
    assert evasion["fgm"] == {"any": False, "labels_only": False,
                              "skops_white_box": ["logistic_regression", "linear_svm", "rbf_svm"]}
    assert evasion["hop_skip_jump"]["any"] and evasion["hop_skip_jump"]["labels_only"]
    assert evasion["zoo"]["any"] and not evasion["zoo"]["labels_only"]
    assert evasion["decision_tree"]["skops_white_box"] == ["decision_tree"] and not evasion["decision_tree"]["any"]


def test_a_privacy_scenario_naming_a_file_is_checked_against_the_open_file(files):
    """The experiment value names the file by its content; what the file releases decides the attacks."""
    from dataclasses import replace

    from qulab.core.registry import InvalidInput
    from qulab.models.files import read_model_file
    from qulab.threats.privacy.experiment import PrivacyScenario

    folder, _ = files
    own = read_model_file(folder / "tree.onnx")
    base = PrivacyScenario(dataset="csv:train.csv", model=own.scenario_name, scaling="none",
                           dataset_params=(("target", "label"),)).validate()
    assert base.target_key[-4:] == (own.scenario_name, (), None, ())
    for change, words in (({"defence": "dp_sgd"}, "no model parameters and no mitigation"),
                          ({"attack": "attribute_white_box_tree"}, "needs the tree's structure"),
                          ({"attack": "membership_lira"}, "comes without its training procedure"),
                          ({"model": "file:0000000000000000"}, "not open in this server")):
        with pytest.raises(InvalidInput, match=words):
            replace(base, **change).validate()


def test_the_reproduce_command_of_a_privacy_run_on_a_file_gives_its_numbers(capsys, files, tmp_path):
    """`--model-file PATH_TO_YOUR_FILE` in the printed command, with the tree's path put in: the same advantage,
    which is still the tree's own train minus test accuracy. A run that split one data set into members and
    non-members (the app's way) has no command, since the CLI takes a file's non-members as --test-data."""
    from qulab.reports import reproduce
    from qulab.store import RunStore, run_for
    from qulab.threats.privacy.experiment import PrivacyScenario

    folder, tree = files
    store = tmp_path / "runs.sqlite3"
    code, out = _privacy(capsys, folder, "tree.skops", "--attack", "membership_gap", "--json", "--store",
                         str(store))
    assert code == 0, out.err
    (run,) = RunStore(store).list()
    reproduction = reproduce(run)
    words = list(reproduction.argv)
    assert words[:2] == ["qulab", "privacy"] and "--model" not in words
    assert words[words.index("--model-file") + 1] == "PATH_TO_YOUR_FILE" and "PATH_TO_YOUR_FILE" in reproduction.caveat

    code = main([*(str(folder / "tree.skops") if w == "PATH_TO_YOUR_FILE" else w for w in words[1:]),
                 "--store", str(tmp_path / "again.sqlite3")])
    out = capsys.readouterr()
    assert code == 0, out.err
    again = json.loads(out.out)
    timings = ("seconds", "fit_seconds", "attack_seconds")
    assert {k: v for k, v in again.items() if k not in timings} == {
        k: v for k, v in run.results.items() if k not in timings}
    X, y = noisy_arrays()
    names = np.array(CLASSES)[y]
    assert again["advantage"] == pytest.approx(tree.score(X[MEMBERS], names[MEMBERS])
                                               - tree.score(X[NON_MEMBERS], names[NON_MEMBERS]), abs=1e-9)

    split_run = run_for(PrivacyScenario(dataset="iris", model=run.experiment["model"]), {}, kind="privacy")
    assert reproduce(split_run).argv is None and "--test-data" in reproduce(split_run).caveat
