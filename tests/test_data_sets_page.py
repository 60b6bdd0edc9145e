"""The Data Sets page in AppTest: built-in data, CSV uploads (AppTest drives st.file_uploader), the URL."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from streamlit.testing.v1 import AppTest

from qulab.app import state as dc
from qulab.data.datasets import DATASETS

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "src" / "qulab" / "app" / "pages" / "data_sets.py"


def run_page(query: dict | None = None) -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.query_params.update(query or {})
    app.run()
    assert not app.exception, app.exception
    return app


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def iris_csv() -> bytes:
    bunch = load_iris()
    frame = pd.DataFrame(bunch.data, columns=[c.replace(" (cm)", "") for c in bunch.feature_names])
    frame["note"] = "flower"  # a text column: ignored, with its reason
    frame["species"] = np.asarray(bunch.target_names)[bunch.target]
    return frame.to_csv(index=False).encode()


ONE_CLASS_CSV = b"a,b,label\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n"
TINY_CLASS_CSV = b"a,b,label\n1,2,x\n3,4,x\n5,6,x\n7,8,y\n"  # class 'y' has one row


def upload(app: AppTest, name: str, data: bytes) -> AppTest:
    app.file_uploader(key="ds_file").upload(name, data, "text/csv").run()
    assert not app.exception, app.exception
    return app


def test_every_builtin_data_set_shows_its_row_count():
    expected = {"breast_cancer": load_breast_cancer().data.shape[0], "wine": load_wine().data.shape[0],
                "iris": load_iris().data.shape[0], "digits": load_digits().data.shape[0]}
    for spec in DATASETS:  # the generators' row count is their n_samples default
        if spec.name not in expected:
            expected[spec.name] = next(p.default for p in spec.params if p.name == "n_samples")
    assert set(expected) == set(DATASETS.names())
    app = run_page()
    for name in DATASETS.names():
        app.selectbox(key="ds_name").set_value(name).run()
        assert not app.exception, (name, app.exception)
        assert metric(app, "Rows") == f"{expected[name]:,}", name
        assert app.query_params["data"] == name
        assert app.session_state[dc.CHOICE_KEY].name == name
        assert len(app.get("plotly_chart")) == (3 if name == "digits" else 2), name
        assert not app.error


def test_query_params_set_the_view_and_bad_values_fall_back_with_an_error_sentence():
    app = run_page({"data": "moons", "noise": "0.3", "scaling": "minmax"})
    assert app.selectbox(key="ds_name").value == "moons"
    assert app.slider(key="ds_moons_noise").value == pytest.approx(0.3)
    assert app.selectbox(key="ds_scaling").value == "minmax"
    assert not app.warning
    app.slider(key="ds_moons_noise").set_value(0.5).run()
    assert app.query_params == {"data": "moons", "noise": "0.5", "scaling": "minmax"}

    app = run_page({"data": "moons", "noise": "5", "n_samples": "lots"})
    errors = " ".join(e.value for e in app.error)
    assert len(app.error) == 2 and "Two moons (toy): noise must be between 0.0 and 1.0, not 5" in errors
    assert "Two moons (toy): n_samples must be an integer, not 'lots'" in errors
    assert app.slider(key="ds_moons_noise").value == pytest.approx(0.2)
    assert metric(app, "Rows") == "500"


def test_good_csv_upload_becomes_the_choice_and_survives_switching_source():
    app = run_page()
    app.radio(key="ds_source").set_value("upload").run()
    assert "at most 20 MB" in app.markdown[1].value
    assert any("Missing values" in c.value for c in app.caption)
    upload(app, "iris.csv", iris_csv())
    assert metric(app, "Rows") == "150" and metric(app, "Classes") == "3" and metric(app, "Features") == "4"
    target = next(s for s in app.selectbox if s.label.startswith("Target column"))
    assert target.value == "species"
    ignored = app.dataframe[0].value
    assert list(ignored["column"]) == ["note"] and "not numeric" in ignored["reason"][0]
    choice = app.session_state[dc.CHOICE_KEY]
    assert choice.name.startswith("upload:") and dict(choice.params) == {"target": "species"}
    assert "data" not in app.query_params  # an upload cannot be carried by a link

    app.radio(key="ds_source").set_value("builtin").run()
    assert app.session_state[dc.CHOICE_KEY].name == "synthetic" and metric(app, "Rows") == "1,000"
    app.radio(key="ds_source").set_value("upload").run()
    assert app.session_state[dc.CHOICE_KEY] == choice and metric(app, "Rows") == "150"


@pytest.mark.parametrize(("data", "message"), [(ONE_CLASS_CSV, "only one class"),
                                               (TINY_CLASS_CSV, "fewer than 2 usable rows"),
                                               (b"\x89PNG\r\n\x1a\n....", "PNG image")])
def test_bad_csv_upload_shows_the_loaders_error_and_keeps_the_previous_choice(data, message):
    app = run_page()
    app.radio(key="ds_source").set_value("upload").run()
    upload(app, "bad.csv", data)
    assert len(app.error) == 1 and message in app.error[0].value
    (kept,) = [info.value for info in app.info if "keep using" in info.value]  # the model section's info follows
    assert "Synthetic" in kept
    assert app.session_state[dc.CHOICE_KEY].name == "synthetic"
    assert not app.metric


def test_choice_and_upload_survive_page_switches():
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    app.switch_page("src/qulab/app/pages/data_sets.py").run()
    app.radio(key="ds_source").set_value("upload").run()
    upload(app, "iris.csv", iris_csv())
    choice = app.session_state[dc.CHOICE_KEY]
    app.switch_page("src/qulab/app/pages/data_overview.py").run()
    assert app.session_state[dc.CHOICE_KEY] == choice
    app.switch_page("src/qulab/app/pages/data_sets.py").run()
    assert not app.exception
    assert app.radio(key="ds_source").value == "upload" and metric(app, "Rows") == "150"
    assert any("uploaded earlier" in c.value for c in app.caption)
    app.radio(key="ds_source").set_value("builtin").run()
    app.selectbox(key="ds_name").set_value("wine").run()
    app.switch_page("src/qulab/app/pages/data_overview.py").run()
    app.switch_page("src/qulab/app/pages/data_sets.py").run()
    assert app.selectbox(key="ds_name").value == "wine" and metric(app, "Rows") == "178"


def test_data_too_small_to_split_shows_an_error_until_the_test_size_allows_it():
    app = run_page()
    app.radio(key="ds_source").set_value("upload").run()
    upload(app, "small.csv", b"a,b,label\n1,2,x\n3,4,x\n5,6,y\n7,8,y\n")
    assert len(app.error) == 1 and "3 for training and 1 for testing" in app.error[0].value
    assert app.session_state[dc.CHOICE_KEY].name == "synthetic"
    app.slider(key="ds_test_size").set_value(0.5).run()
    assert not app.exception and not app.error
    assert metric(app, "Training / test rows") == "2 / 2"
    assert app.session_state[dc.CHOICE_KEY].name.startswith("upload:")


def test_raw_units_name_the_narrowest_and_the_widest_feature_span():
    """Unscaled wine: its features' training ranges differ by orders of magnitude (hue under 2, proline over
    1000); the sentence gives both widths as such, not as one range "span a to b"."""
    from qulab.core.experiment import Scenario
    from qulab.core.wording import number_text
    from qulab.evaluation.pipeline import prepare_split

    app = run_page({"data": "wine", "scaling": "none"})
    split = prepare_split(Scenario(dataset="wine", scaling="none"))
    spans = split.X_train.max(axis=0) - split.X_train.min(axis=0)
    text = next(info.value for info in app.info if "What eps" in info.value)
    assert (f"the narrowest feature spans {number_text(spans.min())} and the widest {number_text(spans.max())}"
            in text)
    assert "ranges span" not in text
