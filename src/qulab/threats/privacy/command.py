"""`qulab privacy`: one privacy attack on one model, as the Privacy page runs it.

    qulab privacy --data D [--test-data csv:…] [--target T] --model M --attack NAME [--param k=v …]
                  [--defense NAME [--defense-param k=v …]] [--seed S] [--json]
    qulab privacy --data csv:TRAIN --test-data csv:HELD_OUT --model-file PATH.skops|PATH.onnx --attack NAME …

Choices come from the registries; ``--json`` prints :meth:`PrivacyOutcome.to_json`, with ``model_file`` and
``threat_model`` for a model file. A model file is attacked as it is: its members are the ``--data`` rows (the ones
it was trained on, as the user says) and its non-members the ``--test-data`` rows, so both are needed; attacks that
train models like the target and mitigations are refused for it. Bad input is refused by the caller
(:mod:`qulab.cli`) in one line with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import time
from types import ModuleType
from typing import Any

from qulab.core.bounded import add_timeout_option
from qulab.core.experiment import freeze
from qulab.models.registry import MODELS
from qulab.threats.privacy.attacks import PRIVACY_ATTACKS
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.mitigations import PRIVACY_DEFENCES

# The keys of `--json` around the attack's own summary (which the text output lists).
NOT_SUMMARY = {"data", "model", "attack", "defence", "seed", "train_accuracy", "test_accuracy", "epsilon", "delta",
               "advantage_bound", "fit_seconds", "attack_seconds", "seconds", "model_file", "threat_model"}
DEFAULT_MODEL = "decision_tree"


def add_parser(commands: Any) -> None:
    """The ``privacy`` subcommand on the CLI's subparsers."""
    from qulab.data.datasets import DATASETS, SCALINGS

    parser = commands.add_parser("privacy", help="membership inference and other privacy attacks, with mitigations")
    parser.add_argument("--data", default="breast_cancer", metavar="DATA",
                        help=f"built-in data set ({', '.join(DATASETS.names())}) or csv:PATH (default: breast_cancer)")
    parser.add_argument("--target", metavar="COL", help="class column of csv data (default: proposed from the file)")
    parser.add_argument("--test-data", metavar="csv:PATH", help="explicit non-member/test set (same columns); "
                                                                  "required with --model-file")
    parser.add_argument("--data-param", action="append", default=[], metavar="K=V", help="data-set parameter")
    parser.add_argument("--scaling", choices=SCALINGS,
                        help="feature scaling (default: minmax; none with --model-file, which takes the file's units)")
    parser.add_argument("--test-size", type=float, default=0.5, metavar="F",
                        help="non-member share of the rows (default 0.5: as many non-members as members)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", choices=MODELS.names(), metavar="M",
                        help=f"one of {', '.join(MODELS.names())} (default: {DEFAULT_MODEL})")
    parser.add_argument("--model-file", metavar="PATH",
                        help="your own fitted model instead of --model (.skops or .onnx), attacked as it is: the "
                             "--data rows are its members, the --test-data rows its non-members")
    parser.add_argument("--model-param", action="append", default=[], metavar="K=V", help="model parameter")
    parser.add_argument("--attack", default="membership_gap", choices=PRIVACY_ATTACKS.names(), metavar="NAME",
                        help=f"one of {', '.join(PRIVACY_ATTACKS.names())} (default: membership_gap)")
    parser.add_argument("--param", action="append", default=[], metavar="K=V", help="attack parameter")
    parser.add_argument("--defense", "--defence", dest="defence", choices=PRIVACY_DEFENCES.names(), metavar="NAME",
                        help=f"mitigation: {', '.join(PRIVACY_DEFENCES.names())}")
    parser.add_argument("--defense-param", "--defence-param", dest="defence_param", action="append", default=[],
                        metavar="K=V", help="mitigation parameter")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_timeout_option(parser)


def scenario_from(args: argparse.Namespace, cli: ModuleType,
                  check: bool = True) -> tuple[PrivacyScenario, str | None]:
    """The validated scenario the flags name (unvalidated without ``check``: a sweep records what the registries
    refuse as a failed cell), and the csv class column (when the data is a file). ``cli`` is the CLI module, whose
    flag helpers and UsageError this shares (passed in: under ``python -m qulab.cli`` it is ``__main__``, and a
    second import would raise a UsageError of another class)."""
    UsageError, _data_params, _parse_params = cli.UsageError, cli._data_params, cli._parse_params  # noqa: N806

    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size must be between 0 and 1, not {args.test_size}")
    if args.model_file is not None and args.test_data is None:
        raise UsageError("--model-file needs --test-data csv:PATH: the --data rows are the members the model was "
                         "trained on, and the non-members must be rows it never saw")
    if args.model_file is not None and args.defence is not None:
        raise UsageError("--defense does not apply to a --model-file: a mitigation retrains or hardens a model QuLab "
                         "trains, and a file is attacked as it is")
    model_file = cli._model_file(args)
    attack, model = PRIVACY_ATTACKS.get(args.attack), MODELS.get(args.model or DEFAULT_MODEL)
    if args.defence_param and not args.defence:
        raise UsageError("--defense-param needs --defense NAME")
    defence_params = (_parse_params(PRIVACY_DEFENCES.get(args.defence).params, args.defence_param, args.defence,
                                    "--defense-param") if args.defence else {})
    data_params, target = _data_params(args)
    scaling = args.scaling or ("none" if model_file else "minmax")
    scenario = PrivacyScenario(
        dataset=args.data, model=model_file.scenario_name if model_file else model.name, attack=args.attack,
        seed=args.seed, test_size=args.test_size, scaling=scaling, dataset_params=freeze(data_params),
        model_params=freeze({} if model_file else _parse_params(model.params, args.model_param, model.name,
                                                                "--model-param")),
        attack_params=freeze(_parse_params(attack.params, args.param, args.attack, "--param")),
        defence=args.defence, defence_params=freeze(defence_params))
    return scenario.validate() if check else scenario, target


