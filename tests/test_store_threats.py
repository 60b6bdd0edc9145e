"""`qulab poison` / `qulab privacy` save their runs (kinds "poisoning" / "privacy") through the CLI's RESULTS /
EXPERIMENTS hooks: the same experiment is answered from the store, not computed again; the pages' values name the
same runs; the Runs page lists such runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qulab import cli
from qulab.core.experiment import freeze
from qulab.core.wording import accuracy_text
from qulab.store import RunStore, run_for
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.privacy.command import NOT_SUMMARY
from qulab.threats.privacy.experiment import PrivacyScenario

POISON = ["poison", "--data", "moons", "--data-param", "n_samples=120", "--rate", "0.2"]
PRIVACY = ["privacy", "--data", "iris"]
PAGES = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages"
RUNS_PAGE = PAGES / "runs.py"


def _json(capsys, argv):
    assert cli.main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def _not_again(args):
    raise AssertionError("the stored experiment was computed again")


@pytest.mark.parametrize(("argv", "kind", "other"), [
    (POISON, "poisoning", ["--rate", "0.3"]),
    (PRIVACY, "privacy", ["--seed", "7"]),
])
def test_the_command_saves_its_run_and_answers_the_same_experiment_from_the_store(capsys, monkeypatch, argv, kind,
                                                                                  other):
    first, err = _json(capsys, argv)
    assert "run store" not in err
    (run,) = RunStore().list()
    assert run.kind == kind and run.results == first and run.timings["seconds"] == first["seconds"]
    assert run.experiment["dataset"] == argv[2] and run.experiment["seed"] == 42

    monkeypatch.setitem(cli.RESULTS, argv[0], _not_again)
    again, err = _json(capsys, argv)
    assert again == first
    assert f"in the run store ({run.id[:12]}" in err and err.count("\n") == 1
    with pytest.raises(AssertionError, match="computed again"):  # another experiment: another id
        cli.main([*argv, *other, "--json"])
    assert len(RunStore().list()) == 1


def test_the_pages_scenario_with_every_parameter_named_is_the_clis_experiment(capsys):
    """The pages name every parameter (defaults included); the CLI only those given: one id for both."""
    _json(capsys, POISON)
    _json(capsys, PRIVACY)
    poisoning, privacy = sorted(RunStore().list(), key=lambda run: run.kind)
    assert poisoning.experiment["model_params"] == {"C": 1.0}
    assert poisoning.experiment["dataset_params"]["n_samples"] == 120
    assert len(poisoning.experiment["dataset_params"]) > 1  # the moons' other parameters, spelled out
    page_poisoning = PoisoningScenario(
        dataset="moons", dataset_params=freeze(poisoning.experiment["dataset_params"]), rate=0.2,
        model_params=freeze({"C": 1.0}), attack_params=freeze(poisoning.experiment["attack_params"]))
    assert run_for(page_poisoning, {}).id == poisoning.id
    page_privacy = PrivacyScenario(dataset="iris", model_params=freeze(privacy.experiment["model_params"]),
                                   attack_params=freeze(privacy.experiment["attack_params"]))
    assert run_for(page_privacy, {}).id == privacy.id
    assert run_for(PrivacyScenario(dataset="iris", seed=1), {}).id != privacy.id


def test_text_output_reads_the_store_alike_and_store_flag_chooses_the_file(capsys, tmp_path):
    mine = tmp_path / "mine.sqlite3"
    for argv in (PRIVACY, POISON):
        assert cli.main([*argv, "--store", str(mine)]) == 0
        computed = capsys.readouterr()
        assert cli.main([*argv, "--store", str(mine)]) == 0
        stored = capsys.readouterr()
        assert stored.out == computed.out and "run store" in stored.err and "run store" not in computed.err
    assert RunStore().list() == [] and {run.kind for run in RunStore(mine).list()} == {"poisoning", "privacy"}
    privacy = next(run for run in RunStore(mine).list() if run.kind == "privacy")
    summary = [key for key in privacy.results if key not in NOT_SUMMARY]
    assert summary  # the attack's own numbers, one line each in the text output
    assert cli.main([*PRIVACY, "--store", str(mine)]) == 0
    text = capsys.readouterr().out
    assert all(f"{key}: {json.dumps(privacy.results[key], sort_keys=True)}\n" in text for key in summary)
    assert f"test accuracy {privacy.results['test_accuracy']:.4f}" in text


def test_the_runs_page_lists_poisoning_and_privacy_runs(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite3"
    monkeypatch.setenv("QULAB_STORE", str(path))
    store = RunStore(path)
    poisoning = run_for(PoisoningScenario(dataset="moons", rate=0.2),
                        {"clean_accuracy": 0.9, "poisoned_accuracy": 0.7, "rate": 0.2, "seconds": 0.5})
    privacy = run_for(PrivacyScenario(dataset="iris"),
                      {"train_accuracy": 1.0, "test_accuracy": 0.93, "advantage": 0.12, "seconds": 0.2})
    store.put(poisoning)
    store.put(privacy)
    app = AppTest.from_file(str(RUNS_PAGE), default_timeout=60).run()
    assert not app.exception, app.exception
    frame = app.dataframe[0].value.set_index("kind")
    assert set(frame.index) == {"poisoning", "privacy"}
    assert frame.loc["poisoning", "data"] == "moons" and frame.loc["poisoning", "clean accuracy"] == 0.9
    assert frame.loc["privacy", "data"] == "iris" and frame.loc["privacy", "model"] == "decision_tree"
    # Each kind shows its own key numbers; the privacy run has no evasion columns to fill.
    assert frame.loc["poisoning", "poisoned accuracy"] == 0.7 and frame.loc["privacy", "membership advantage"] == 0.12
    assert frame.isna().loc["privacy", ["eps", "norm", "clean accuracy", "poisoned accuracy"]].all()
    assert "adversarial accuracy" not in frame.columns
    # Both chosen: compared side by side, without a crash.
    app.multiselect(key="runs_chosen").set_value([poisoning.id, privacy.id]).run()
    assert not app.exception, app.exception
    comparison = app.dataframe[1].value.set_index("field")
    assert comparison.loc["dataset"].tolist()[:2] == ["moons", "iris"] or \
        comparison.loc["dataset"].tolist()[:2] == ["iris", "moons"]


def test_the_privacy_page_saves_its_run_and_the_cli_answers_it_from_the_store(capsys, monkeypatch):
    from qulab.app import state as dc

    app = AppTest.from_file(str(PAGES / "privacy.py"), default_timeout=240)
    app.session_state[dc.CHOICE_KEY] = dc.builtin_choice("iris", scaling="minmax", test_size=0.5)
    app.session_state["pv_model"] = "decision_tree"
    app.run()
    assert not app.exception, app.exception
    (run,) = RunStore().list()
    assert run.kind == "privacy" and run.experiment["attack"] == "membership_gap"
    monkeypatch.setitem(cli.RESULTS, "privacy", _not_again)
    answered, err = _json(capsys, PRIVACY)  # the CLI's defaults are this page's choices
    assert "run store" in err and answered == run.results
    # The first AUC is the run's (a comparison drawn earlier in this process may add its own AUCs below it).
    assert next(m.value for m in app.metric if m.label == "AUC") == accuracy_text(answered["auc"])


def test_the_poisoning_page_saves_its_run_and_the_cli_answers_it_from_the_store(capsys, monkeypatch):
    from qulab.app import state as dc

    app = AppTest.from_file(str(PAGES / "poisoning.py"), default_timeout=180)
    app.session_state[dc.CHOICE_KEY] = dc.builtin_choice("moons", {"n_samples": 120})
    app.run()
    assert not app.exception, app.exception
    (run,) = RunStore().list()
    made = run.experiment
    assert run.kind == "poisoning" and made["dataset_params"]["n_samples"] == 120
    monkeypatch.setitem(cli.RESULTS, "poison", _not_again)
    answered, err = _json(capsys, [
        "poison", "--data", "moons", "--data-param", "n_samples=120", "--scaling", made["scaling"], "--test-size",
        str(made["test_size"]), "--seed", str(made["seed"]), "--model", made["model"], "--attack", made["attack"],
        "--rate", str(made["rate"])])
    assert "run store" in err and answered == run.results
    assert {m.label: m.value for m in app.metric}["Clean model's accuracy"] == accuracy_text(answered["clean_accuracy"])


@pytest.mark.parametrize("command", ["poison", "privacy"])
def test_a_csv_files_content_is_part_of_the_experiment(tmp_path, capsys, command):
    path = tmp_path / "points.csv"
    path.write_text("a,b,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(80)))
    argv = [command, "--data", f"csv:{path}", "--target", "label", "--model", "decision_tree"]
    _json(capsys, argv)
    _, err = _json(capsys, argv)
    assert "run store" in err  # the same file: answered from the store
    path.write_text("a,b,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{(i // 3) % 2}\n" for i in range(80)))
    _, err = _json(capsys, argv)
    assert "run store" not in err  # changed file: computed again
    runs = RunStore().list()
    assert len(runs) == 2 and len({run.experiment["data_sha256"] for run in runs}) == 2


@pytest.mark.parametrize("argv", [
    [*POISON[:-2], "--rates", "0.1,0.3", "--attack", "backdoor", "--target-class", "1", "--defense", "knn_cleaning"],
    [*PRIVACY, "--model", "logistic_regression", "--defense", "top1_label"],
])
def test_a_reports_command_computes_the_run_again(capsys, tmp_path, argv):
    """The report's `qulab poison …` / `qulab privacy …` line (not `qulab evaluate`), run in another store, gives
    the run's numbers."""
    from qulab.reports import reproduce

    first, _ = _json(capsys, argv)
    (run,) = RunStore().list()
    command = reproduce(run)
    assert command.argv[:2] == ("qulab", argv[0]) and "--eps" not in command.argv and not command.caveat
    again, err = _json(capsys, [*command.argv[1:-1], "--store", str(tmp_path / "other.sqlite3")])
    assert "run store" not in err
    assert {k: v for k, v in again.items() if "seconds" not in k} == \
        {k: v for k, v in first.items() if "seconds" not in k}
