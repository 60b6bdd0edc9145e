"""Choices stick (issue 16): leaving a Lab page and coming back finds every choice as it was, a model change
that rules out the attack moves to one that runs, the sample size follows the data, and each Lab page's address
names its data."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qulab.app import state as dc
from qulab.app import warm_up
from qulab.app import widgets as lw
from qulab.threats.evasion.attacks import ATTACKS

ROOT = Path(__file__).resolve().parents[1]
PAGES = "src/qulab/app/pages"
BREAST = {"data": "breast_cancer", "scaling": "minmax"}
EPS_KEY = f"al_eps_{ATTACKS.get('decision_tree').norms[0]}"  # the decision tree attack's budget slider


def open_app(query: dict[str, str] | None = None, page: str = "attack_lab.py") -> AppTest:
    warm_up.start().join()  # the router's background imports, done before the pages import the same modules
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    app.query_params.update(query or {})
    app.run()
    app.switch_page(f"{PAGES}/{page}").run()
    assert not app.exception, app.exception
    return app


def go(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"{PAGES}/{page}").run()
    assert not app.exception, app.exception
    return app


def test_leaving_the_attack_lab_and_coming_back_keeps_model_attack_and_settings():
    app = open_app()
    app.selectbox(key="al_model").set_value("decision_tree").run()
    app.selectbox(key="al_attack").set_value("decision_tree").run()
    app.number_input(key="al_sample").set_value(60).run()
    app.select_slider(key="al_decision_tree_max_depth").set_value(4).run()
    app.slider(key=EPS_KEY).set_value(0.25).run()
    before = {m.label: m.value for m in app.metric}
    assert before, "the decision tree attack ran"
    go(app, "data_overview.py")
    assert "al_attack" not in app.session_state  # Streamlit dropped the widget: the value must come from elsewhere
    go(app, "attack_lab.py")
    assert app.selectbox(key="al_model").value == "decision_tree"
    assert app.selectbox(key="al_attack").value == "decision_tree"
    assert app.number_input(key="al_sample").value == 60
    assert app.slider(key=EPS_KEY).value == pytest.approx(0.25)
    assert app.select_slider(key="al_decision_tree_max_depth").value == 4
    assert not app.info  # not blocked on an attack the tree cannot run
    assert {m.label: m.value for m in app.metric} == before  # the same run, found again


def test_robustness_and_defences_keep_their_choices_and_all_pages_pick_the_norm_with_one_radio():
    app = open_app(page="robustness.py")
    app.radio(key="rb_norm").set_value("2").run()
    app.slider(key="rb_steps").set_value(5).run()
    go(app, "defences.py")
    app.selectbox(key="def_attack").set_value("fgm").run()
    app.radio(key="def_norm_fgm").set_value("2").run()
    go(app, "robustness.py")
    assert app.radio(key="rb_norm").value == "2" and app.slider(key="rb_steps").value == 5
    go(app, "defences.py")
    assert app.selectbox(key="def_attack").value == "fgm" and app.radio(key="def_norm_fgm").value == "2"
    assert [r.label for r in app.radio] == ["Norm"]  # the norm is a radio here as on the other Lab pages


def test_test_points_follow_the_data_and_a_number_beyond_the_test_set_is_brought_down_with_a_caption():
    app = open_app()
    app.number_input(key="al_sample").set_value(20).run()
    go(app, "data_sets.py")
    app.selectbox(key="ds_name").set_value("breast_cancer").run()
    n_test = len(dc.choice_split(app.session_state[dc.CHOICE_KEY]).y_test)
    assert n_test == 114  # 20 % of breast cancer's 569 rows
    go(app, "attack_lab.py")
    assert app.number_input(key="al_sample").value == min(lw.DEFAULT_SAMPLE, n_test)  # not the 20 of other data
    app.number_input(key="al_sample").set_value(5000).run()
    assert not app.exception
    assert app.number_input(key="al_sample").value == n_test
    assert f"5,000 is more than the {n_test} test points: attacking all {n_test}." in [c.value for c in app.caption]
    attacked = [c.value for c in app.caption if "test points attacked" in c.value]
    assert attacked and attacked[0].startswith(f"{n_test} of {n_test} test points attacked")


@pytest.mark.parametrize("page", ["attack_lab.py", "robustness.py", "defences.py", "data_sets.py"])
def test_every_lab_page_address_names_the_data(page):
    app = open_app(BREAST, page="data_overview.py")
    app = go(app, page)
    assert {k: app.query_params[k] for k in BREAST} == BREAST


def test_a_link_names_the_number_of_test_points_and_the_page_writes_it_back():
    app = open_app({**BREAST, "points": "30"})
    assert app.number_input(key="al_sample").value == 30
    attacked = [c.value for c in app.caption if "test points attacked" in c.value]
    assert attacked and attacked[0].startswith("30 of 114 test points attacked")
    app.number_input(key="al_sample").set_value(40).run()
    assert app.query_params["points"] == "40"
    app.number_input(key="al_sample").set_value(lw.DEFAULT_SAMPLE).run()  # the default (all 114) is not written
    assert "points" not in app.query_params
    bad = open_app({**BREAST, "points": "many"})
    assert [e.value for e in bad.error] == ["The link's number of test points 'many' is not a whole number of at "
                                            "least 1; using 114."]


def test_a_robustness_address_names_its_model_and_a_link_to_it_starts_there():
    app = open_app(BREAST, page="robustness.py")
    app.selectbox(key="rb_model").set_value("linear_svm").run()
    assert app.query_params["model"] == "linear_svm"
    linked = open_app(dict(app.query_params), page="robustness.py")
    assert linked.selectbox(key="rb_model").value == "linear_svm"


def test_a_defences_link_sets_model_attack_norm_and_budget_and_the_page_writes_them_back():
    query = {**BREAST, "model": "logistic_regression", "attack": "fgm", "norm": "2", "eps": "0.7"}
    app = open_app(query, page="defences.py")
    assert app.selectbox(key="def_model").value == "logistic_regression"
    assert app.selectbox(key="def_attack").value == "fgm" and app.radio(key="def_norm_fgm").value == "2"
    assert app.slider(key="def_eps_2").value == pytest.approx(0.7)
    # a scenario's default model is left out of an address; the attack is always named (the page starts at PGD);
    # the ticked defences and their settings are named from the first render on
    ticked = {"defences": "adversarial_training", "adversarial_training.attack": "pgd",
              "adversarial_training.eps": "0.1", "adversarial_training.ratio": "1.0",
              "adversarial_training.epochs": "20"}
    assert dict(app.query_params) == {**{k: v for k, v in query.items() if k != "model"}, **ticked}
    again = open_app(dict(app.query_params), page="defences.py")
    assert again.selectbox(key="def_attack").value == "fgm" and again.radio(key="def_norm_fgm").value == "2"


def test_a_defences_address_names_the_ticked_defences_and_their_settings_before_any_evaluation():
    app = open_app(BREAST, page="defences.py")
    app.checkbox(key="def_on_gaussian_noise").check().run()
    app.checkbox(key="def_on_adversarial_training").uncheck().run()
    app.slider(key="def_gaussian_noise_sigma").set_value(0.3).run()
    assert app.button(key="def_run")  # still waiting for Evaluate: nothing computed, the address complete
    assert app.query_params["defences"] == "gaussian_noise" and app.query_params["gaussian_noise.sigma"] == "0.3"
    assert not any(key.startswith("adversarial_training.") for key in app.query_params)  # unticked: gone
    linked = open_app(dict(app.query_params), page="defences.py")
    assert linked.checkbox(key="def_on_gaussian_noise").value and not linked.checkbox(
        key="def_on_adversarial_training").value
    assert linked.slider(key="def_gaussian_noise_sigma").value == pytest.approx(0.3)
    app.checkbox(key="def_on_gaussian_noise").uncheck().run()  # none ticked: the address says so
    assert app.query_params["defences"] == "" and [i.value for i in app.info] == ["Tick at least one defence above."]


def test_a_robustness_address_names_norm_grid_and_attacks_and_a_link_reproduces_them():
    app = open_app(BREAST, page="robustness.py")
    assert {"norm", "eps_max", "steps", "attacks"} <= set(app.query_params)  # from the first render
    app.radio(key="rb_norm").set_value("2").run()
    app.slider(key="rb_eps_max_2").set_value(1.0).run()
    app.slider(key="rb_steps").set_value(5).run()
    app.multiselect(key="rb_attacks_logistic_regression_2").set_value(["deepfool"]).run()
    query = dict(app.query_params)
    assert (query["norm"], query["eps_max"], query["steps"], query["attacks"]) == ("2", "1.0", "5", "deepfool")
    linked = open_app(query, page="robustness.py")
    assert linked.radio(key="rb_norm").value == "2" and linked.slider(key="rb_eps_max_2").value == 1.0
    assert linked.slider(key="rb_steps").value == 5
    assert linked.multiselect(key="rb_attacks_logistic_regression_2").value == ["deepfool"]
