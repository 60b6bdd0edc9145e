"""The `qulab` command that computes a run again: built from the run's experiment, so a report says how to get
its numbers from a terminal."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from qulab.core.experiment import MODEL_FILE_PREFIX, Scenario

CSV_PREFIX = "csv:"
UPLOAD_PREFIX = "upload:"
# A model file is named by its content ("file:<digest>"), which the CLI cannot open: the command asks for the file
# by this placeholder, since neither the app nor the store keeps the path it came from.
MODEL_FILE_PLACEHOLDER = "PATH_TO_YOUR_FILE"
# Experiment fields and the flag each is given with (parameters follow their entry's flag, one K=V each).
_FLAGS = (("dataset", "--data"), ("model", "--model"), ("attack", "--attack"), ("norm", "--norm"),
          ("seed", "--seed"), ("test_size", "--test-size"), ("scaling", "--scaling"), ("defence", "--defense"))
_PARAM_FLAGS = {"dataset_params": "--data-param", "model_params": "--model-param", "attack_params": "--param",
                "defence_params": "--defense-param"}
# What the store adds to a CLI run's experiment besides the scenario: the flags they come from (None: a check of
# the files' content, which the command cannot carry but the same files give).
_EXTRAS = {"eps_grid": "--eps", "clip": "--clip", "test_data": "--test-data", "data_sha256": None,
           "test_data_sha256": None}
_SCENARIO_FIELDS = frozenset(f.name for f in fields(Scenario))
# The command of each kind of run that is not an evasion one (no budget, no norm), and its own fields and extras.
_COMMANDS = {"poisoning": "poison", "privacy": "privacy"}
_THREAT_FIELDS = frozenset({"rate", "target_class", "rates", "target_class_given"})


@dataclass(frozen=True)
class Reproduction:
    """The command's words and, when it cannot give the run's numbers exactly, the sentence that says why."""

    argv: tuple[str, ...] | None
    caveat: str = ""

    @property
    def shell(self) -> str:
        return shlex.join(self.argv) if self.argv else ""


def flag_value(value: Any) -> str:
    """A value as the CLI parses it back to the same value: floats in their shortest exact form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _numbers(values: Any) -> str:
    return ",".join(flag_value(float(v)) for v in values)


def reproduce(run: Any) -> Reproduction:
    """`qulab evaluate …` (one budget), `qulab curve …` (a run with an ``eps_grid``), `qulab poison …` or
    `qulab privacy …` (by the run's kind) with every field of the experiment spelled out, defaults included, so
    the command does not depend on today's defaults. A model file is asked for as ``--model-file
    PATH_TO_YOUR_FILE``, with a caveat naming its digest: runs keep the file's content name, not its path."""
    experiment: Mapping[str, Any] = run.experiment or {}
    dataset = str(experiment.get("dataset", ""))
    model_file = str(experiment.get("model", "")).startswith(MODEL_FILE_PREFIX)
    threat = _COMMANDS.get(getattr(run, "kind", None))
    if dataset.startswith(UPLOAD_PREFIX):
        return Reproduction(None, "The data was a file uploaded to the app; save it as a CSV and pass "
                                  "--data csv:PATH --target COLUMN" + (" --model-file PATH" if model_file else "")
                                  + " to compute this run from the command line.")
    if model_file and threat == "privacy" and not experiment.get("test_data"):
        return Reproduction(None, "The command line takes a model file's members and non-members as two CSV files "
                                  "(--data csv:MEMBERS --test-data csv:NON_MEMBERS --model-file PATH), and this run "
                                  "split one data set into them, so it has no command.")
    grid = experiment.get("eps_grid")
    argv = ["qulab", threat or ("curve" if grid is not None else "evaluate")]
    for name, flag in _FLAGS:
        value = experiment.get(name)
        if value is None:
            continue
        if name == "model" and model_file:
            argv += ["--model-file", MODEL_FILE_PLACEHOLDER]
        else:
            argv += [flag, flag_value(value)]
        params = dict(experiment.get(f"{name}_params") or {})
        if name == "dataset" and dataset.startswith(CSV_PREFIX) and "target" in params:
            argv += ["--target", flag_value(params.pop("target"))]
        for key, param in sorted(params.items()):
            argv += [_PARAM_FLAGS[f"{name}_params"], f"{key}={flag_value(param)}"]
        if name == "attack" and threat == "poison":  # the rate and the class aimed at go with the attack
            rates = experiment.get("rates")
            argv += ["--rates", _numbers(rates)] if rates is not None else ["--rate", flag_value(experiment["rate"])]
            target = experiment.get("target_class")
            target = experiment.get("target_class_given") if target is None else target
            argv += ["--target-class", str(target)] if target is not None else []
        elif name == "attack" and threat is None:  # the budget goes with the attack
            argv += ["--eps", _numbers(grid) if grid is not None else flag_value(float(experiment.get("eps", 0.0)))]
    if experiment.get("clip") is not None:
        argv += ["--clip", _numbers(experiment["clip"])]
    caveats = []
    if model_file:
        digest = str(experiment["model"]).removeprefix(MODEL_FILE_PREFIX)
        caveats.append(f"Replace {MODEL_FILE_PLACEHOLDER} with the path of your model file (the one whose SHA-256 "
                       f"begins {digest}); QuLab does not keep where it came from.")
    test_data = experiment.get("test_data")
    if test_data and str(test_data).startswith(CSV_PREFIX):
        argv += ["--test-data", str(test_data)]
    elif test_data:
        caveats.append("The test set was a file uploaded to the app; add --test-data csv:PATH with that file.")
    if experiment.get("test_points"):
        caveats.append(f"The app attacked a sample of {experiment['test_points']} test points; the command attacks "
                       "the whole test set, so its numbers may differ a little.")
    unknown = sorted(set(experiment) - _SCENARIO_FIELDS - set(_EXTRAS) - {"test_points"}
                     - (_THREAT_FIELDS if threat else frozenset()))
    if unknown:
        caveats.append(f"The command line has no flag for this run's {', '.join(unknown)}; the command computes the "
                       "closest experiment it can name, whose numbers may differ.")
    return Reproduction((*argv, "--json"), " ".join(caveats))
