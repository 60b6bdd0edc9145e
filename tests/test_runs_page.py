"""The Runs page in AppTest: it lists the store's runs, filters, compares, and deletes only after a confirmation."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qulab.app.downloads import stored_report
from qulab.cli import main
from qulab.core.experiment import Scenario
from qulab.reports import reproduce
from qulab.store import RunStore, run_for

PAGE = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "runs.py"


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    """A store of three runs (made oldest first), the page's own through QULAB_STORE."""
    path = tmp_path / "runs.sqlite3"
    monkeypatch.setenv("QULAB_STORE", str(path))
    store = RunStore(path)
    made = [
        run_for(Scenario(dataset="moons", attack="fgm", eps=0.1),
                {"clean_accuracy": 0.85, "adversarial_accuracy": 0.7, "n_test": 100}),
        run_for(Scenario(dataset="iris", attack="pgd", eps=0.2),
                {"clean_accuracy": 0.9, "adversarial_accuracy": 0.5, "n_test": 30}),
        run_for(Scenario(dataset="moons", attack="pgd", eps=0.3),
                {"clean_accuracy": 0.85, "eps": [0.0, 0.15, 0.3], "adversarial_accuracy": [0.85, 0.6, 0.4],
                 "n_test": 100}, extra={"eps_grid": [0.0, 0.15, 0.3]}),
    ]
    for i, run in enumerate(made):  # distinct times, so "newest first" has one order
        store.put(type(run)(**{**run.to_dict(), "created": f"2026-12-0{i + 1}T10:00:00.000+00:00"}))
    return store


def open_runs() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not app.exception, app.exception
    return app


def test_lists_filters_and_compares_the_stored_runs(store):
    stored = store.list()  # newest first
    app = open_runs()
    listed = app.dataframe[0].value
    assert list(listed["id"]) == [run.id[:12] for run in stored]
    assert list(listed["adversarial accuracy"]) == [0.4, 0.5, 0.7]  # a curve's at its largest budget
    assert list(listed["data"]) == ["moons", "iris", "moons"]
    assert {b.label for b in app.get("download_button")} == {"CSV", "JSON"}

    app.multiselect(key="runs_filter_attack").set_value(["pgd"]).run()
    assert list(app.dataframe[0].value["attack"]) == ["pgd", "pgd"]
    app.multiselect(key="runs_filter_dataset").set_value(["moons"]).run()
    assert list(app.dataframe[0].value["id"]) == [stored[0].id[:12]]
    app.multiselect(key="runs_filter_attack").set_value([]).run()
    app.multiselect(key="runs_filter_dataset").set_value([]).run()
    assert len(app.dataframe[0].value) == 3

    curve, point = stored[0], stored[2]
    app.multiselect(key="runs_chosen").set_value([curve.id, point.id]).run()
    assert not app.exception
    side = app.dataframe[1].value.set_index("field")
    assert list(side.columns) == [curve.id[:12], point.id[:12], "differs"]
    assert side.loc["attack", curve.id[:12]] == "pgd" and side.loc["attack", point.id[:12]] == "fgm"
    assert side["differs"].all() and "dataset" not in side.index  # at first only what differs
    app.toggle(key="runs_only_differs").set_value(False).run()
    side = app.dataframe[1].value.set_index("field")
    assert bool(side.loc["attack", "differs"]) and not bool(side.loc["dataset", "differs"])
    assert side.loc["eps_grid", curve.id[:12]] == "0.0, 0.15, 0.3"
    # each run's column is text (numbers beside words gave Arrow a mixed column: 88 ArrowTypeError lines logged)
    assert all(isinstance(v, str) for column in (curve.id[:12], point.id[:12]) for v in side[column])
    figure = json.loads(app.get("plotly_chart")[0].proto.spec)
    traces = {tuple(t["x"]): t["y"] for t in figure["data"]}
    assert traces[(0.0, 0.15, 0.3)] == [0.85, 0.6, 0.4]
    assert traces[(0.0, 0.1)] == [0.85, 0.7]  # clean at 0, adversarial at the run's budget
    labels = [b.label for b in app.get("download_button")]
    assert "Report on 2 runs (HTML)" in labels and labels.count("CSV") == 2  # the list and the comparison


def test_delete_asks_first_and_cancel_keeps_the_runs(store):
    stored = store.list()
    app = open_runs()
    app.multiselect(key="runs_chosen").set_value([stored[1].id, stored[2].id]).run()
    app.button(key="runs_delete").click().run()
    assert "Delete 2 runs from" in app.warning[0].value
    assert len(store) == 3  # nothing gone before the confirmation
    app.button(key="runs_delete_no").click().run()
    assert len(store) == 3 and not app.warning

    app.button(key="runs_delete").click().run()
    app.button(key="runs_delete_yes").click().run()
    assert not app.exception, app.exception
    assert [run.id for run in store.list()] == [stored[0].id]
    assert app.success[0].value == "Deleted 2 runs."
    assert list(app.dataframe[0].value["id"]) == [stored[0].id[:12]]
    assert app.multiselect(key="runs_chosen").value == []


def test_an_empty_store_says_where_runs_come_from_and_a_foreign_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("QULAB_STORE", str(tmp_path / "empty.sqlite3"))
    app = open_runs()
    assert "No runs in" in app.info[0].value and "Attack Lab" in app.info[0].value

    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database, and it must stay as it is\n" * 10)
    monkeypatch.setenv("QULAB_STORE", str(foreign))
    app = open_runs()
    assert "is not a SQLite database" in app.error[0].value
    assert foreign.read_text().startswith("not a database")


def test_a_lab_result_offers_the_report_on_its_saved_run(tmp_path, monkeypatch):
    monkeypatch.setenv("QULAB_STORE", str(tmp_path / "runs.sqlite3"))
    lab = PAGE.with_name("attack_lab.py")
    app = AppTest.from_file(str(lab), default_timeout=180).run()
    assert not app.exception, app.exception
    (run,) = RunStore().list()
    (button,) = [b for b in app.get("download_button") if b.key == "al_report"]
    assert button.label == "Report (HTML)"
    report = stored_report([run.id])
    assert reproduce(run).shell in report and run.id in report
    shown = {m.label: m.value for m in app.metric}
    assert f"{run.results['adversarial_accuracy']:.3f}" == shown["Adversarial accuracy"]
    # The report's command gives the page's numbers (perturbation sizes to float32: the page rescales FGM's step).
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main([*reproduce(run).argv[1:], "--store", str(tmp_path / "cli.sqlite3")]) == 0
    again = json.loads(out.getvalue())
    for key in ("clean_accuracy", "adversarial_accuracy", "attack_success_rate", "flipped", "n_test", "eps"):
        assert again[key] == run.results[key], key
    assert again["max_l2"] == pytest.approx(run.results["max_l2"], rel=1e-6)
