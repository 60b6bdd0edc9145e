"""The Privacy page in AppTest: the library's numbers, unavailable attacks in words, choices kept, comparisons."""

from __future__ import annotations

from privacy_page import opened_privacy_page
from streamlit.testing.v1 import AppTest

from qulab.core.wording import accuracy_text
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.run import run_privacy


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_the_page_shows_the_librarys_numbers_and_keeps_its_choices() -> None:
    app = opened_privacy_page(model="decision_tree")
    assert not app.exception, app.exception
    assert app.title[0].value == "Privacy"
    expected = run_privacy(PrivacyScenario(dataset="iris", scaling="minmax", test_size=0.5, model="decision_tree",
                                           attack="membership_gap"))
    shown = metrics(app)
    assert shown["AUC"] == accuracy_text(expected.result.auc)
    assert shown["Membership advantage"] == accuracy_text(expected.result.advantage)
    assert shown["Generalisation gap"] == accuracy_text(expected.generalisation_gap)
    assert shown["TPR at 1.0% FPR"] == "n/a"  # 75 non-members
    assert len(app.get("plotly_chart")) == 2  # ROC and per class

    # An attack the mitigation leaves no access for is refused in words; the choices stay.
    app.selectbox(key="pv_defence").set_value("top1_label").run()
    app.selectbox(key="pv_attack").set_value("membership_confidence").run()
    assert not app.exception
    assert any("needs scores" in info.value for info in app.info)
    app.selectbox(key="pv_defence").set_value("none").run()
    assert not app.exception and app.selectbox(key="pv_attack").value == "membership_confidence"
    assert "AUC" in metrics(app)


def test_side_by_side_comparison_with_the_regularised_model() -> None:
    app = opened_privacy_page(model="decision_tree")
    app.button(key="pv_button_regularised").click().run()
    assert not app.exception, app.exception
    labels = [m.label for m in app.metric]
    assert labels.count("Membership advantage") == 3  # the run, then as trained and regularised side by side
    plain = run_privacy(PrivacyScenario(dataset="iris", scaling="minmax", test_size=0.5, model="decision_tree"))
    regularised = run_privacy(PrivacyScenario(dataset="iris", scaling="minmax", test_size=0.5,
                                              model="decision_tree", defence="regularisation"))
    values = [m.value for m in app.metric if m.label == "Membership advantage"]
    assert values[1:] == [accuracy_text(plain.result.advantage), accuracy_text(regularised.result.advantage)]
