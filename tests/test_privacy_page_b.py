"""The Privacy page runs the extraction and attribute-inference entries with the library's numbers."""

from __future__ import annotations

from privacy_page import opened_privacy_page

from qulab.core.wording import accuracy_text
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.run import run_privacy


def test_extraction_and_attribute_inference_on_the_page() -> None:
    app = opened_privacy_page(model="logistic_regression", attack="extraction_equation_solving")
    assert not app.exception, app.exception
    shown = {m.label: m.value for m in app.metric}
    assert shown["Queries"] == "5" and shown["Agreement"] == accuracy_text(1.0)
    assert "Largest weight error" in shown
    assert len(app.get("plotly_chart")) == 1  # stolen against true weights

    app.selectbox(key="pv_attack").set_value("attribute_black_box").run()
    assert not app.exception, app.exception
    expected = run_privacy(PrivacyScenario(dataset="iris", scaling="minmax", test_size=0.5,
                                           model="logistic_regression", attack="attribute_black_box")).result.outcome
    shown = {m.label: m.value for m in app.metric}
    assert shown["Attack accuracy"] == accuracy_text(expected.attack_accuracy)
    assert shown["Baseline accuracy"] == accuracy_text(expected.baseline_accuracy)
    assert shown["Leakage"] == f"{expected.leakage:+.3f}"
    assert any("quantile bins" in caption.value for caption in app.caption)  # the binning is said

    app.selectbox(key="pv_attack").set_value("inversion_miface").run()
    assert not app.exception
    assert any("image data" in info.value for info in app.info)  # iris has no images: refused in words


def test_no_integer_parameter_sits_on_a_log_slider() -> None:
    """The page's log-scale slider offers 1-2-5 steps as floats, which an integer parameter refuses ("max_iter must
    be a whole number, not 300.0", seen in Chromium): integer parameters use linear sliders."""
    from qulab.threats.privacy.attacks import PRIVACY_ATTACKS

    for attack in PRIVACY_ATTACKS:
        for param in attack.params:
            assert not (param.kind == "int" and param.scale == "log"), f"{attack.name}.{param.name}"
