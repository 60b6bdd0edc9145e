"""`--timeout SECONDS` on evaluate, curve, poison and privacy: the work runs in a child process that is killed at the
deadline (with whatever it started), one line and exit 2, nothing in the run store; a generous budget changes no
number, and without the flag no child process is started."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import pickle
import time

import bounded_work
import numpy as np
import psutil
import pytest

from qulab import cli
from qulab.core.bounded import WorkStopped, run_bounded
from qulab.core.registry import InvalidInput
from qulab.store import RunStore

# HopSkipJump with 200 boundary walks of 10,000 queries per point: minutes of work, stopped after one second.
LONG_EVALUATE = ["evaluate", "--data", "iris", "--attack", "hop_skip_jump", "--norm", "2", "--eps", "0.5",
                 "--param", "max_iter=200", "--param", "max_eval=10000"]
QUICK = {"evaluate": ["evaluate", "--data", "iris", "--attack", "fgm", "--eps", "0.2"],
         "curve": ["curve", "--data", "iris", "--attack", "fgm", "--eps", "0,0.1,0.2"],
         "poison": ["poison", "--data", "iris", "--rate", "0.2"],
         "privacy": ["privacy", "--data", "iris"]}


@pytest.fixture
def new_processes():
    """This process's descendants started since the test began (others' leftovers and multiprocessing's resource
    tracker, kept for the life of the process, aside)."""
    def descendants() -> set[int]:
        return {process.pid for process in psutil.Process().children(recursive=True)
                if "resource_tracker" not in " ".join(process.cmdline())}

    before = descendants()
    return lambda: descendants() - before


def _numbers(result: dict) -> dict:
    """A result without its wall-clock timings."""
    return {key: value for key, value in result.items() if "seconds" not in key}


def test_a_long_attack_is_stopped_in_one_line_and_nothing_is_saved(capsys, tmp_path, new_processes) -> None:
    store = tmp_path / "runs.sqlite3"
    started = time.monotonic()
    assert cli.main([*LONG_EVALUATE, "--timeout", "1", "--store", str(store), "--json"]) == 2
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("qulab: error: qulab evaluate stopped after 1 s (--timeout); try a smaller --param "
                           "max_iter") and line.endswith("Nothing was saved.")
    assert RunStore(store).list() == []
    assert elapsed < 30, f"the deadline did not stop the work ({elapsed:.0f} s)"
    assert new_processes() == set()  # the child and all it started are gone


@pytest.mark.parametrize("command", ["curve", "poison", "privacy"])
def test_every_computing_command_stops_at_its_deadline(command, capsys, tmp_path, new_processes) -> None:
    store = ["--store", str(tmp_path / "runs.sqlite3")] if command == "curve" else []
    argv = {"curve": ["curve", "--data", "iris", "--attack", "pgd", "--eps-max", "1", "--steps", "1001"]}.get(
        command, QUICK[command])
    assert cli.main([*argv, *store, "--timeout", "0.2"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"qulab: error: qulab {command} stopped after 0.2 s (--timeout); ")
    if store:
        assert RunStore(store[1]).list() == []
    assert new_processes() == set()


def test_a_generous_budget_gives_the_same_numbers_and_no_budget_no_child(capsys, tmp_path, monkeypatch) -> None:
    store = ["--store", str(tmp_path / "plain.sqlite3")]
    with monkeypatch.context() as patch:  # without --timeout the work runs here: no process is started
        patch.setattr(multiprocessing, "get_context", lambda *_: pytest.fail("a child process without --timeout"))
        assert cli.main([*QUICK["evaluate"], *store, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    store = ["--store", str(tmp_path / "bounded.sqlite3")]
    assert cli.main([*QUICK["evaluate"], *store, "--json", "--timeout", "300"]) == 0
    bounded = json.loads(capsys.readouterr().out)
    assert _numbers(bounded) == _numbers(plain) and bounded["adversarial_accuracy"] < bounded["clean_accuracy"]
    (run,) = RunStore(store[1]).list()  # a run that finished in time is saved like any other
    assert run.results == bounded


def test_the_child_gets_the_flags_as_given_without_the_opened_model_file() -> None:
    opened = argparse.Namespace(model="logistic_regression", model_file="own.skops", opened_model_file=os, eps=0.3)
    assert vars(pickle.loads(pickle.dumps(cli._picklable(opened)))) == {"model": None, "model_file": "own.skops",
                                                                         "eps": 0.3}
    named = argparse.Namespace(model="svm", model_file=None, eps=0.3)
    assert cli._picklable(named) == named


@pytest.mark.slow  # opening a model file costs some 10 s of CPU; the fast tier checks the flags the child gets
def test_a_model_file_is_opened_again_in_the_child(capsys, tmp_path) -> None:
    """The opened --model-file (and the model name filled in beside it) stays here; the child opens the file itself
    and gives FGM's closed form for a logistic regression: a point flips when its margin is at most eps·‖w‖₁."""
    import skops.io as sio
    from own_files import CLASSES, TEST, TRAIN, csv_bytes, own_arrays
    from sklearn.linear_model import LogisticRegression

    for name, rows in (("train.csv", TRAIN), ("test.csv", TEST)):
        (tmp_path / name).write_bytes(csv_bytes(rows))
    X, y = own_arrays()
    logistic = LogisticRegression().fit(X[TRAIN], np.array(CLASSES)[y[TRAIN]])
    sio.dump(logistic, tmp_path / "own.skops")
    argv = ["evaluate", "--data", f"csv:{tmp_path / 'train.csv'}", "--test-data", f"csv:{tmp_path / 'test.csv'}",
            "--target", "label", "--model-file", str(tmp_path / "own.skops"), "--eps", "0.3", "--json",
            "--store", str(tmp_path / "runs.sqlite3"), "--timeout", "300"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    w, b = logistic.coef_[0], logistic.intercept_[0]
    margin = (2 * y[TEST] - 1) * (X[TEST] @ w + b)
    assert result["adversarial_accuracy"] == pytest.approx(np.mean(margin > 0.3 * np.abs(w).sum()), abs=1e-12)
    assert result["adversarial_accuracy"] < result["clean_accuracy"] == pytest.approx(np.mean(margin > 0))


@pytest.mark.parametrize("command", list(QUICK))
@pytest.mark.parametrize(("value", "words"), [("0", "positive"), ("-3", "positive"), ("nan", "positive"),
                                              ("inf", "positive"), ("soon", "number of seconds"),
                                              ("1e9", "at most 604800")])
def test_bad_timeouts_are_refused_at_the_edge(command, value, words, capsys) -> None:
    assert cli.main([*QUICK[command], "--timeout", value]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("qulab: error: argument --timeout: ") and words in line


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_deadline_kills_the_child_and_what_it_started(tmp_path) -> None:
    pid_file = tmp_path / "pids"
    # 10 s: a spawned child on a busy machine needs a few seconds to start Python and its sleeper.
    with pytest.raises(WorkStopped, match=r"^sleeping stopped after 10 s \(--timeout\); sleep less, or give"):
        run_bounded(bounded_work.start_sleeper_and_wait, (str(pid_file),), 10, "sleeping", "sleep less")
    assert pid_file.exists(), "the child did not start its sleeper within the deadline"
    child, sleeper = map(int, pid_file.read_text().split())
    for pid in (child, sleeper):  # SIGKILL to the group is delivered asynchronously: allow it a moment to land
        deadline = time.monotonic() + 5
        while _alive(pid):
            assert time.monotonic() < deadline, f"process {pid} outlived the deadline"
            time.sleep(0.05)


def test_the_childs_answer_and_errors_come_back_as_they_were() -> None:
    answer = run_bounded(bounded_work.answer, (7,), 60, "answering", "")
    assert answer["value"] == 7 and answer["pid"] != os.getpid()
    assert run_bounded(bounded_work.answer, (7,), None, "answering", "")["pid"] == os.getpid()
    with pytest.raises(InvalidInput, match="^no such column 'x'$") as refused:
        run_bounded(bounded_work.refuse, ("no such column 'x'",), 60, "refusing", "")
    assert "in refuse" in str(refused.value.__cause__)  # the child's traceback, as the cause
