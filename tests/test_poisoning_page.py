"""The Poisoning page in AppTest: the library's numbers on the page, the figures, refusals as sentences; and the
figure builders."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from qulab.app import state as dc
from qulab.core.wording import accuracy_text
from qulab.figures.poisoning import build_rate_figure, build_training_view, build_trigger_gallery
from qulab.store import RunStore
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import run_poisoning

PAGE = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "poisoning.py"


def open_page(choice: dc.DataChoice) -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=180)
    app.session_state[dc.CHOICE_KEY] = choice
    app.run()
    assert not app.exception, app.exception
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _scenario(choice: dc.DataChoice, **fields) -> PoisoningScenario:
    return PoisoningScenario(dataset=choice.name, dataset_params=choice.params, scaling=choice.scaling,
                             seed=choice.seed, test_size=choice.test_size, **fields)


def test_label_flips_then_a_detector_show_the_librarys_numbers_and_the_curve_on_demand():
    choice = dc.builtin_choice("moons", {"n_samples": 300})
    app = open_page(choice)
    assert app.title[0].value == "Poisoning"
    app.selectbox(key="po_model").set_value("decision_tree").run()
    app.slider(key="po_rate").set_value(0.3).run()
    app.selectbox(key="po_defence").set_value("knn_cleaning").run()
    assert not app.exception and not app.error
    expected = run_poisoning(_scenario(choice, model="decision_tree", model_params=(("max_depth", 0),), rate=0.3,
                                       defence="knn_cleaning", defence_params=(("agreement", 0.6), ("k", 10))))
    shown = metrics(app)
    assert shown["Clean model's accuracy"] == accuracy_text(expected.clean_accuracy)
    assert shown["Poisoned model's accuracy"] == accuracy_text(expected.poisoned_accuracy)
    assert shown["Points poisoned"] == f"{expected.n_poisoned} of {expected.n_train}"
    assert shown["Detection precision"] == accuracy_text(expected.detection_precision)
    assert shown["Detection recall"] == accuracy_text(expected.detection_recall)
    assert shown["Defended accuracy"] == accuracy_text(expected.defended_accuracy)
    assert "Attack success rate" not in shown  # no trigger, no ASR
    assert len(app.get("plotly_chart")) == 2  # the data view and the detector's scores
    app.number_input(key="po_curve_seeds").set_value(2).run()
    app.button(key="po_curve_run").click().run()
    assert not app.exception and not app.error
    assert len(app.get("plotly_chart")) == 4  # + accuracy and detection against the rate

    # The curve's 6 rates × 2 seeds are kept as the poisoning runs they are, with the numbers `qulab poison` gives.
    stored = {(run.experiment["rate"], run.experiment["seed"]): run for run in RunStore().list()}
    rates = (0.0, 0.16, 0.32, 0.48, 0.64, 0.8)  # six from 0 to the largest rate (0.8 without a target class)
    assert {(rate, seed) for rate in rates for seed in (42, 43)} <= set(stored)
    point = replace(_scenario(choice, model="decision_tree", model_params=(("max_depth", 0),), rate=0.48,
                              defence="knn_cleaning", defence_params=(("agreement", 0.6), ("k", 10))), seed=43)
    again = run_poisoning(point)
    assert stored[(0.48, 43)].results["poisoned_accuracy"] == again.poisoned_accuracy
    assert stored[(0.48, 43)].results["detection_recall"] == again.detection_recall
    assert any("trainings are kept as poisoning runs on the **Runs** page" in c.value for c in app.caption)


def test_a_digits_backdoor_shows_its_asr_and_the_triggered_images():
    choice = dc.builtin_choice("digits")
    app = open_page(choice)
    app.selectbox(key="po_model").set_value("decision_tree").run()
    app.selectbox(key="po_attack").set_value("backdoor").run()
    assert not app.exception and not app.error
    expected = run_poisoning(_scenario(choice, model="decision_tree", model_params=(("max_depth", 0),),
                                       attack="backdoor", target_class=0, rate=0.1))
    shown = metrics(app)
    assert shown["Attack success rate"] == accuracy_text(expected.attack_success_rate)
    assert shown["Poisoned model's accuracy"] == accuracy_text(expected.poisoned_accuracy)
    gallery = app.get("plotly_chart")[-1]
    assert "Triggered" in gallery.proto.spec  # the clean/triggered gallery, its rows renamed


def test_a_rate_the_attack_cannot_reach_is_one_sentence_not_a_traceback():
    app = open_page(dc.builtin_choice("moons", {"n_samples": 200}))
    app.selectbox(key="po_target_label_flip_moons").set_value(1).run()
    app.slider(key="po_rate").set_value(0.9).run()
    assert not app.exception
    assert "can poison at most 80 of the 160 training points" in app.error[0].value


def test_rate_figure_draws_the_mean_and_a_band_spanning_the_seeds():
    values = np.array([[0.9, 0.8], [0.6, 0.4]])
    fig = build_rate_figure((0.0, 0.5), [("Poisoned model", values)], "Accuracy", reference=("clean", 0.95))
    band, line = fig.data
    assert np.allclose(line.y, [0.85, 0.5])
    assert list(band.y) == [0.9, 0.6, 0.4, 0.8]  # highest seed out, lowest seed back


def test_training_view_marks_poisoned_points_as_crosses_and_flags_as_rings():
    coords = np.arange(12, dtype=float).reshape(6, 2)
    labels = np.array([0, 0, 1, 1, 0, 1])
    poisoned = np.array([True, False, False, True, False, False])
    flagged = np.array([True, True, False, False, False, False])
    fig = build_training_view(coords, ("x", "y"), labels, poisoned, flagged, ("a", "b"))
    crosses = [t for t in fig.data if t.marker.symbol == "x"]
    assert sum(len(t.x) for t in crosses) == 2
    rings = [t for t in fig.data if t.marker.symbol == "circle-open"]
    assert len(rings) == 1 and list(rings[0].x) == [0.0, 2.0]


def test_trigger_gallery_shows_clean_trigger_and_triggered_rows():
    clean = np.zeros((2, 4))
    triggered = clean.copy()
    triggered[:, 3] = 1.0
    fig = build_trigger_gallery(clean, triggered, (2, 2), ["1", "2"], ["0", "0"], ["1", "2"], (0.0, 1.0))
    texts = {a.text for a in fig.layout.annotations}
    assert {"Clean", "Triggered"} <= texts and any(t.startswith("Trigger (") for t in texts)
    assert isinstance(fig, go.Figure) and len(fig.data) == 6
    assert "trigger" in fig.layout.title.text and "adversarial" not in fig.layout.title.text


def test_a_link_sets_the_poisoning_widgets_and_the_page_writes_them_back():
    query = {"data": "digits", "victim": "decision_tree", "poison": "backdoor", "rate": "0.05", "target_class": "3",
             "poison.trigger": "pixel", "detector": "knn_cleaning", "detector.k": "5"}
    app = AppTest.from_file(str(PAGE), default_timeout=180)
    app.query_params.update(query)
    app.run()
    assert not app.exception and not app.error
    assert app.selectbox(key="po_model").value == "decision_tree"
    assert app.selectbox(key="po_attack").value == "backdoor" and app.slider(key="po_rate").value == 0.05
    assert app.selectbox(key="po_target_backdoor_digits").value == 3
    assert app.selectbox(key="po_backdoor_trigger").value == "pixel" and app.slider(key="po_knn_cleaning_k").value == 5
    expected = run_poisoning(PoisoningScenario(
        dataset="digits", model="decision_tree", attack="backdoor", rate=0.05, target_class=3,
        attack_params=(("trigger", "pixel"),), defence="knn_cleaning", defence_params=(("k", 5),)))
    assert metrics(app)["Attack success rate"] == accuracy_text(expected.attack_success_rate)
    assert metrics(app)["Detection recall"] == accuracy_text(expected.detection_recall)
    written = {key: app.query_params[key] for key in app.query_params}
    assert {k: written.get(k) for k in query} == query  # the page's link reproduces the experiment


def test_a_link_the_registries_refuse_is_one_sentence_and_the_page_still_opens():
    app = AppTest.from_file(str(PAGE), default_timeout=180)
    app.query_params.update({"data": "moons", "poison": "nope"})
    app.run()
    assert not app.exception
    assert "poisoning settings were not applied: unknown poisoning attack 'nope'" in app.error[0].value
    assert app.selectbox(key="po_attack").value == "label_flip"
