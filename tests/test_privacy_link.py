"""The Privacy page's choices live in its address from the first render: a copied link reproduces the page."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from qulab.core.wording import accuracy_text
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.run import run_privacy

PAGE = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "privacy.py"


def test_a_link_opened_in_a_fresh_session_reproduces_the_page_and_is_written_back_complete() -> None:
    link = {"data": "iris", "scaling": "minmax", "test_size": "0.5", "target_model": "decision_tree",
            "target_model.max_depth": "3", "privacy_attack": "membership_confidence",
            "privacy_attack.known_fraction": "0.3", "mitigation": "rounded_scores", "mitigation.decimals": "2"}
    app = AppTest.from_file(str(PAGE), default_timeout=240)
    app.query_params.update(link)
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.selectbox(key="pv_model").value == "decision_tree"
    assert app.select_slider(key="pv_decision_tree_max_depth").value == 3
    assert app.selectbox(key="pv_attack").value == "membership_confidence"
    assert app.slider(key="pv_membership_confidence_known_fraction").value == 0.3
    assert app.selectbox(key="pv_defence").value == "rounded_scores"
    assert app.slider(key="pv_rounded_scores_decimals").value == 2

    # The numbers are the library's for the scenario the link names.
    expected = run_privacy(PrivacyScenario(
        dataset="iris", scaling="minmax", test_size=0.5, model="decision_tree", model_params=(("max_depth", 3),),
        attack="membership_confidence", attack_params=(("attack_model", "rf"), ("known_fraction", 0.3)),
        defence="rounded_scores", defence_params=(("decimals", 2),)))
    shown = {m.label: m.value for m in app.metric}
    assert shown["AUC"] == accuracy_text(expected.result.auc)
    assert shown["Training accuracy"] == accuracy_text(expected.train_accuracy)

    # Written back complete: the link's keys, and the settings it left to their defaults.
    written = {key: app.query_params[key] for key in app.query_params}
    assert {key: written.get(key) for key in link} == link
    assert written["privacy_attack.attack_model"] == "rf"

    # Another attack: the address names it, and no longer the parameters of the one before.
    app.selectbox(key="pv_attack").set_value("membership_gap").run()
    assert not app.exception
    written = {key: app.query_params[key] for key in app.query_params}
    assert written["privacy_attack"] == "membership_gap"
    assert not [key for key in written if key.startswith("privacy_attack.")]
    assert written["mitigation.decimals"] == "2" and written["target_model.max_depth"] == "3"


def test_the_first_render_writes_every_choice_into_the_address() -> None:
    app = AppTest.from_file(str(PAGE), default_timeout=240)
    app.query_params.update({"data": "iris", "scaling": "minmax", "test_size": "0.5"})
    app.run()
    assert not app.exception, app.exception
    written = {key: app.query_params[key] for key in app.query_params}
    assert written["target_model"] == app.selectbox(key="pv_model").value
    assert written["privacy_attack"] == "membership_gap" and written["mitigation"] == "none"
    model_params = {key for key in written if key.startswith("target_model.")}
    assert model_params  # every model has parameters, each named
