"""`qulab poison`: a poisoning scenario from the terminal, through the Poisoning page's own library calls.

    qulab poison --data D [--test-data csv:PATH] [--target COL] --model M --attack NAME [--rate R | --rates R1,R2,…]
                 [--target-class K] [--param k=v …] [--defense NAME [--defense-param k=v …]] [--seed S] [--json]

With ``--json`` one object: ``rate`` (a number, or the list given), ``n_train``, ``n_poisoned``, ``clean_accuracy``,
``poisoned_accuracy``, for backdoors ``attack_success_rate``, with a defence ``detection_precision``,
``detection_recall``, ``defended_accuracy`` (and ``defended_attack_success_rate`` for backdoors), and ``seconds``;
with ``--rates`` every per-rate value is a list aligned with ``rate``. Bad flags or files: one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from typing import Any

from qulab.cli import (
    UsageError,
    _csv_path,
    _data_params,
    _fraction,
    _parse_params,
    _read_csv,
    _saved_result,
    _stdout_for,
    data_files,
)
from qulab.core.bounded import add_timeout_option
from qulab.core.experiment import freeze
from qulab.core.registry import InvalidInput
from qulab.data.datasets import DATASETS, SCALINGS
from qulab.models.registry import MODELS
from qulab.store.results import poisoning_header
from qulab.threats.poisoning.attacks import POISONING_ATTACKS
from qulab.threats.poisoning.defences import POISONING_DEFENCES
from qulab.threats.poisoning.experiment import PoisoningScenario

MAX_RATES = 101  # a curve from 0 to 1 in steps of 0.01 is the finest anyone reads
# Per-rate keys: a list aligned with `rate` when --rates is given.
ALIGNED = ("n_poisoned", "poisoned_accuracy", "attack_success_rate", "clean_attack_success_rate", "n_flagged",
           "detection_precision", "detection_recall", "defended_accuracy", "defended_attack_success_rate", "notes")


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a poison rate is a share of the training set from 0 to 1, not {value}")
    return value


def _rates(text: str) -> tuple[float, ...]:
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > MAX_RATES:
        raise argparse.ArgumentTypeError(f"at most {MAX_RATES} rates, not {len(parts)}")
    if not all(parts):
        raise argparse.ArgumentTypeError(f"expects a comma-separated list such as 0,0.1,0.2, not {text!r}")
    try:
        return tuple(_rate(part) for part in parts)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"in {text!r}: {error}") from None


def add_parser(commands: Any) -> None:
    """The `poison` subcommand, its choices from the registries."""
    poison = commands.add_parser("poison", help="poison the training data: clean vs poisoned model, with a detector")
    data = poison.add_argument_group("data")
    data.add_argument("--data", default="synthetic", metavar="DATA",
                      help=f"built-in data set ({', '.join(DATASETS.names())}) or csv:PATH (default: synthetic)")
    data.add_argument("--target", metavar="COL", help="class column of csv data (default: proposed from the file)")
    data.add_argument("--test-data", metavar="csv:PATH",
                      help="explicit test set (same feature columns and target); replaces the random split")
    data.add_argument("--data-param", action="append", default=[], metavar="K=V", help="data-set parameter")
    data.add_argument("--scaling", default="none", choices=SCALINGS, help="feature scaling fitted on training only")
    data.add_argument("--seed", type=int, default=42)
    data.add_argument("--test-size", type=_fraction, default=0.2, metavar="F", help="test share (default 0.2)")
    model = poison.add_argument_group("model")
    model.add_argument("--model", default="logistic_regression", choices=MODELS.names(), metavar="M",
                       help=f"one of {', '.join(MODELS.names())} (default: logistic_regression)")
    model.add_argument("--model-param", action="append", default=[], metavar="K=V", help="model parameter")
    attack = poison.add_argument_group("attack")
    attack.add_argument("--attack", default="label_flip", choices=POISONING_ATTACKS.names(), metavar="NAME",
                        help=f"one of {', '.join(POISONING_ATTACKS.names())} (default: label_flip)")
    rates = attack.add_mutually_exclusive_group()
    rates.add_argument("--rate", type=_rate, metavar="R", help="share of the training set poisoned (default 0.1)")
    rates.add_argument("--rates", type=_rates, metavar="R1,R2,...", help="several rates, comma-separated")
    attack.add_argument("--target-class", metavar="K",
                        help="the class aimed at: its number (0 for the first) or its name")
    attack.add_argument("--param", action="append", default=[], metavar="K=V", help="attack parameter")
    defence = poison.add_argument_group("defence")
    defence.add_argument("--defense", "--defence", dest="defence", metavar="NAME", choices=POISONING_DEFENCES.names(),
                         help=f"a detector whose flagged points are removed: {', '.join(POISONING_DEFENCES.names())}")
    defence.add_argument("--defense-param", "--defence-param", dest="defence_param", action="append", default=[],
                         metavar="K=V", help="defence parameter (repeatable)")
    poison.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_timeout_option(poison)


def _class_index(text: str, class_names: tuple[str, ...]) -> int:
    """A target class given by name, else by number (names first: digits' names are their numbers)."""
    if text in class_names:
        return class_names.index(text)
    try:
        index = int(text)
    except ValueError:
        raise InvalidInput(f"--target-class {text!r} is neither a class name ({', '.join(class_names[:10])}) nor a "
                           "class number") from None
    if not 0 <= index < len(class_names):
        raise InvalidInput(f"--target-class {index} does not exist: the classes are numbered 0 to "
                           f"{len(class_names) - 1} ({', '.join(class_names[:10])})")
    return index


def _scenario(args: argparse.Namespace, check: bool = True) -> tuple[PoisoningScenario, str | None]:
    """The scenario the flags name (target class still unresolved), checked before any data is loaded (unless not
    ``check``: a sweep names a cell's run first, and records what the registries refuse as a failed cell)."""
    attack, model = POISONING_ATTACKS.get(args.attack), MODELS.get(args.model)
    if args.defence_param and not args.defence:
        raise UsageError("--defense-param needs --defense NAME")
    defence_params = (_parse_params(POISONING_DEFENCES.get(args.defence).params, args.defence_param, args.defence,
                                    "--defense-param") if args.defence else {})
    data_params, target = _data_params(args)
    scenario = PoisoningScenario(
        dataset=args.data, model=args.model, attack=args.attack, rate=args.rate if args.rate is not None else 0.1,
        seed=args.seed, test_size=args.test_size, scaling=args.scaling, dataset_params=freeze(data_params),
        model_params=freeze(_parse_params(model.params, args.model_param, args.model, "--model-param")),
        attack_params=freeze(_parse_params(attack.params, args.param, args.attack, "--param")),
        defence=args.defence, defence_params=freeze(defence_params))
    return scenario.validate() if check else scenario, target


def experiment(args: argparse.Namespace, check: bool = True) -> tuple[PoisoningScenario, dict[str, Any]]:
    """The run's experiment before any data is loaded: the scenario, and what else the numbers depend on (the
    rates of --rates, the --target-class as given — a name is resolved against the data only later — and the
    content of csv files). A proposed csv target is kept in ``args``, proposed once."""
    scenario, target = _scenario(args, check)
    if target is not None:
        args.target = target
    extra: dict[str, Any] = data_files(args)
    if args.rates is not None:
        extra["rates"] = list(args.rates)
    if args.target_class is not None:
        extra["target_class_given"] = args.target_class
    return scenario, extra


def poison(args: argparse.Namespace) -> int:
    result = _saved_result(args)
    if args.json:
        print(json.dumps(result))
    else:
        _print(result, args.rates is not None)
    return 0


def poison_result(args: argparse.Namespace) -> dict[str, Any]:
    """What `qulab poison --json` prints, computed (a sweep cell's result too)."""
    from qulab.data.datasets import load_dataset
    from qulab.evaluation.pipeline import fit_model, prepare_split, split_with_test_set
    from qulab.threats.poisoning.run import check_data, run_poisoning

    start = time.perf_counter()
    with _stdout_for(args):
        scenario, target = _scenario(args)
        if target is None:
            data = load_dataset(scenario.dataset, dict(scenario.dataset_params), seed=scenario.seed)
        else:
            data = _read_csv(_csv_path(args.data, "--data"), target)
        if args.test_data is not None:
            test = _read_csv(_csv_path(args.test_data, "--test-data"), target)
            split = split_with_test_set(data, test, args.scaling, args.seed)
        else:
            split = prepare_split(scenario.clean_scenario(), data)
        if args.target_class is not None:
            scenario = replace(scenario, target_class=_class_index(args.target_class, split.class_names))
        check_data(scenario, split)
        clean_model = fit_model(scenario.clean_scenario(), split)
        rates = args.rates if args.rates is not None else (scenario.rate,)
        runs = [run_poisoning(replace(scenario, rate=rate), split=split, clean_model=clean_model) for rate in rates]
    result = poisoning_header(scenario)
    if target is not None:
        result["target"] = target
    if args.test_data is not None:
        result["test_data"] = args.test_data
    summaries = [run.summary() for run in runs]
    result.update(summaries[0])
    if args.rates is not None:
        result.update({key: [s[key] for s in summaries] for key in ("rate", *ALIGNED) if key in summaries[0]})
    result["seconds"] = time.perf_counter() - start
    return result


def _print(result: dict[str, Any], several: bool) -> None:
    columns = [key for key in ("rate", "n_poisoned", "poisoned_accuracy", "attack_success_rate",
                               "detection_precision", "detection_recall", "defended_accuracy",
                               "defended_attack_success_rate") if key in result]
    print(f"{result['attack']} on {result['data']} with {result['model']}: {result['n_train']} training points, "
          f"clean model's accuracy {result['clean_accuracy']:.4f}")
    print("  ".join(f"{key:>12.12}" for key in columns))
    rows = zip(*(result[key] for key in columns), strict=True) if several else [[result[k] for k in columns]]
    for row in rows:
        print("  ".join(f"{'-':>12}" if v is None else f"{v:12.4f}" if isinstance(v, float) else f"{v:>12}"
                        for v in row))
    notes = result["notes"] if not several else sorted({n for ns in result["notes"] for n in ns})
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"({result['seconds']:.2f} s)")


