"""`qulab evaluate --model-file`: a model trained outside QuLab, attacked with the threat model it exposes.

A .skops logistic regression under FGM (L∞) gives the closed form's accuracies: FGM lowers every point's signed
margin by exactly eps·‖w‖₁. An ONNX export of a PyTorch MLP is a black box: HopSkipJump runs, FGM is refused.
"""

import json

import numpy as np
import pytest
from own_files import CLASSES, TEST, TRAIN, csv_bytes, own_arrays

from qulab.cli import main

EPS = [0.0, 0.1, 0.3, 0.6]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("own_model")
    for name, rows in (("train.csv", TRAIN), ("test.csv", TEST)):
        (folder / name).write_bytes(csv_bytes(rows))
    X, y = own_arrays()
    logistic = LogisticRegression().fit(X[TRAIN], np.array(CLASSES)[y[TRAIN]])  # trained on the class names
    sio.dump(logistic, folder / "logistic.skops")
    return folder, logistic


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured


def _closed_form(logistic, eps):
    X, y = own_arrays()
    w, b = logistic.coef_[0], logistic.intercept_[0]
    margin = (2 * y[TEST] - 1) * (X[TEST] @ w + b)
    return float(np.mean(margin > eps * np.abs(w).sum()))


def test_a_skops_logistic_regression_under_fgm_matches_the_closed_form(capsys, files):
    folder, logistic = files
    data = ["--data", f"csv:{folder / 'train.csv'}", "--test-data", f"csv:{folder / 'test.csv'}",
            "--target", "label", "--model-file", str(folder / "logistic.skops"), "--attack", "fgm", "--json"]
    code, out = _run(capsys, "curve", *data, "--eps", ",".join(map(str, EPS)))
    assert code == 0, out.err
    curve = json.loads(out.out)
    expected = [_closed_form(logistic, eps) for eps in EPS]
    assert curve["adversarial_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert curve["exact_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert expected[0] > expected[-1]  # the budgets do flip predictions
    assert curve["threat_model"]["label"] == "white box"

    code, out = _run(capsys, "evaluate", *data, "--eps", "0.3")
    assert code == 0, out.err
    result = json.loads(out.out)
    assert result["adversarial_accuracy"] == pytest.approx(_closed_form(logistic, 0.3), abs=1e-12)
    X, y = own_arrays()
    assert result["clean_accuracy"] == pytest.approx(logistic.score(X[TEST], np.array(CLASSES)[y[TEST]]))
    assert result["threat_model"]["knowledge"] == "white-box" and result["model"].startswith("file:")


def test_model_file_flags_are_refused_in_one_line(capsys, files, tmp_path):
    folder, _ = files
    (tmp_path / "model.pkl").write_bytes(b"x")
    for argv, words in (
        (["--model", "rbf_svm", "--model-file", str(folder / "logistic.skops")], "not both"),
        (["--model-file", str(folder / "logistic.skops"), "--model-param", "C=1"], "attacked as it is"),
        (["--model-file", str(tmp_path / "model.pkl")], "saved with skops"),
        (["--model-file", str(tmp_path / "missing.skops")], "cannot read the model file"),
    ):
        code, out = _run(capsys, "evaluate", "--eps", "0.1", *argv)
        assert code == 2 and out.err.count("\n") == 1 and words in out.err, out.err


@pytest.fixture(scope="module")
def onnx_mlp(files):
    """A PyTorch MLP trained here (outside QuLab) and exported with torch.onnx.export's default exporter (torch
    2.13: it needs onnxscript, pinned in the test extras), softmax included."""
    import torch
    from torch import nn

    folder, _ = files
    X, y = own_arrays()
    generator = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
    for layer in (net[0], net[2]):
        nn.init.normal_(layer.weight, std=0.5, generator=generator)
        nn.init.zeros_(layer.bias)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    inputs, targets = torch.tensor(X[TRAIN], dtype=torch.float32), torch.tensor(y[TRAIN])
    for _ in range(200):
        optimiser.zero_grad()
        nn.functional.cross_entropy(net(inputs), targets).backward()
        optimiser.step()
    model = nn.Sequential(net, nn.Softmax(dim=1)).eval()
    path = folder / "mlp.onnx"
    torch.onnx.export(model, (torch.zeros(2, 3),), str(path), input_names=["x"], output_names=["probabilities"],
                      dynamic_shapes=({0: torch.export.Dim("rows")},))
    with torch.no_grad():
        predicted = model(torch.tensor(X[TEST], dtype=torch.float32)).argmax(1).numpy()
    return path, float(np.mean(predicted == y[TEST]))


def test_an_onnx_mlp_is_a_black_box_attacked_by_hop_skip_jump(capsys, files, onnx_mlp):
    folder, _ = files
    path, torch_accuracy = onnx_mlp
    data = ["--data", f"csv:{folder / 'train.csv'}", "--test-data", f"csv:{folder / 'test.csv'}",
            "--target", "label", "--model-file", str(path)]
    code, out = _run(capsys, "evaluate", *data, "--attack", "hop_skip_jump", "--norm", "2", "--eps", "3",
                     "--param", "max_iter=5", "--param", "max_eval=200", "--param", "init_size=50", "--json")
    assert code == 0, out.err
    result = json.loads(out.out)
    assert result["threat_model"]["label"] == "black box"
    assert result["threat_model"]["exposes"] == ["decisions", "scores"]
    assert result["clean_accuracy"] == pytest.approx(torch_accuracy)  # the ONNX graph answers as the network did
    assert result["flipped"] > 0 and result["adversarial_accuracy"] < result["clean_accuracy"]
    assert result["max_l2"] <= 3 + 1e-6

    code, out = _run(capsys, "evaluate", *data, "--attack", "fgm", "--eps", "0.1")
    assert code == 2 and "needs loss gradients" in out.err and "HopSkipJump" in out.err, out.err


def test_a_skops_forest_is_a_black_box_queried_in_the_child(capsys, files):
    """A random forest trained on the class names: the child answers with the data's class codes and scores."""
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    folder, _ = files
    X, y = own_arrays()
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X[TRAIN], np.array(CLASSES)[y[TRAIN]])
    sio.dump(forest, folder / "forest.skops")
    code, out = _run(capsys, "evaluate", "--data", f"csv:{folder / 'train.csv'}", "--test-data",
                     f"csv:{folder / 'test.csv'}", "--target", "label", "--model-file", str(folder / "forest.skops"),
                     "--attack", "hop_skip_jump", "--norm", "2", "--eps", "2", "--param", "max_iter=1",
                     "--param", "max_eval=100", "--param", "init_size=10", "--json")
    assert code == 0, out.err
    result = json.loads(out.out)
    assert result["threat_model"]["label"] == "black box" and "RandomForestClassifier" in result["threat_model"]["why"]
    assert result["clean_accuracy"] == pytest.approx(forest.score(X[TEST], np.array(CLASSES)[y[TEST]]))
    assert result["adversarial_accuracy"] <= result["clean_accuracy"] and result["max_l2"] <= 2 + 1e-6


