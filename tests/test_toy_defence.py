"""A defence added in one file (tests/toy_defence.py) appears in `qulab list` and on the Defences page, and its
numbers agree with a closed form computed here without QuLab's defence code."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from streamlit.testing.v1 import AppTest

from qulab import cli
from qulab.core.experiment import Scenario
from qulab.defences import DEFENCES, evaluate_defence
from qulab.evaluation.pipeline import prepare_split

PAGE = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "defences.py"
SCENARIO = Scenario(dataset="breast_cancer", scaling="minmax", model="logistic_regression", attack="fgm", eps=0.1)


@pytest.fixture
def toy(monkeypatch):
    """The toy defence registered for one test; the registry is restored afterwards."""
    monkeypatch.setattr(DEFENCES, "_entries", dict(DEFENCES._entries))
    monkeypatch.delitem(sys.modules, "toy_defence", raising=False)
    return importlib.import_module("toy_defence")


def closed_form(eps: float) -> dict[str, float]:
    """Binary logistic regression under FGM L∞: the loss gradient in x is (p − y)·w, so every point moves by
    eps·sign(w) away from its own class, whatever the rounding in front (BPDA keeps the sign): the adaptive and
    the non-adaptive examples are the same."""
    split = prepare_split(SCENARIO)
    model = LogisticRegression(C=1.0, max_iter=5000, random_state=SCENARIO.seed).fit(split.X_train, split.y_train)
    X, y = split.X_test, split.y_test
    X_adv = X + eps * np.sign(model.coef_[0]) * np.where(y == 1, -1.0, 1.0)[:, None]

    def rounded(Z):
        return np.round(Z * 2) / 2

    def accuracy(Z):
        return float(np.mean(model.predict(Z) == y))

    return {"clean_undefended": accuracy(X), "clean_defended": accuracy(rounded(X)),
            "robust_undefended": accuracy(X_adv), "robust_defended": accuracy(rounded(X_adv))}


def test_toy_defence_is_listed_by_the_cli(toy, capsys):
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    assert "round_half_grid      Round to a 0.5 grid (toy)  [preprocessing, features in a known range]" in text
    assert f"weakness: {toy.TOY.known_weakness}" in text
    # the helper's default threat model: an adaptive white-box attacker, in every norm
    assert "evaluated against: white-box evasion, norm inf/2/1, with class gradients and loss gradients" in text
    assert cli.main(["list", "--json"]) == 0
    import json

    listed = {d["name"]: d for d in json.loads(capsys.readouterr().out)["defences"]}
    assert listed["round_half_grid"]["supports"] == list(toy.TOY.models)
    assert listed["round_half_grid"]["threat"] == toy.TOY.threat.to_dict()
    assert "rbf_svm" in listed["round_half_grid"]["supports"] and "decision_tree" not in toy.TOY.models


def test_toy_defence_numbers_match_the_closed_form(toy):
    outcome = evaluate_defence(SCENARIO, "round_half_grid", eps_grid=(0.0, 0.1))
    expected = closed_form(0.1)
    assert outcome.clean_undefended == expected["clean_undefended"]
    assert outcome.clean_defended == expected["clean_defended"]
    assert outcome.robust_undefended == expected["robust_undefended"]
    assert outcome.robust_nonadaptive == expected["robust_defended"]
    assert outcome.robust_defended == expected["robust_defended"]
    assert expected["clean_defended"] != expected["clean_undefended"]  # the rounding is felt, so the check bites


def test_toy_defence_is_on_the_defences_page_and_shows_the_closed_form(toy):
    app = AppTest.from_file(str(PAGE), default_timeout=240)
    app.query_params.update({"data": "breast_cancer", "scaling": "minmax"})
    app.run()
    assert not app.exception, app.exception
    box = app.checkbox(key="def_on_round_half_grid")
    assert box.label == "Round to a 0.5 grid (toy) · preprocessing" and not box.disabled
    assert any(toy.TOY.known_weakness in caption.value for caption in app.caption)
    app.selectbox(key="def_attack").set_value("fgm")
    app.checkbox(key="def_on_adversarial_training").uncheck()
    app.checkbox(key="def_on_round_half_grid").check().run()
    app.button(key="def_run").click().run()
    assert not app.exception, app.exception
    assert not app.error
    metrics = {m.label: m.value for m in app.metric}
    expected = closed_form(0.1)
    assert metrics["Clean accuracy"] == f"{expected['clean_defended']:.3f}"
    assert metrics["Robust (adaptive)"] == f"{expected['robust_defended']:.3f}"
    assert metrics["Robust (non-adaptive)"] == f"{expected['robust_defended']:.3f}"
    assert metrics["Undefended robust"] == f"{expected['robust_undefended']:.3f}"
