"""Links into the Attack Lab: a link names an experiment (read through Scenario.from_query); each part the link
cannot use is shown as one error sentence and the page goes on with the rest (issue 11, point 7)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qulab.core.experiment import Scenario
from qulab.evaluation.pipeline import evaluate

PAGE = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "attack_lab.py"


def open_with(query: dict[str, str]) -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=180)
    app.query_params.update(query)
    app.run()
    assert not app.exception, app.exception
    return app


def shown(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def expected(scenario: Scenario) -> dict[str, str]:
    summary = evaluate(scenario).summary()
    return {"Clean accuracy": f"{summary['clean_accuracy']:.3f}",
            "Adversarial accuracy": f"{summary['adversarial_accuracy']:.3f}",
            "Predictions flipped": f"{summary['flipped']} of {summary['n_test']}"}


def test_a_link_sets_the_attack_lab_experiment():
    scenario = Scenario(dataset="moons", attack="pgd", norm="2", eps=0.5, attack_params=(("max_iter", 7),))
    app = open_with(scenario.query_params())
    assert not app.error
    assert app.selectbox(key="al_attack").value == "pgd" and app.radio(key="al_norm_pgd").value == "2"
    assert app.slider(key="al_eps_2").value == pytest.approx(0.5)
    assert app.slider(key="al_pgd_max_iter").value == 7
    metrics = shown(app)
    assert {k: metrics[k] for k in expected(scenario)} == expected(scenario)
    # the page writes its experiment back, so the URL stays a link to what is shown
    assert Scenario.from_query(dict(app.query_params)) == Scenario.from_query(
        {**scenario.query_params(), "model.C": "1.0", "attack.step_fraction": "0.25",
         "attack.num_random_init": "0"})
    app.selectbox(key="al_attack").set_value("fgm").run()
    assert not any(key.startswith("attack") or key in ("norm", "eps") for key in app.query_params)


@pytest.mark.parametrize(("query", "sentences"), [
    ({"seed": "-1", "attack": "bim", "norm": "2"},
     ["The seed must be a whole number from 0 to 4294967295, not -1.",
      "Basic Iterative Method works in the L∞ norm only, not L2."]),
    ({"attack": "pgd", "attack.step_fraction": "nan"},
     ["Projected Gradient Descent: step_fraction must be a finite number, not nan"]),
    ({"model": "nope"}, ["unknown model 'nope'; choose from logistic_regression"]),
], ids=["seed-and-norm", "nan-parameter", "unknown-model"])
def test_a_bad_link_shows_one_sentence_per_refused_part_and_runs_the_rest(query, sentences):
    app = open_with(query)
    errors = [e.value for e in app.error]
    assert len(errors) == len(sentences)
    for sentence, error in zip(sentences, errors, strict=True):
        assert error.startswith(sentence) and "\n" not in error
    # the refused parts fall back to the defaults: the default experiment's numbers
    metrics = shown(app)
    assert {k: metrics[k] for k in expected(Scenario())} == expected(Scenario())


def test_a_budget_beyond_the_slider_is_refused_with_its_range():
    app = open_with({"attack": "fgm", "eps": "3"})
    assert [e.value for e in app.error] == [
        "The link's budget 3 is beyond this page's L∞ range (at most 0.5); the slider starts at its default."]
    assert app.slider(key="al_eps_inf").value == pytest.approx(0.1)


def test_the_attack_lab_shows_a_refused_scenario_as_its_sentence_and_runs_nothing(monkeypatch):
    """The widgets offer only valid values, so the refusal is forced here: the page must show the sentence and
    stop before fitting or attacking."""
    from qulab.core.registry import InvalidInput

    def refuse(self):
        raise InvalidInput(f"{self.attack} is refused for this test.")

    monkeypatch.setattr(Scenario, "validate", refuse)
    app = open_with({})
    assert [e.value for e in app.error] == ["fgm is refused for this test."]
    assert not app.metric and not app.get("plotly_chart")


PAGES = PAGE.parent


def _refusing(monkeypatch, field: str, name: str) -> str:
    """Scenario.validate refusing one attack or defence (the widgets offer only valid values, so the refusal is
    forced); every other experiment is checked as usual. Returns the sentence as the page's Markdown writes it."""
    from qulab.app.widgets import md
    from qulab.core.registry import InvalidInput

    sentence = f"{name} is refused for this test."
    validate = Scenario.validate

    def refuse_one(self):
        if getattr(self, field) == name:
            raise InvalidInput(sentence)
        return validate(self)

    monkeypatch.setattr(Scenario, "validate", refuse_one)
    return md(sentence)


