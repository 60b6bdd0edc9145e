"""The CLI refuses a bad experiment with one sentence and exit code 2 before it loads any data (issue 11, point 7)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qulab import cli
from qulab.core.experiment import MAX_EPS
from qulab.threats.evasion.attacks import ATTACKS

SRC = str(Path(__file__).resolve().parents[1] / "src")

REFUSALS = [
    (["evaluate", "--seed", "-1", "--eps", "0.1"],
     "The seed must be a whole number from 0 to 4294967295, not -1."),
    (["evaluate", "--seed", str(2**32), "--eps", "0.1"], "not 4294967296."),
    (["evaluate", "--eps", "0.1", "--attack", "pgd", "--param", "step_fraction=nan"],
     "step_fraction must be a finite number, not nan"),
    (["evaluate", "--eps", "0.1", "--attack", "pgd", "--param", "step_fraction=inf"],
     "step_fraction must be a finite number, not inf"),
    (["evaluate", "--eps", "0.1", "--model-param", "C=nan"], "C must be a finite number, not nan"),
    (["evaluate", "--eps", "0.1", "--data", "moons", "--data-param", "noise=nan"], "noise must be a finite number"),
    (["evaluate", "--eps", "1e9"], f"The budget eps must be at most {MAX_EPS['inf']:g} in the L∞ norm, not 1e+09."),
    (["evaluate", "--eps", "0.1", "--attack", "bim", "--norm", "2"],
     "Basic Iterative Method works in the L∞ norm only, not L2; use --norm inf."),
    (["evaluate", "--eps", "0.1", "--data", "nope"], "unknown data set 'nope'; choose from synthetic"),
    (["evaluate", "--eps", "0.1", "--defense-param", "sigma=0.2"], "--defense-param needs --defense NAME"),
    (["evaluate", "--eps", "0.1", "--defense", "gaussian_noise", "--defense-param", "sigma=nan"],
     "sigma must be a finite number, not nan"),
    (["curve", "--eps-max", "0.5", "--steps", "100000000"], "a curve has at most 1001 steps, not 100000000"),
    (["curve", "--eps", ",".join(["0.1"] * 1002)], "a curve has at most 1001 budgets, not 1002"),
    (["curve", "--eps-max", "1e9", "--steps", "3"], "eps must be at most"),
]


@pytest.mark.parametrize(("argv", "sentence"), REFUSALS, ids=[" ".join(a)[:60] for a, _ in REFUSALS])
def test_refused_before_any_data_is_loaded(monkeypatch, capsys, argv, sentence):
    import qulab.data.datasets as datasets

    def must_not_load(*_args, **_kwargs):
        raise AssertionError("data was loaded for a refused experiment")

    monkeypatch.setattr(datasets, "load_dataset", must_not_load)
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("qulab: error: ") and sentence in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err and captured.out == ""


@pytest.mark.parametrize("attack", [a.name for a in ATTACKS if len(a.norms) < 3])
def test_every_norm_an_attack_lacks_is_refused_with_the_norms_it_has(capsys, attack):
    spec = ATTACKS.get(attack)
    missing = next(n for n in ("inf", "2", "1") if n not in spec.norms)
    assert cli.main(["evaluate", "--eps", "0.1", "--attack", attack, "--norm", missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qulab: error: {spec.label} works in the ")
    assert err.rstrip().endswith(f"use --norm {' or --norm '.join(spec.norms)}.")


def test_the_issues_commands_exit_2_without_traceback_as_processes():
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for argv in (["evaluate", "--seed", "-1", "--eps", "0.1"],
                 ["evaluate", "--eps", "0.1", "--attack", "pgd", "--param", "step_fraction=nan"],
                 ["curve", "--eps-max", "0.5", "--steps", "100000000"]):
        done = subprocess.run([sys.executable, "-m", "qulab.cli", *argv], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 2 and done.stdout == "", argv
        assert done.stderr.startswith("qulab: error: ") and done.stderr.count("\n") == 1, done.stderr