def experiment(args: argparse.Namespace, cli: ModuleType,
               check: bool = True) -> tuple[PrivacyScenario, dict[str, Any]]:
    """The run's experiment before any data is loaded: the scenario and its csv files' content. A proposed csv
    target is kept in ``args``, proposed once."""
    scenario, target = scenario_from(args, cli, check)
    if target is not None:
        args.target = target
    return scenario, cli.data_files(args)


def run(args: argparse.Namespace, cli: ModuleType) -> int:
    result = cli._saved_result(args)
    if args.json:
        print(json.dumps(result))
        return 0
    attacked = (f"the model in {result['model_file']}" if "model_file" in result
                else MODELS.get(result["model"]).a_name)
    print(f"{PRIVACY_ATTACKS.get(result['attack']).label} on {attacked}"
          + (f" under {PRIVACY_DEFENCES.get(result['defence']).label.lower()}" if result['defence'] else ""))
    if "threat_model" in result:
        print(f"threat model: {result['threat_model']['label']}: {result['threat_model']['why']}")
    print(f"train accuracy {result['train_accuracy']:.4f}   test accuracy {result['test_accuracy']:.4f}")
    for key in sorted(set(result) - NOT_SUMMARY):  # sorted: a result read from the store keeps no key order
        print(f"{key}: {json.dumps(result[key], sort_keys=True)}")
    if "epsilon" in result:
        print(f"epsilon {result['epsilon']:.4g} (delta {result['delta']:g}); advantage bound "
              f"{result['advantage_bound']:.4f}")
    print(f"({result['seconds']:.2f} s)")
    return 0


def result(args: argparse.Namespace, cli: ModuleType) -> dict[str, Any]:
    """What `qulab privacy --json` prints, computed (a sweep cell's result too)."""
    from qulab.data.datasets import load_dataset
    from qulab.evaluation.pipeline import split_with_test_set
    from qulab.threats.privacy.run import privacy_split, run_privacy

    start = time.perf_counter()
    with cli._stdout_for(args):
        scenario, target = scenario_from(args, cli)
        if target is None:
            data = load_dataset(scenario.dataset, dict(scenario.dataset_params), seed=scenario.seed)
        else:
            data = cli._read_csv(cli._csv_path(args.data, "--data"), target)
        if args.test_data is not None:
            split = split_with_test_set(data, cli._read_csv(cli._csv_path(args.test_data, "--test-data"), target),
                                        scenario.scaling, scenario.seed)
        else:
            split = privacy_split(scenario, data)
        outcome = run_privacy(scenario, split=split)
    own = {}
    if args.model_file is not None:
        own = {"model_file": args.model_file, "threat_model": cli._model_file(args).threat_model()}
    return {**outcome.to_json(), **own, "seconds": time.perf_counter() - start}


def listing() -> dict[str, Any]:
    """The privacy registries as `qulab list --json` prints them (read as data: nothing heavy is imported; a
    mitigation's model support is left out because telling it builds the model)."""
    def params(entry: Any) -> list[dict[str, Any]]:
        return [{"name": p.name, "default": p.default, "low": p.low, "high": p.high, "choices": list(p.choices),
                 "help": p.help} for p in entry.params]

    return {
        "privacy_attacks": [{"name": a.name, "label": a.label, "description": a.description, "kind": a.kind,
                             "threat": a.threat.to_dict(), "paper": a.paper,
                             "supports": [m.name for m in MODELS if a.unsupported_reason(m) is None],
                             "model_file": not a.trains_like_target,
                             "params": params(a)} for a in PRIVACY_ATTACKS],
        "privacy_defences": [{"name": d.name, "label": d.label, "description": d.description, "kind": d.kind,
                              "protects": d.protects, "releases": None if d.releases is None else sorted(d.releases),
                              "differentially_private": d.differentially_private, "reference": d.reference,
                              "params": params(d)} for d in PRIVACY_DEFENCES],
    }


def print_listing(info: dict[str, Any]) -> None:
    print("privacy attacks (qulab privacy --attack):")
    for a in info["privacy_attacks"]:
        threat = a["threat"]
        print(f"  {a['name']:<28} {a['label']}  [{a['kind']}; {threat['knowledge']}, "
              f"needs {' and '.join(threat['access'])}]")
        print(f"  {'':<28} runs on: {', '.join(a['supports']) or 'no registered model'}"
              + ("; a --model-file that releases what it needs" if a["model_file"]
                 else "; not a --model-file (it trains models like the target)"))
        print(f"  {'':<28} paper: {a['paper']}")
    print("privacy mitigations (qulab privacy --defense):")
    for d in info["privacy_defences"]:
        released = ("releases " + " and ".join(d["releases"]) if d["releases"] is not None
                    else "releases what the model exposes")
        print(f"  {d['name']:<28} {d['label']}  [{d['kind']}; {released}]")
        print(f"  {'':<28} protects: {d['protects']}")
        print(f"  {'':<28} paper: {d['reference']}")
