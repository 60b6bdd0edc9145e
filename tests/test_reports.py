"""Reports on stored runs: the command a report prints computes the same numbers, the tables download as the
values they show, and the HTML file carries everything it needs (no network)."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from qulab.cli import main
from qulab.core.experiment import Scenario, freeze
from qulab.core.registry import InvalidInput
from qulab.evaluation.curves import attack_curve
from qulab.evaluation.pipeline import evaluate, fit_model, prepare_split
from qulab.figures.runs import build_runs_accuracy_figure, build_runs_curve_figure
from qulab.reports import Table, curve_table, report_html, reproduce, results_table, runs_table
from qulab.reports.tables import curve_of
from qulab.store import RunStore, run_for

SRC = Path(__file__).resolve().parents[1] / "src"
# A small experiment with a model and an attack parameter away from their defaults, so the command must carry them.
SCENARIO = Scenario(dataset="moons", model="logistic_regression", attack="pgd", eps=0.15, seed=7,
                    model_params=freeze({"C": 0.5}), attack_params=freeze({"max_iter": 5}))
GRID = [0.0, 0.1, 0.25]


FLAGS = ["--data", "moons", "--attack", "pgd", "--seed", "7", "--model-param", "C=0.5", "--param", "max_iter=5"]
TIMINGS = ("seconds", "fit_seconds", "attack_seconds")


@pytest.fixture(scope="module")
def stored_runs(tmp_path_factory):
    """An evaluate and a curve run as the CLI saves them."""
    store = RunStore(tmp_path_factory.mktemp("cli") / "runs.sqlite3")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["evaluate", *FLAGS, "--eps", "0.15", "--store", str(store.path), "--json"]) == 0
        assert main(["curve", *FLAGS, "--eps", ",".join(map(str, GRID)), "--store", str(store.path), "--json"]) == 0
    curve, point = store.list()  # newest first
    return point, curve


@pytest.fixture(scope="module")
def point_run(stored_runs):
    return stored_runs[0]


@pytest.fixture(scope="module")
def curve_run(stored_runs):
    return stored_runs[1]


def test_the_stored_runs_hold_the_librarys_numbers(point_run, curve_run):
    """The runs the report is about, checked against the library called directly."""
    expected = evaluate(SCENARIO).summary()
    assert point_run.experiment["eps"] == 0.15 and point_run.experiment["model_params"]["C"] == 0.5
    for key in ("clean_accuracy", "adversarial_accuracy", "flipped", "n_test"):
        assert point_run.results[key] == expected[key], key
    split = prepare_split(SCENARIO)
    curve = attack_curve(SCENARIO, split, fit_model(SCENARIO, split), np.array(GRID))
    assert curve_run.results["adversarial_accuracy"] == list(curve.accuracy)
    assert curve_run.experiment["eps_grid"] == GRID


def _shell(command: str, store: Path) -> dict:
    """The command exactly as a report prints it, through a shell, with `qulab` on the PATH and an empty store."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(SRC),
           "QULAB_STORE": str(store)}
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_reported_command_gives_the_runs_numbers(point_run, curve_run, tmp_path):
    command = reproduce(point_run)
    assert command.argv[:2] == ("qulab", "evaluate") and not command.caveat
    assert "--model-param C=0.5" in command.shell and "--param max_iter=5" in command.shell
    got = _shell(command.shell, tmp_path / "a.sqlite3")
    assert {k: v for k, v in got.items() if k not in TIMINGS} == {
        k: v for k, v in point_run.results.items() if k not in TIMINGS}

    command = reproduce(curve_run)
    assert command.argv[:2] == ("qulab", "curve") and "--eps 0.0,0.1,0.25" in command.shell
    got = _shell(command.shell, tmp_path / "b.sqlite3")
    assert got["eps"] == GRID
    assert {k: v for k, v in got.items() if k not in TIMINGS} == {
        k: v for k, v in curve_run.results.items() if k not in TIMINGS}


