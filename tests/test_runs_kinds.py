"""Runs of every kind in the list, the report and the Runs page: each kind is listed with its own key numbers
(evasion: accuracy under attack; poisoning: accuracy after poisoning; privacy: AUC, advantage…), made by the CLI
exactly as a user makes them, and checked against what the runs themselves compute."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qulab.cli import main
from qulab.figures.runs import build_runs_accuracy_figure, build_runs_privacy_figure
from qulab.reports import report_html, runs_table
from qulab.store import RunStore

PAGE = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "runs.py"


def _cli(*argv: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(list(argv)) == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """A store holding one run of each kind, made by the CLI; the CLI's answers by kind."""
    path = tmp_path_factory.mktemp("kinds") / "runs.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QULAB_STORE", str(path))
        answers = {
            "evasion": _cli("evaluate", "--data", "moons", "--attack", "fgm", "--eps", "0.2", "--json"),
            "poisoning": _cli("poison", "--data", "moons", "--model", "logistic_regression", "--attack", "label_flip",
                              "--rate", "0.3", "--json"),
            "privacy": _cli("privacy", "--data", "breast_cancer", "--model", "decision_tree",
                            "--attack", "membership_gap", "--json"),
        }
    return path, answers


def _by_kind(path: Path) -> dict[str, dict]:
    runs = RunStore(path).list()
    return {row["kind"]: row for row in runs_table(runs).records()}


def test_each_kind_is_listed_with_its_own_numbers(made):
    path, answers = made
    rows = _by_kind(path)
    assert set(rows) == {"evasion", "poisoning", "privacy"}
    evasion, poisoning, privacy = rows["evasion"], rows["poisoning"], rows["privacy"]
    assert evasion["adversarial accuracy"] == answers["evasion"]["adversarial_accuracy"]
    assert poisoning["poisoned accuracy"] == answers["poisoning"]["poisoned_accuracy"]
    assert poisoning["poisoned points"] == round(0.3 * answers["poisoning"]["n_train"])  # rate · n_train flipped
    # The gap attack's advantage is train accuracy − test accuracy (its closed form), carried to the list intact.
    assert privacy["membership advantage"] == pytest.approx(privacy["train accuracy"] - privacy["test accuracy"],
                                                            abs=1e-9)
    assert privacy["AUC"] == answers["privacy"]["auc"]
    # Each kind's columns are empty for the others; an evasion list alone has no privacy columns.
    assert evasion["AUC"] is None and privacy["adversarial accuracy"] is None
    alone = runs_table([r for r in RunStore(path).list() if r.kind == "evasion"])
    assert "AUC" not in alone.columns and "adversarial accuracy" in alone.columns


def test_figures_and_the_report_draw_every_kind(made):
    path, answers = made
    runs = RunStore(path).list()
    bars = build_runs_accuracy_figure(runs)
    under = dict(zip(bars.data[1].y, bars.data[1].x, strict=True))
    assert sorted(under.values()) == sorted([answers["evasion"]["adversarial_accuracy"],
                                             answers["poisoning"]["poisoned_accuracy"]])
    privacy = build_runs_privacy_figure(runs)
    values = {trace.name: trace.x[0] for trace in privacy.data}
    assert values == {"AUC (membership)": answers["privacy"]["auc"],
                      "membership advantage": answers["privacy"]["advantage"]}
    assert not build_runs_privacy_figure([r for r in runs if r.kind != "privacy"]).data
    assert report_html(runs).count('class="plotly-graph-div"') == 3


def test_the_runs_page_shows_each_kind(made, monkeypatch):
    path, answers = made
    monkeypatch.setenv("QULAB_STORE", str(path))
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not app.exception, app.exception
    listed = app.dataframe[0].value
    assert {"poisoned accuracy", "AUC", "membership advantage", "adversarial accuracy"} <= set(listed.columns)
    app.multiselect(key="runs_filter_kind").set_value(["privacy"]).run()
    assert list(app.dataframe[0].value["kind"]) == ["privacy"]
    chosen = RunStore(path).list()
    app.multiselect(key="runs_chosen").set_value([r.id for r in chosen if r.kind == "privacy"]).run()
    assert not app.exception, app.exception
    keys = {chart.proto.id for chart in app.get("plotly_chart")}
    assert len(keys) == 1  # the privacy bars alone: a privacy run has no accuracy-under-attack or curve to draw
    assert "privacy attack" in " ".join(c.value for c in app.caption)
