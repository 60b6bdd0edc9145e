"""The Privacy page with diffprivlib's mitigations, from the registry: the accountant's ε and the bound shown, and
the advantage-against-ε sweep of the model's own private version, every point under the bound."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
from privacy_page import opened_privacy_page

from qulab.core.wording import accuracy_text, number_text
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.run import run_privacy


def _values(encoded) -> list[float]:
    """A trace's numbers: Plotly writes numpy arrays as base64 ("bdata"), lists as lists."""
    if isinstance(encoded, dict):
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"]).tolist()
    return list(encoded)


def test_a_private_tree_shows_its_accountants_epsilon_and_the_sweep_stays_under_the_bound() -> None:
    app = opened_privacy_page("breast_cancer", model="decision_tree", defence="dp_decision_tree")
    assert not app.exception, app.exception
    expected = run_privacy(PrivacyScenario(dataset="breast_cancer", scaling="minmax", test_size=0.5,
                                           model="decision_tree", defence="dp_decision_tree"))
    shown = {m.label: m for m in app.metric}
    assert shown["ε (accountant)"].value == number_text(1.0) == number_text(expected.epsilon)
    assert "diffprivlib's budget accountant" in shown["ε (accountant)"].help
    assert shown["δ"].value == "0"
    assert shown["Advantage bound"].value == accuracy_text(math.tanh(0.5))  # (e − 1)/(e + 1)
    assert shown["Membership advantage"].value == accuracy_text(expected.result.advantage)

    app.tabs[1].button(key="pv_button_dp").click().run()
    assert not app.exception, app.exception
    assert any("Every measured point lies under the bound." in caption.value for caption in app.caption)
    figures = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    advantage = next(f for f in figures if f["layout"]["yaxis"]["title"]["text"].startswith("Membership advantage"))
    assert "diffprivlib's budget accountant" in advantage["layout"]["xaxis"]["title"]["text"]
    measured = advantage["data"][1]
    assert "diffprivlib decision tree" in measured["name"]
    assert _values(measured["x"]) == [0.5, 1.0, 2.0, 4.0, 8.0]  # the accountant's ε is the ε asked for
    for epsilon, value in zip(_values(measured["x"]), _values(measured["y"]), strict=True):
        assert value <= math.tanh(epsilon / 2)


def test_a_model_without_a_private_version_is_told_which_models_have_one() -> None:
    app = opened_privacy_page("breast_cancer", model="gradient_boosting")
    assert not app.exception, app.exception
    assert any(info.value.startswith("DP-SGD is offered for the PyTorch MLP and for logistic regression")
               and "decision trees and random forests have diffprivlib's private versions" in info.value
               for info in app.info)
    assert not any(button.key == "pv_button_dp" for button in app.button)