def test_a_command_spells_out_csv_data_clip_and_defence_and_says_what_it_cannot_carry():
    scenario = Scenario(dataset="csv:data/my file.csv", dataset_params=freeze({"target": "label"}),
                        defence="gaussian_noise", defence_params=freeze({"sigma": 0.2}))
    run = run_for(scenario, {}, extra={"clip": [0.0, 1.0], "data_sha256": "ab" * 32}, kind="defence")
    command = reproduce(run)
    words = list(command.argv)
    assert words[words.index("--data") + 1] == "csv:data/my file.csv"
    assert words[words.index("--target") + 1] == "label"
    assert words[words.index("--defense") + 1] == "gaussian_noise"
    assert words[words.index("--defense-param") + 1] == "sigma=0.2"
    assert words[words.index("--clip") + 1] == "0.0,1.0"
    assert "'csv:data/my file.csv'" in command.shell  # quoted for the shell
    assert not command.caveat

    sampled = run_for(SCENARIO, {}, extra={"test_points": 50})
    assert "sample of 50 test points" in reproduce(sampled).caveat
    unknown = run_for(SCENARIO, {}, extra={"warm_start": True})
    assert "no flag for this run's warm_start" in reproduce(unknown).caveat
    page_test_set = run_for(SCENARIO, {}, extra={"test_data": "upload:77aa"})
    assert "--test-data" not in reproduce(page_test_set).argv and "uploaded" in reproduce(page_test_set).caveat
    uploaded = run_for(Scenario(dataset="upload:0123abcd"), {})
    assert reproduce(uploaded).argv is None and "--data csv:PATH" in reproduce(uploaded).caveat


def test_tables_download_as_the_values_they_hold(point_run, curve_run):
    table = runs_table([point_run, curve_run])
    assert [r["id"] for r in table.records()] == [point_run.id, curve_run.id]
    first, second = table.records()
    assert first["adversarial accuracy"] == point_run.results["adversarial_accuracy"]
    assert second["adversarial accuracy"] == curve_run.results["adversarial_accuracy"][-1]  # at the largest budget
    assert (first["eps"], second["eps"]) == (0.15, 0.25)
    rows = list(csv.DictReader(io.StringIO(table.to_csv())))
    assert [float(r["clean accuracy"]) for r in rows] == [first["clean accuracy"], second["clean accuracy"]]
    assert rows[0]["defence"] == ""  # None as an empty cell
    assert json.loads(table.to_json()) == table.records()

    curve = curve_table(curve_run)
    assert curve.columns == ("eps", "adversarial_accuracy", "exact_accuracy")  # the linear model's exact curve too
    for column in curve.columns:
        assert [r[column] for r in curve.records()] == curve_run.results[column]
    assert curve_table(point_run) is None
    numbers = results_table(point_run).rows
    assert [name for name, _ in numbers[:4]] == ["clean_accuracy", "adversarial_accuracy", "attack_success_rate",
                                                "n_test"]  # the key numbers first
    shown = dict(numbers)
    assert shown["flipped"] == point_run.results["flipped"] and "notes" not in shown  # lists are not numbers
    assert not {"data", "model", "eps", "seed", "clip", "seconds"} & set(shown)  # in the experiment or timings


def test_runs_figures_plot_each_runs_numbers(point_run, curve_run):
    curves = build_runs_curve_figure([point_run, curve_run])
    point, line, exact = curves.data
    assert list(exact.y) == curve_run.results["exact_accuracy"] and exact.line.dash == "dash"
    assert list(point.x) == [0.0, 0.15] and point.mode == "markers"
    assert list(point.y) == [point_run.results["clean_accuracy"], point_run.results["adversarial_accuracy"]]
    assert list(line.x) == GRID and list(line.y) == curve_run.results["adversarial_accuracy"]
    assert point.name.endswith(f"[{point_run.id[:6]}]")
    bars = build_runs_accuracy_figure([point_run, curve_run])
    assert list(bars.data[1].x) == [point_run.results["adversarial_accuracy"],
                                    curve_run.results["adversarial_accuracy"][-1]]


def test_the_report_is_one_file_with_plotly_inline_and_every_table_as_csv_and_json(point_run, curve_run):
    text = report_html([point_run, curve_run], title="Two <runs>")
    assert "<h1>Two &lt;runs&gt;</h1>" in text
    assert len(re.findall(r"plotly\.js v\d", text)) == 1  # the library once, inline
    assert not re.search(r"""<script[^>]+src=|<link[^>]+href=["']?https?:""", text)  # nothing fetched
    assert text.count('class="plotly-graph-div"') == 2
    assert reproduce(point_run).shell in text and reproduce(curve_run).shell in text
    assert f"seed {SCENARIO.seed}" in text and point_run.versions["numpy"] in text
    downloads = re.findall(r'download="([^"]+)" href="data:([^;]+);charset=utf-8;base64,([^"]+)"', text)
    by_name = {name: base64.b64decode(payload).decode() for name, _, payload in downloads}
    # runs, then per run experiment, numbers, versions (and the curve for the curve run): each as CSV and JSON
    assert len(by_name) == 2 * (1 + 3 + 3 + 1)
    assert by_name["runs.csv"] == runs_table([point_run, curve_run]).to_csv()
    assert json.loads(by_name[f"curve-{curve_run.id[:12]}.json"]) == curve_table(curve_run).records()


