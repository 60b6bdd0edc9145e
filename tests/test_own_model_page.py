"""The Attack Lab with your own model file: the threat model shown, the numbers from the file's model.

AppTest cannot drive a file uploader, so the file is opened as an upload opens it and the session holds it, as
after an upload on an earlier run (the browser test uploads for real)."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from qulab.app.own_model import HELD_KEY
from qulab.core.experiment import Scenario
from qulab.evaluation.pipeline import prepare_split
from qulab.models.files import open_model_file

PAGE = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "attack_lab.py"


@pytest.fixture(scope="module")
def logistic():
    from sklearn.linear_model import LogisticRegression

    split = prepare_split(Scenario())  # the page's default data: synthetic, seed 42
    return split, LogisticRegression().fit(split.X_train, split.y_train)


def _onnx_logistic_regression(logistic) -> bytes:
    """The same logistic regression written by hand as an ONNX graph: softmax(x·W + b) with class 0's scores 0."""
    W = np.column_stack([np.zeros_like(logistic.coef_[0]), logistic.coef_[0]])
    return _onnx_linear(W, np.array([0.0, logistic.intercept_[0]]))


def _onnx_linear(W: np.ndarray, b: np.ndarray) -> bytes:
    """softmax(x·W + b) as an ONNX graph (W: features × classes)."""
    from onnx import TensorProto, helper, numpy_helper

    W, b = W.astype(np.float32), b.astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["scores"]), helper.make_node("Add", ["scores", "b"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)], "logistic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", W.shape[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["rows", W.shape[1]])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _page_with(model_file, points: int | None = None) -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=180)
    app.session_state[HELD_KEY] = (model_file.scenario_name, model_file.filename)
    app.run()
    if points is not None:
        app.number_input(key="al_sample").set_value(points)
    app.radio(key="al_model_source").set_value("file").run()
    assert not app.exception, app.exception
    return app


def test_a_skops_model_is_a_white_box_and_fgm_gives_the_closed_form(logistic):
    import skops.io as sio

    split, model = logistic
    own = open_model_file(sio.dumps(model), "mine.skops")
    app = _page_with(own)
    text = " ".join(m.value for m in app.markdown)
    assert "Threat model: white box" in text and "LogisticRegression" in text
    shown = {m.label: m.value for m in app.metric}
    w, b = model.coef_[0], model.intercept_[0]
    margin = (2 * split.y_test - 1) * (split.X_test @ w + b)  # all 200 test points, FGM at eps 0.1 (L∞)
    assert shown["Clean accuracy"] == f"{np.mean(margin > 0):.3f}"
    assert shown["Adversarial accuracy"] == f"{np.mean(margin > 0.1 * np.abs(w).sum()):.3f}"
    assert shown["Predictions flipped"].endswith("of 200")


def test_an_onnx_model_is_a_black_box_attacked_by_queries_only(logistic):
    from qulab.evaluation.pipeline import subsample

    split, model = logistic
    own = open_model_file(_onnx_logistic_regression(model), "mine.onnx")
    app = _page_with(own, points=5)  # few points: HopSkipJump runs at once, without a timing pilot
    text = " ".join(m.value for m in app.markdown)
    assert "Threat model: black box" in text and "only queried, in a separate process" in text
    assert any("switched to HopSkipJump" in c.value for c in app.caption)
    assert app.selectbox(key="al_attack").value == "hop_skip_jump"
    shown = {m.label: m.value for m in app.metric}
    sample = subsample(split, 5, 42)
    assert shown["Clean accuracy"] == f"{model.score(sample.X_test, sample.y_test):.3f}"
    assert float(shown["Adversarial accuracy"]) <= float(shown["Clean accuracy"])

    app.selectbox(key="al_attack").set_value("fgm").run()
    reason = " ".join(i.value for i in app.info)
    assert "Fast Gradient Method is unavailable here" in reason and "mine.onnx has none" in reason
    assert "HopSkipJump" in reason and not app.metric


def test_a_model_whose_features_are_not_the_datas_is_refused_on_the_page():
    own = open_model_file(_onnx_linear(np.ones((5, 2)), np.zeros(2)), "five.onnx")
    app = _page_with(own)
    assert [e.value for e in app.error] == ["five.onnx expects 5 features; the data have 2. Use the data the model "
                                            "was trained on (same feature columns, same order)."]
    assert not app.metric
