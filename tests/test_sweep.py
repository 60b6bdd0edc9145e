"""`qulab sweep` on Dask: cell by cell the numbers of `qulab evaluate`; a stopped sweep restarted computes only the
missing cells; a real scheduler and two workers as separate processes; failed cells recorded, the sweep goes on.

One 2-worker LocalCluster serves the module (Dask takes seconds to start on busy cores); the sweeps reach it
through ``--scheduler``, as they would a real cluster.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qulab import cli
from qulab.core.experiment import Scenario, freeze
from qulab.core.registry import InvalidInput
from qulab.evaluation.pipeline import evaluate
from qulab.store import RunStore
from qulab.store.sweep import flag_argv, parse_sweep

SRC = str(Path(__file__).resolve().parents[1] / "src")
DASK = str(Path(sys.executable).parent / "dask")
N_SAMPLES = 120  # 24 test points per data set: each cell takes a fraction of a second

GRID = f"""
[grid]
data = ["moons", "circles"]
model = ["logistic_regression", "linear_svm"]
attack = ["fgm", "pgd"]
eps = [0.05, 0.1, 0.2]
[fixed]
data-param = ["n_samples={N_SAMPLES}"]
seed = 3
"""
TIMINGS = {"seconds", "fit_seconds", "attack_seconds"}


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
            Client(local) as client:
        # Each worker imports QuLab and ART once for the module, with a cell of its own.
        client.run(cli.cell_result, "evaluate", ["--data", "moons", "--data-param", f"n_samples={N_SAMPLES}",
                                                 "--eps", "0.1"])
        yield local.scheduler_address


def _sweep(capsys, path: Path, *flags: str, said: str = "") -> dict:
    assert cli.main(["sweep", str(path), *flags, "--json"]) == 0
    captured = capsys.readouterr()
    assert said in captured.err
    return json.loads(captured.out)


def _library(flags: dict) -> dict:
    """`qulab evaluate`'s numbers for a cell, from the library directly."""
    scenario = Scenario(dataset=flags["data"], model=flags["model"], attack=flags["attack"], eps=flags["eps"],
                        seed=flags["seed"], dataset_params=freeze({"n_samples": N_SAMPLES}))
    return evaluate(scenario).summary()


