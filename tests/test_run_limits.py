"""The session's time budget in AppTest: the sidebar's Run limits (default, range, kept across pages), and a page
whose run goes over the budget says so in one sentence, with no traceback, and saves nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qulab.app import running, warm_up
from qulab.store import RunStore
from qulab.threats.poisoning import run as poisoning_run
from qulab.threats.poisoning.attacks import POISONING_ATTACKS

ROOT = Path(__file__).resolve().parents[1]
POISONING = ROOT / "src" / "qulab" / "app" / "pages" / "poisoning.py"
WAIT = 120  # seconds: only a hung test waits this long


def test_run_limits_in_the_sidebar_default_range_and_kept_across_pages():
    warm_up.start().join()
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    assert not app.exception, app.exception
    assert any(e.label == "Run limits" for e in app.sidebar.expander)
    budget = app.sidebar.number_input(key=running.BUDGET_KEY)
    assert budget.value == running.DEFAULT_BUDGET == 300
    assert (budget.min, budget.max) == (5, 3600)
    assert "Stop button" in budget.help and "5 to 3600" in budget.help
    budget.set_value(60).run()
    assert app.session_state[running.BUDGET_KEY] == 60
    app.switch_page("src/qulab/app/pages/runs.py").run()
    assert not app.exception, app.exception
    assert app.sidebar.number_input(key=running.BUDGET_KEY).value == 60


class Endless:
    """Poisoning that reports progress and never finishes by itself; it notes how it ended."""

    def __init__(self) -> None:
        self.ended_with: BaseException | None = None
        self.ended = threading.Event()

    def __call__(self, scenario, data=None, *, split=None, clean_model=None, progress=None):
        try:
            while True:
                progress(0.5, "Poisoning the training set…")
                self.ended.wait(0.05)
        except BaseException as error:
            self.ended_with = error
            raise
        finally:
            self.ended.set()


def test_a_run_over_the_budget_says_so_and_saves_nothing(monkeypatch):
    app = AppTest.from_file(str(POISONING), default_timeout=180).run()  # within the budget: the run is saved
    assert not app.exception, app.exception
    assert [run.kind for run in RunStore().list()] == ["poisoning"]

    label = POISONING_ATTACKS.get(app.selectbox(key="po_attack").value).label
    endless = Endless()
    monkeypatch.setattr(poisoning_run, "run_poisoning", endless)
    app = AppTest.from_file(str(POISONING), default_timeout=180)
    app.session_state[running.BUDGET_KEY] = running.MIN_BUDGET
    app.session_state["po_rate"] = 0.3  # another experiment than the one saved above
    app.run()
    assert not app.exception, app.exception
    (message,) = [e.value for e in app.error]
    assert message.startswith(f"{label} at rate 0.3 stopped after 5 s (this session's time budget); ")
    assert message.endswith("or raise the budget under **Run limits** in the sidebar. Nothing was saved.")
    assert not app.metric  # no result shown
    assert endless.ended.wait(WAIT) and isinstance(endless.ended_with, running.OverBudget)
    assert len(RunStore().list()) == 1  # only the run of the first page


def test_a_stopped_run_stays_stopped_until_run_again(monkeypatch):
    """What the page shows after Stop (the browser test presses it mid-run): the sentence and Run again, nothing
    computed or saved; Run again computes and saves the run."""
    app = AppTest.from_file(str(POISONING), default_timeout=180)
    app.session_state[running.HOLD_KEY] = {"po_run": running.Hold(7.2)}
    app.run()
    assert not app.exception, app.exception
    stopped = "You stopped this run after 7 s. Nothing was saved."
    assert [i.value for i in app.info] == [stopped]
    assert not app.metric and RunStore().list() == []
    app.button(key="po_run_again").click().run()
    assert not app.exception, app.exception
    assert stopped not in [i.value for i in app.info] and app.metric
    assert [run.kind for run in RunStore().list()] == ["poisoning"]


def test_a_stop_holds_only_its_own_settings():
    """Stopped on other settings (the user stopped a run, then changed something): what the page shows now was
    never stopped, so it runs, and the old hold is let go."""
    app = AppTest.from_file(str(POISONING), default_timeout=180)
    app.session_state[running.HOLD_KEY] = {"po_run": running.Hold(7.2, experiment="the settings stopped before")}
    app.run()
    assert not app.exception, app.exception
    assert not [i.value for i in app.info if i.value.startswith("You stopped this run")]
    assert app.metric and [run.kind for run in RunStore().list()] == ["poisoning"]
    assert "po_run" not in app.session_state[running.HOLD_KEY]


@pytest.mark.parametrize(("page", "key", "ask"), [
    ("defences.py", "def_run", "def_run"),
    ("poisoning.py", "po_curve", "po_curve_run"),
    ("privacy.py", "pv_regularised", "pv_button_regularised"),
])
def test_a_stopped_run_that_waits_for_its_button_says_so_instead_and_run_again_runs_it(page, key, ask):
    """Run again means run: past the page's button, once; the hold is gone after."""
    app = AppTest.from_file(str(POISONING.parent / page), default_timeout=300)
    app.session_state[running.HOLD_KEY] = {key: running.Hold(3.4)}
    app.run()
    assert not app.exception, app.exception
    stopped = "You stopped this run after 3 s. Nothing was saved."
    assert stopped in [i.value for i in app.info]
    assert ask not in [b.key for b in app.button]
    charts = len(app.get("plotly_chart"))
    app.button(key=f"{key}_again").click().run()
    assert not app.exception, app.exception
    assert stopped not in [i.value for i in app.info] and ask not in [b.key for b in app.button]
    assert len(app.get("plotly_chart")) > charts  # the run's figures
    assert key not in app.session_state[running.HOLD_KEY]