def _must_not_run(monkeypatch, *targets: str) -> None:
    def ran(*args, **kwargs):
        raise AssertionError("a refused experiment was run")

    for target in targets:
        monkeypatch.setattr(target, ran)


def test_the_robustness_page_shows_a_refused_curve_as_its_sentence_and_runs_nothing(monkeypatch):
    sentence = _refusing(monkeypatch, "attack", "pgd")  # PGD is drawn by default beside FGM
    _must_not_run(monkeypatch, "qulab.app.widgets.fitted", "qulab.evaluation.curves.attack_curve")
    app = AppTest.from_file(str(PAGES / "robustness.py"), default_timeout=180)
    app.run()
    assert not app.exception, app.exception
    assert [e.value for e in app.error] == [sentence]
    assert not app.get("plotly_chart") and not app.dataframe


def test_the_defences_page_shows_a_refused_defence_as_its_sentence_and_runs_nothing(monkeypatch):
    sentence = _refusing(monkeypatch, "defence", "adversarial_training")  # ticked first on breast cancer
    _must_not_run(monkeypatch, "qulab.defences.evaluate_defence", "qulab.defences.undefended_baseline",
                  "qulab.defences.estimate_seconds")
    app = AppTest.from_file(str(PAGES / "defences.py"), default_timeout=180)
    app.query_params.update({"data": "breast_cancer", "scaling": "minmax"})
    app.run()
    assert not app.exception, app.exception
    assert app.checkbox(key="def_on_adversarial_training").value
    assert [e.value for e in app.error] == [sentence]
    assert not app.button and not app.metric and not app.get("plotly_chart")


def test_the_defences_page_offers_a_defence_only_in_the_norms_of_its_threat_model(monkeypatch):
    """A defence declared L2-only is not offered under L∞, with its threat model's sentence, and comes back at L2."""
    from dataclasses import replace

    from qulab.core.threat import GRADIENTS, WHITE_BOX, evasion
    from qulab.defences import DEFENCES

    narrowed = replace(DEFENCES.get("adversarial_training"), threat=evasion(WHITE_BOX, *GRADIENTS, norms=("2",)))
    monkeypatch.setitem(DEFENCES._entries, "adversarial_training", narrowed)
    app = AppTest.from_file(str(PAGES / "defences.py"), default_timeout=180)
    app.query_params.update({"data": "breast_cancer", "scaling": "minmax"})
    app.run()
    assert not app.exception, app.exception
    assert app.checkbox(key="def_on_adversarial_training").disabled
    assert (":material/block: Not available here: Adversarial training (Madry) works in the L2 norm only, not L∞."
            in [c.value for c in app.caption])
    app.radio(key="def_norm_pgd").set_value("2").run()
    assert not app.exception, app.exception
    assert not app.checkbox(key="def_on_adversarial_training").disabled


def test_a_link_to_a_model_that_runs_only_some_attacks_keeps_the_model_with_its_attack():
    """A copied address of a decision tree under HopSkipJump: the model is read with the link's attack, not
    refused for the default FGM; a pair that cannot run is refused in the words of the link's attack."""
    from qulab.app.state import link_from_query

    link, messages = link_from_query({"data": "breast_cancer", "model": "decision_tree", "attack": "hop_skip_jump",
                                      "norm": "2", "eps": "0.5"})
    assert messages == [] and link.named == {"model", "attack"}
    assert (link.scenario.model, link.scenario.attack, link.scenario.eps) == ("decision_tree", "hop_skip_jump", 0.5)
    link, messages = link_from_query({"data": "breast_cancer", "model": "decision_tree", "attack": "pgd"})
    assert link.named == {"attack"} and link.scenario.model == "logistic_regression"
    assert [m.split(";")[0] for m in messages] == ["Projected Gradient Descent needs loss gradients"]