def test_the_sweep_gives_evaluates_numbers_cell_by_cell(cluster, tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text(GRID)
    summary = _sweep(capsys, path, "--scheduler", cluster)
    assert (summary["cells"], summary["computed"], summary["skipped"], summary["failed"]) == (24, 24, 0, 0)
    cells = summary["results"]
    assert [(c["flags"]["data"], c["flags"]["model"], c["flags"]["attack"], c["flags"]["eps"]) for c in cells][:4] \
        == [("moons", "logistic_regression", "fgm", e) for e in (0.05, 0.1, 0.2)] + [
            ("moons", "logistic_regression", "pgd", 0.05)]
    for cell in cells:
        expected = _library(cell["flags"])
        got = cell["result"]
        assert {k: got[k] for k in expected if k != "seconds"} == {k: v for k, v in expected.items() if k != "seconds"}
    assert len({c["result"]["adversarial_accuracy"] for c in cells}) > 3  # the grid is not degenerate
    # And one cell against the CLI itself, in a store of its own (so it is computed, not looked up).
    flags = cells[-1]["flags"]
    assert cli.main(["evaluate", *flag_argv(flags), "--store", str(tmp_path / "other.sqlite3"), "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in alone.items() if k not in TIMINGS} == \
        {k: v for k, v in cells[-1]["result"].items() if k not in TIMINGS}
    # Every cell is in the store, under the id the sweep reported.
    store = RunStore()
    assert {run.id for run in store.list()} == {c["id"] for c in cells}
    assert all(store.get(c["id"]).results == c["result"] for c in cells)


def test_a_stopped_sweep_restarted_computes_only_the_missing_cells(cluster, tmp_path, capsys):
    path, store_path = tmp_path / "sweep.toml", tmp_path / "runs.sqlite3"
    path.write_text(GRID)
    env = {**os.environ, "PYTHONPATH": SRC}
    first = subprocess.Popen([sys.executable, "-m", "qulab.cli", "sweep", str(path), "--scheduler", cluster,
                              "--store", str(store_path)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            if store_path.exists() and len(RunStore(store_path)) >= 4:
                break
            time.sleep(0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    stored = len(RunStore(store_path))
    assert 4 <= stored < 24, "the first sweep was to be stopped halfway"
    # Restarted on a fresh local cluster of its own (the default), it computes exactly the rest.
    summary = _sweep(capsys, path, "--store", str(store_path), "--workers", "1",
                     said=f"{24 - stored} to compute on a local cluster; Dask dashboard: http://")
    assert (summary["computed"], summary["skipped"], summary["failed"]) == (24 - stored, stored, 0)
    assert len(RunStore(store_path)) == 24
    again = _sweep(capsys, path, "--store", str(store_path), "--scheduler", cluster)
    assert (again["computed"], again["skipped"]) == (0, 24)
    assert [c["result"] for c in again["results"]] == [c["result"] for c in summary["results"]]


def test_failed_cells_are_recorded_and_the_sweep_goes_on(cluster, tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text(f"""
[grid]
model = ["logistic_regression", "decision_tree"]
attack = ["fgm", "decision_tree"]
[fixed]
data = "moons"
data-param = ["n_samples={N_SAMPLES}"]
eps = 0.1
""")
    summary = _sweep(capsys, path, "--scheduler", cluster)
    by_cell = {(c["flags"]["model"], c["flags"]["attack"]): c for c in summary["results"]}
    assert (summary["cells"], summary["computed"], summary["failed"]) == (4, 2, 2)
    refused = by_cell[("decision_tree", "fgm")]  # a tree gives no gradients: refused in words, stored as failed
    assert refused["status"] == "failed" and "gradient" in refused["error"] and refused["result"] is None
    assert RunStore().get(refused["id"]).error == refused["error"]
    assert by_cell[("decision_tree", "decision_tree")]["status"] == "computed"
    # A cell failing on its worker (its file is gone) is recorded too, and the other cell still computes.
    good = tmp_path / "points.csv"
    good.write_text("a,b,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(60)))
    path.write_text(f"""
[grid]
data = ["csv:{good}", "csv:{tmp_path / 'gone.csv'}"]
[fixed]
target = "label"
eps = 0.5
""")
    summary = _sweep(capsys, path, "--scheduler", cluster)
    (ok, gone) = summary["results"]
    assert (summary["computed"], summary["failed"]) == (1, 1)
    assert ok["status"] == "computed" and ok["result"]["n_test"] == 12
    assert gone["status"] == "failed" and "gone.csv" in gone["error"] and "Traceback" not in gone["error"]
    # A rerun tries the failed cells again and skips the computed ones.
    again = _sweep(capsys, path, "--scheduler", cluster)
    assert (again["skipped"], again["failed"]) == (1, 1)


@pytest.mark.parametrize("text, fragment", [
    ("[grid]\n", "no [grid]"),
    ("[grid]\neps = 0.1\n", "non-empty list"),
    ("[grid]\neps = [0.1]\n[fixed]\neps = 0.2\n", "both [grid] and [fixed]"),
    ("command = 'train'\n[grid]\neps = [0.1]\n", "command must be one of"),
    ("[grid]\njson = [true]\n", "sets --json itself"),
    ("[grid\n", "not valid TOML"),
])
def test_a_bad_sweep_file_is_refused_in_one_sentence(text, fragment):
    with pytest.raises(InvalidInput, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_sweep(text)


def test_cells_are_the_grids_product_in_file_order_with_the_fixed_flags():
    sweep = parse_sweep("command = 'curve'\n[grid]\nmodel = ['a', 'b']\nseed = [1, 2, 3]\n"
                        "[fixed]\neps = '0,0.1'\nmodel_param = ['C=1', 'x=2']\n")
    cells = sweep.cells()
    assert sweep.command == "curve" and len(cells) == 6
    assert [(c["model"], c["seed"]) for c in cells] == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("b", 3)]
    assert flag_argv(cells[0]) == ["--eps", "0,0.1", "--model-param", "C=1", "--model-param", "x=2", "--model", "a",
                                   "--seed", "1"]


def test_an_unknown_flag_value_refuses_the_whole_sweep(tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text("[grid]\nmodel = ['logistic_regression', 'no_such_model']\n[fixed]\neps = 0.1\n")
    assert cli.main(["sweep", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qulab: error: cell 2 (--eps 0.1 --model no_such_model): ") and err.count("\n") == 1
    assert RunStore().list() == []


@pytest.mark.parametrize("table", ["[fixed]\ntimeout = 5\n", "[grid]\ntimeout = [5, 10]\n"])
def test_a_timeout_in_a_sweep_file_is_refused_not_ignored(tmp_path, capsys, table):
    path = tmp_path / "sweep.toml"
    path.write_text("[grid]\neps = [0.1]\n" + table if table.startswith("[fixed]") else table)
    assert cli.main(["sweep", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qulab: error: {path} gives timeout, which a sweep cannot keep: ") and err.count("\n") == 1
    assert RunStore().list() == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_sweep_through_a_real_scheduler_and_two_worker_processes(tmp_path, capsys):
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": SRC}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], **quiet)]
    try:
        processes += [subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-dashboard",
                                        "--name", f"qulab-test-{i}"], **quiet) for i in range(2)]
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            workers = client.scheduler_info()["workers"]
        assert sorted(w["name"] for w in workers.values()) == ["qulab-test-0", "qulab-test-1"]
        path = tmp_path / "sweep.toml"
        path.write_text(f"""
[grid]
attack = ["fgm", "pgd"]
eps = [0.1, 0.3]
[fixed]
data = "moons"
data-param = ["n_samples={N_SAMPLES}"]
seed = 5
""")
        summary = _sweep(capsys, path, "--scheduler", address)
        assert (summary["cells"], summary["computed"], summary["failed"]) == (4, 4, 0)
        for cell in summary["results"]:
            expected = _library({**cell["flags"], "model": "logistic_regression"})
            assert cell["result"]["adversarial_accuracy"] == expected["adversarial_accuracy"]
            assert cell["result"]["clean_accuracy"] == expected["clean_accuracy"]
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_poison_sweep_gives_the_commands_numbers_and_stores_poisoning_runs(cluster, tmp_path, capsys):
    """A command plugged into the CLI's RESULTS / EXPERIMENTS hooks sweeps like evaluate: `qulab poison` here."""
    path = tmp_path / "poison.toml"
    path.write_text(f'command = "poison"\n[grid]\nrate = [0.1, 0.3]\n[fixed]\ndata = "moons"\n'
                    f'data-param = ["n_samples={N_SAMPLES}"]\n')
    summary = _sweep(capsys, path, "--scheduler", cluster)
    assert (summary["cells"], summary["computed"], summary["failed"]) == (2, 2, 0)
    for cell in summary["results"]:
        other = str(tmp_path / "other.sqlite3")  # a store of its own: computed, not looked up
        assert cli.main(["poison", *flag_argv(cell["flags"]), "--store", other, "--json"]) == 0
        alone = json.loads(capsys.readouterr().out)
        assert alone["rate"] == cell["flags"]["rate"]
        assert {k: v for k, v in alone.items() if k != "seconds"} == \
            {k: v for k, v in cell["result"].items() if k != "seconds"}
        assert RunStore().get(cell["id"]).kind == "poisoning"
    assert _sweep(capsys, path, "--scheduler", cluster)["skipped"] == 2