def listing() -> dict[str, Any]:
    """The poisoning registries as `qulab list --json` prints them (read as data: nothing heavy is imported)."""
    def supports(entry: Any) -> list[str]:
        return [model.name for model in MODELS if entry.model_reason(model) is None]

    def params(entry: Any) -> list[dict[str, Any]]:
        return [{"name": p.name, "default": p.default, "low": p.low, "high": p.high, "choices": list(p.choices),
                 "help": p.help} for p in entry.params]

    return {
        "poisoning_attacks": [{"name": a.name, "label": a.label, "description": a.description,
                               "threat": a.threat.to_dict(), "reference": a.reference, "needs_target": a.needs_target,
                               "images_only": a.needs_images, "supports": supports(a), "params": params(a)}
                              for a in POISONING_ATTACKS],
        "poisoning_defences": [{"name": d.name, "label": d.label, "description": d.description,
                                "protects_against": d.protects_against, "reference": d.reference,
                                "images_only": d.needs_images, "supports": supports(d), "params": params(d)}
                               for d in POISONING_DEFENCES],
    }


def print_listing(info: dict[str, Any]) -> None:
    print("poisoning attacks (qulab poison --attack):")
    for a in info["poisoning_attacks"]:
        tags = [a["threat"]["knowledge"], "needs --target-class"] if a["needs_target"] else [a["threat"]["knowledge"]]
        print(f"  {a['name']:<20} {a['label']}  [{', '.join(tags)}]")
    print("poisoning defences (qulab poison --defense):")
    for d in info["poisoning_defences"]:
        print(f"  {d['name']:<20} {d['label']}  [runs on: {', '.join(d['supports'])}]")
