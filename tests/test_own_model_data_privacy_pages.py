"""Your own model on the Data Sets page (checked against the chosen data, its threat model stated) and on the Privacy
page (the gap attack on the file, the attacks it cannot take listed with their reasons).

AppTest cannot drive a file uploader, so the file is opened as an upload opens it and the session holds it, as after
an upload on an earlier run (tests/browser/test_own_model_browser.py uploads for real)."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_own_model_page import _onnx_linear

from qulab.app import own_model
from qulab.app.own_model import HELD_KEY
from qulab.app.widgets import KEPT_KEY
from qulab.core.experiment import Scenario
from qulab.evaluation.pipeline import prepare_split
from qulab.models.files import open_model_file

PAGES = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages"


@pytest.fixture(scope="module")
def tree_file():
    """A decision tree trained outside QuLab on the pages' default data (synthetic, seed 42), as a .skops file."""
    import skops.io as sio
    from sklearn.tree import DecisionTreeClassifier

    split = prepare_split(Scenario())
    tree = DecisionTreeClassifier(random_state=0).fit(split.X_train, split.y_train)
    return split, tree, open_model_file(sio.dumps(tree), "tree.skops")


def _page(name: str, model_file) -> AppTest:
    app = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=180)
    app.session_state[HELD_KEY] = (model_file.scenario_name, model_file.filename)
    app.run()
    assert not app.exception, app.exception
    return app


def test_the_data_sets_page_checks_the_held_file_against_the_chosen_data(tree_file):
    _, _, own = tree_file
    app = _page("data_sets", own)
    text = " ".join(m.value for m in app.markdown)
    assert "Threat model: white box." in text and "DecisionTreeClassifier" in text
    assert "decision tree saved with skops is a **white box**" in text and "ONNX graph" in text
    fits = [s.value for s in app.success if "tree.skops" in s.value]
    assert len(fits) == 1 and "2 features, classes Class 0, Class 1" in fits[0]
    assert any("Using **tree.skops**, uploaded earlier" in c.value for c in app.caption)


def test_the_data_sets_page_says_plainly_when_the_file_does_not_fit():
    own = open_model_file(_onnx_linear(np.ones((5, 3)), np.zeros(3)), "five.onnx")
    app = _page("data_sets", own)
    assert "Threat model: black box." in " ".join(m.value for m in app.markdown)
    assert [e.value for e in app.error] == ["five.onnx expects 5 features; the data have 2. Use the data the model "
                                            "was trained on (same feature columns, same order)."]
    assert not [s.value for s in app.success if "five.onnx" in s.value]


def test_a_new_file_sets_the_lab_pages_model_source_once(tree_file):
    """The uploader hands the same file back on every rerun: only a file new to the session switches the pages to
    it, so a page switched back to a registry model stays there."""
    _, _, own = tree_file
    state: dict = {}
    assert own_model.hold(state, own)
    assert state[KEPT_KEY] == {"al_model_source": "file", "pv_model_source": "file"}
    assert state[HELD_KEY] == (own.scenario_name, "tree.skops")
    state[KEPT_KEY]["pv_model_source"] = "registry"  # the user switches the Privacy page back
    state["al_model_source"] = "registry"
    assert not own_model.hold(state, own)  # the same file, on the next rerun
    assert state[KEPT_KEY]["pv_model_source"] == "registry" and state["al_model_source"] == "registry"
    other = open_model_file(_onnx_linear(np.ones((2, 2)), np.zeros(2)), "other.onnx")
    assert own_model.hold(state, other)
    assert state[KEPT_KEY]["pv_model_source"] == "file" and state["al_model_source"] == "file"


def test_the_privacy_page_attacks_the_file_with_what_it_releases(tree_file):
    split, tree, own = tree_file
    app = _page("privacy", own)
    app.radio(key="pv_model_source").set_value("file").run()
    assert not app.exception, app.exception
    shown = {m.label: m.value for m in app.metric}
    train = np.mean(tree.predict(split.X_train) == split.y_train)
    test = np.mean(tree.predict(split.X_test) == split.y_test)
    assert (train, test) == (1.0, 0.925)  # the gap attack's advantage is the file's own gap: 0.075
    assert shown["Training accuracy"] == f"{train:.3f}" and shown["Test accuracy"] == f"{test:.3f}"
    assert shown["Membership advantage"] == f"{train - test:.3f}"
    assert app.selectbox(key="pv_defence").options == ["None"]
    (unavailable,) = [e for e in app.expander if e.label.startswith("Unavailable here")]
    listed = " ".join(m.value for m in unavailable.markdown)
    assert "- **Likelihood-ratio attack (LiRA)** trains models the way the target was trained" in listed
    assert "**Shadow models (ART)**" in listed and "**Loss attack (ART black box)**" in listed
    assert "Gap attack" not in listed
    assert not app.button  # no comparisons: they retrain the model

    app.selectbox(key="pv_attack").set_value("membership_lira").run()
    assert any("LiRA) is unavailable here" in i.value for i in app.info) and not app.metric
