"""Each page runs in Streamlit's AppTest without exception and reacts to its widgets."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qulab.core.experiment import Scenario
from qulab.data.datasets import make_overview_frame
from qulab.evaluation.pipeline import evaluate

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "src" / "qulab" / "app" / "pages"


def run_page(name: str) -> AppTest:
    app = AppTest.from_file(str(PAGES / name), default_timeout=120).run()
    assert not app.exception, app.exception
    return app


def test_router_shows_the_sidebar_title_and_runs_the_default_page():
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not app.exception
    assert app.sidebar.title[0].value == "QuLab"
    assert app.title[0].value == "Data Overview"


def test_data_overview_shows_the_table_and_two_charts():
    app = run_page("data_overview.py")
    assert app.title[0].value == "Data Overview"
    table = app.dataframe[0].value
    assert list(table.columns) == ["X", "Y", "Category", "Time"]
    assert table.equals(make_overview_frame().head(10))
    assert len(app.get("plotly_chart")) == 2
    assert "Next: the **Attack Demo** page" in app.caption[-1].value  # the pointer closes the page


def test_attack_demo_names_its_model_in_running_text():
    intro = run_page("attack_demo.py").markdown[0].value
    assert intro.startswith("A **logistic regression** is trained")


@pytest.mark.parametrize("eps", [0.05, 0.5])
def test_attack_demo_slider_changes_adversarial_accuracy(eps):
    app = run_page("attack_demo.py")
    slider = app.slider(key="eps")
    assert slider.label == "Epsilon" and (slider.min, slider.max) == (0.0, 0.5)
    before = app.metric[1].value
    slider.set_value(eps).run()
    assert not app.exception
    expected = evaluate(Scenario(eps=eps)).adversarial_accuracy
    assert app.metric[1].value == f"{expected:.3f}" != before
    assert app.metric[0].value == f"{evaluate(Scenario(eps=eps)).clean_accuracy:.3f}"
    assert len(app.get("plotly_chart")) == 1