TIMINGS = ("seconds", "fit_seconds", "attack_seconds")


def _replaced(argv, path):
    return [str(path) if word == "PATH_TO_YOUR_FILE" else word for word in argv]


@pytest.mark.parametrize("command", ["evaluate", "curve"])
def test_the_reproduce_command_of_a_model_file_run_asks_for_the_file_and_gives_its_numbers(
        capsys, files, tmp_path, command):
    """The stored run names the model by its content ("file:<digest>"), which --model refuses; the printed command
    asks for the file with a placeholder, and with the path put in gives the run's numbers again."""
    from qulab.reports import reproduce
    from qulab.store import RunStore

    folder, logistic = files
    store = tmp_path / "runs.sqlite3"
    code, out = _run(capsys, command, "--data", f"csv:{folder / 'train.csv'}", "--test-data",
                     f"csv:{folder / 'test.csv'}", "--target", "label", "--model-file", str(folder / "logistic.skops"),
                     "--attack", "fgm", "--eps", "0.3" if command == "evaluate" else "0.0,0.3", "--json",
                     "--store", str(store))
    assert code == 0, out.err
    (run,) = RunStore(store).list()
    assert run.experiment["model"].startswith("file:")
    reproduction = reproduce(run)
    words = list(reproduction.argv)
    assert "--model" not in words and words[words.index("--model-file") + 1] == "PATH_TO_YOUR_FILE"
    assert "PATH_TO_YOUR_FILE" in reproduction.caveat and run.experiment["model"][5:] in reproduction.caveat

    code, out = _run(capsys, *_replaced(words[1:], folder / "logistic.skops"), "--store", str(tmp_path / "b.sqlite3"))
    assert code == 0, out.err
    again = json.loads(out.out)
    assert {k: v for k, v in again.items() if k not in TIMINGS} == {
        k: v for k, v in run.results.items() if k not in TIMINGS}
    X, y = own_arrays()
    assert again["clean_accuracy"] == pytest.approx(logistic.score(X[TEST], np.array(CLASSES)[y[TEST]]))
    expected = [_closed_form(logistic, eps) for eps in ((0.3,) if command == "evaluate" else (0.0, 0.3))]
    assert np.atleast_1d(again["adversarial_accuracy"]) == pytest.approx(expected, abs=1e-12)