def test_qulab_report_writes_the_stored_runs(point_run, curve_run, tmp_path, capsys):
    store = RunStore(tmp_path / "runs.sqlite3")
    store.put(point_run)
    store.put(curve_run)
    out = tmp_path / "report.html"
    assert main(["report", point_run.id[:8], curve_run.id, "--store", str(store.path), "-o", str(out)]) == 0
    assert "2 runs" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8").count('<section class="run"') == 2
    assert main(["report", curve_run.id[:8], "--store", str(store.path), "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")  # to stdout, nothing else there

    assert main(["report", "ffff", "--store", str(store.path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("qulab: error:") and "ffff" in error and error.count("\n") == 1


def test_a_frame_becomes_a_table_of_plain_values_that_reads_back():
    frame = pd.DataFrame({"feature": ["a", "b"], "mean": [0.1, np.nan], "count": np.array([3, 4], dtype=np.int64)})
    table = Table.from_frame("summary", "Summary", frame)
    assert table.rows == (("a", 0.1, 3), ("b", None, 4))
    assert all(type(v) in (str, float, int, type(None)) for row in table.rows for v in row)
    back = pd.read_csv(io.StringIO(table.to_csv()))
    pd.testing.assert_frame_equal(back, frame)
    assert json.loads(table.to_json())[1] == {"feature": "b", "mean": None, "count": 4}


@pytest.mark.parametrize(("page", "expected"), [("data_sets.py", {"ds_features_csv", "ds_features_json"}),
                                               ("robustness.py", {"rb_gaps_csv", "rb_gaps_json", "rb_report"})])
def test_result_tables_on_the_lab_pages_download_as_csv_and_json(page, expected):
    app = AppTest.from_file(str(SRC / "qulab" / "app" / "pages" / page), default_timeout=180).run()
    if any(button.key == "rb_run" for button in app.button):  # a loaded machine: the page asks before computing
        app.button(key="rb_run").click().run()
    assert not app.exception, app.exception
    assert expected <= {button.key for button in app.get("download_button")}


def test_a_failed_run_reports_its_error_without_figures_and_no_runs_is_refused():
    failed = run_for(SCENARIO, {}, error="PGD needs loss gradients, which this model cannot give.")
    text = report_html([failed])
    assert "This run failed: PGD needs loss gradients" in text
    assert "plotly-graph-div" not in text and "plotly.js v" not in text  # nothing to draw, no library carried
    assert runs_table([failed]).records()[0]["error"] == failed.error
    with pytest.raises(InvalidInput, match="at least one run"):
        report_html([])


def test_a_defence_run_draws_its_defended_and_undefended_curves_and_its_command_gives_its_numbers(tmp_path,
                                                                                                  capsys):
    flags = ["--data", "moons", "--data-param", "n_samples=120", "--eps", "0.2", "--defense", "gaussian_noise"]
    assert main(["evaluate", *flags, "--store", str(tmp_path / "a.sqlite3"), "--json"]) == 0
    capsys.readouterr()
    (run,) = RunStore(tmp_path / "a.sqlite3").list()
    results = run.results
    assert curve_of(run) == (results["eps_grid"], results["curve_defended"])
    assert runs_table([run]).records()[0]["eps"] == 0.2  # its own budget, not its curve's largest
    defended, undefended = build_runs_curve_figure([run]).data
    assert list(defended.y) == results["curve_defended"] and list(undefended.y) == results["curve_undefended"]
    assert "+ gaussian_noise eps=0.2" in defended.name and undefended.line.dash == "dot"
    columns = curve_table(run).columns
    assert columns[0] == "eps" and {"curve_defended", "curve_undefended"} <= set(columns)

    command = reproduce(run)
    assert command.argv[:2] == ("qulab", "evaluate") and "--defense-param sigma=0.1" in command.shell
    assert main([*command.argv[1:], "--store", str(tmp_path / "b.sqlite3")]) == 0  # computed afresh
    again = json.loads(capsys.readouterr().out)
    timings = ("seconds", "fit_seconds_undefended", "fit_seconds_defended")
    assert {k: v for k, v in again.items() if k not in timings} == {
        k: v for k, v in results.items() if k not in timings}
