"""`qulab evaluate` / `curve` save their runs; the same experiment is answered from the store, not computed again;
`qulab runs list|show|delete`."""

from __future__ import annotations

import json
import sqlite3

import pytest

from qulab import cli
from qulab.core.experiment import Scenario, freeze
from qulab.store import RunStore, run_for

IRIS_PGD = ["--data", "iris", "--attack", "pgd", "--eps", "0.1", "--param", "max_iter=5"]


def _json(capsys, argv):
    assert cli.main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_evaluate_saves_its_run_and_answers_the_same_experiment_from_the_store(capsys, monkeypatch):
    first, err = _json(capsys, ["evaluate", *IRIS_PGD])
    assert "run store" not in err
    runs = RunStore().list()
    assert len(runs) == 1 and runs[0].results == first and runs[0].kind == "evasion"
    assert runs[0].timings == {k: first[k] for k in ("seconds", "fit_seconds", "attack_seconds")}
    # The page's scenario (every parameter named) is the same experiment: one id, whichever path saved it.
    page = Scenario(dataset="iris", model="logistic_regression", attack="pgd", eps=0.1, seed=42,
                    model_params=freeze({"C": 1.0}),
                    attack_params=freeze({**dict(runs[0].experiment["attack_params"]), "max_iter": 5}))
    assert run_for(page, {}).id == runs[0].id

    def not_again(args):
        raise AssertionError("the stored experiment was computed again")

    monkeypatch.setitem(cli.RESULTS, "evaluate", not_again)
    again, err = _json(capsys, ["evaluate", *IRIS_PGD])
    assert again == first
    assert f"in the run store ({runs[0].id[:12]}" in err and err.count("\n") == 1
    # Another budget is another experiment.
    with pytest.raises(AssertionError, match="computed again"):
        cli.main(["evaluate", *IRIS_PGD[:-4], "--eps", "0.2", "--json"])


def test_curve_is_its_own_experiment_and_text_output_reads_the_store(capsys):
    argv = ["curve", "--data", "moons", "--data-param", "n_samples=120", "--eps", "0,0.1,0.3"]
    assert cli.main(argv) == 0
    computed = capsys.readouterr()
    assert cli.main(argv) == 0
    stored = capsys.readouterr()
    assert stored.out == computed.out and "run store" in stored.err
    (run,) = RunStore().list()
    assert run.experiment["eps_grid"] == [0.0, 0.1, 0.3] and run.experiment["eps"] == 0.3
    assert run.results["adversarial_accuracy"][0] == run.results["clean_accuracy"]
    # evaluate at the largest budget is a different run
    result, _ = _json(capsys, ["evaluate", "--data", "moons", "--data-param", "n_samples=120", "--eps", "0.3"])
    assert len(RunStore().list()) == 2 and result["adversarial_accuracy"] == run.results["adversarial_accuracy"][-1]


def test_a_csv_files_content_is_part_of_the_experiment(tmp_path, capsys):
    path = tmp_path / "points.csv"
    path.write_text("a,b,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(60)))
    argv = ["evaluate", "--data", f"csv:{path}", "--target", "label", "--eps", "0.5"]
    _json(capsys, argv)
    path.write_text("a,b,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{(i // 3) % 2}\n" for i in range(60)))
    _, err = _json(capsys, argv)
    assert "run store" not in err  # changed file: computed again
    runs = RunStore().list()
    assert len(runs) == 2 and len({run.experiment["data_sha256"] for run in runs}) == 2


def test_runs_list_show_delete(capsys, tmp_path):
    store = str(tmp_path / "mine.sqlite3")
    a, _ = _json(capsys, ["evaluate", "--data", "iris", "--eps", "0.1", "--store", store])
    _json(capsys, ["evaluate", "--data", "moons", "--data-param", "n_samples=120", "--eps", "0.1", "--store", store])
    listed, _ = _json(capsys, ["runs", "list", "--store", store])
    assert [run["experiment"]["dataset"] for run in listed] == ["moons", "iris"]
    only, _ = _json(capsys, ["runs", "list", "--data", "iris", "--store", store])
    assert [run["results"] for run in only] == [a]
    shown, _ = _json(capsys, ["runs", "show", only[0]["id"][:10], "--store", store])
    assert shown == only[0] and set(shown["versions"]) == {"qulab", "art", "sklearn", "numpy", "torch"}
    assert cli.main(["runs", "list", "--store", store]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith(only[0]["id"][:12]) and "adversarial" in lines[1]
    deleted, _ = _json(capsys, ["runs", "delete", only[0]["id"][:10], "--store", store])
    assert deleted == {"deleted": [only[0]["id"]]}
    assert [run.experiment["dataset"] for run in RunStore(store).list()] == ["moons"]
    assert RunStore().list() == []  # --store kept them out of the default store
    assert cli.main(["runs", "show", "abc", "--store", store]) == 2
    assert capsys.readouterr().err.startswith("qulab: error: No run in ")


def test_a_foreign_store_is_refused_in_one_line_and_left_alone(tmp_path, capsys):
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE accounts (owner TEXT)")
    db.close()
    before = path.read_bytes()
    assert cli.main(["evaluate", "--data", "iris", "--eps", "0.1", "--store", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qulab: error: The run store ") and "another program's" in err and err.count("\n") == 1
    assert path.read_bytes() == before
