"""`qulab`: the same library as the pages, from a terminal.

    qulab app [--port 8501] [--address localhost]
    qulab list [--json]
    qulab evaluate --data DATA --model M --attack A --eps E [--norm inf|2|1] [--param k=v ...] [--json]
    qulab curve    --data DATA --model M --attack A (--eps E1,E2,... | --eps-max E --steps N) [--norm ...] [--json]
    qulab poison   --data DATA --model M --attack NAME [--rate R | --rates R1,R2,...] [--target-class K]
                   [--defense NAME] [--json]   (see qulab.cli_poison)

    common: [--target COL] [--test-data csv:PATH] [--scaling none|minmax|standard] [--clip LO,HI] [--seed N]
            [--test-size F] [--model-param k=v ...] [--data-param k=v ...]

DATA is a built-in data set (``qulab list``) or ``csv:PATH``. Every choice comes from the registries. Bad
input prints one line ``qulab: error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

from qulab.core.experiment import NORMS, Scenario, freeze
from qulab.core.registry import InvalidInput, Param
from qulab.data.datasets import CSV_PREFIX, DATASETS, SCALINGS, Dataset, Split
from qulab.models.registry import MODELS, ModelSpec
from qulab.threats.evasion.attacks import ATTACKS, AttackSpec

APP_SCRIPT = Path(__file__).parent / "app" / "router.py"
# What `list` assumes about the data when it says which models an attack supports: three classes (so
# attacks needing more than two count), and image inputs only for the attacks and models that need them.
LIST_CLASSES = 3
MAX_BUDGETS = 1001  # budgets on one curve: a grid of 0.001 steps from 0 to 1 is the finest anyone reads


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit code 2, no traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a non-negative finite number, not {value}")
    return value


def _eps_list(text: str) -> tuple[float, ...]:
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError("expects a comma-separated list of numbers such as 0,0.05,0.1")
    if len(parts) > MAX_BUDGETS:
        raise argparse.ArgumentTypeError(f"a curve has at most {MAX_BUDGETS} budgets, not {len(parts)}")
    values = []
    for part in parts:
        if not part:
            raise argparse.ArgumentTypeError(f"empty value in {text!r}; use a list such as 0,0.05,0.1")
        try:
            values.append(_non_negative(part))
        except argparse.ArgumentTypeError as error:
            raise argparse.ArgumentTypeError(f"{part!r} in {text!r}: {error}") from None
    return tuple(values)


def _clip(text: str) -> tuple[float, float]:
    lo_text, sep, hi_text = text.partition(",")
    try:
        if not sep:
            raise ValueError
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects LO,HI such as 0,1, not {text!r}") from None
    if not lo < hi:
        raise argparse.ArgumentTypeError(f"LO must be below HI, not {text!r}")
    return lo, hi


def _steps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"a curve needs at least 2 steps, not {value}")
    if value > MAX_BUDGETS:
        raise argparse.ArgumentTypeError(f"a curve has at most {MAX_BUDGETS} steps, not {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"test size must be between 0 and 1, not {value}")
    return value


def _add_scenario_options(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--data", default="synthetic", metavar="DATA",
                      help=f"built-in data set ({', '.join(DATASETS.names())}) or csv:PATH (default: synthetic)")
    data.add_argument("--target", metavar="COL", help="class column of csv data (default: proposed from the file)")
    data.add_argument("--test-data", metavar="csv:PATH",
                      help="explicit test set (same feature columns and target); replaces the random split")
    data.add_argument("--data-param", action="append", default=[], metavar="K=V",
                      help="data-set parameter, e.g. n_samples=5000 (repeatable)")
    data.add_argument("--scaling", default="none", choices=SCALINGS,
                      help="feature scaling fitted on the training part only")
    data.add_argument("--clip", type=_clip, metavar="LO,HI", help="valid input range the attack must stay in")
    data.add_argument("--seed", type=int, default=42)
    data.add_argument("--test-size", type=_fraction, default=0.2, metavar="F", help="test share (default 0.2)")
    model = parser.add_argument_group("model")
    model.add_argument("--model", default="logistic_regression", choices=MODELS.names(), metavar="M",
                       help=f"one of {', '.join(MODELS.names())} (default: logistic_regression)")
    model.add_argument("--model-param", action="append", default=[], metavar="K=V",
                       help="model parameter, e.g. C=0.1 (repeatable); scikit-learn defaults otherwise")
    attack = parser.add_argument_group("attack")
    attack.add_argument("--attack", default="fgm", choices=ATTACKS.names(), metavar="A",
                        help=f"one of {', '.join(ATTACKS.names())} (default: fgm)")
    attack.add_argument("--norm", choices=NORMS, help="budget norm (default: the attack's first norm)")
    attack.add_argument("--param", action="append", default=[], metavar="K=V",
                        help="attack parameter, e.g. max_iter=10 (repeatable)")
    defence = parser.add_argument_group("defence")
    defence.add_argument("--defense", "--defence", dest="defence", metavar="NAME", choices=_defence_names(),
                         help=f"compare with a defended model: {', '.join(_defence_names())}")
    defence.add_argument("--defense-param", "--defence-param", dest="defence_param", action="append", default=[],
                         metavar="K=V", help="defence parameter (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _defence_names() -> list[str]:
    from qulab.defences import DEFENCES

    return DEFENCES.names()


def _defended(args: argparse.Namespace, prepared: Prepared, grid: tuple[float, ...] | None) -> dict[str, Any]:
    """Undefended vs defended through the Defences page's own function, on the prepared split (the data set's own,
    or your --data and --test-data files, with --clip if given); the defended numbers lead."""
    from qulab.defences import evaluate_defence

    params = dict(prepared.scenario.defence_params)
    outcome = evaluate_defence(prepared.scenario, args.defence, params, eps_grid=grid, split=prepared.split)
    result = outcome.summary()
    result.update(clean_accuracy=outcome.clean_defended, adversarial_accuracy=outcome.robust_defended,
                  undefended={"clean_accuracy": outcome.clean_undefended,
                              "adversarial_accuracy": outcome.robust_undefended})
    if grid is not None:
        index = [outcome.eps_grid.index(e) for e in grid]
        result.update(eps=list(grid), adversarial_accuracy=[outcome.curve_defended[i] for i in index])
        result["undefended"]["adversarial_accuracy"] = [outcome.curve_undefended[i] for i in index]
        if outcome.exact_curve_defended is not None:
            result["exact_accuracy"] = [outcome.exact_curve_defended[i] for i in index]
        if outcome.curve_nonadaptive is not None:
            result["nonadaptive_accuracy"] = [outcome.curve_nonadaptive[i] for i in index]
    return result


def _print_defended(result: dict[str, Any]) -> None:
    print(f"defence: {result['defence']} ({result['kind']}) against {result['attack_label']}, "
          f"{result['n_test']} test points")
    print(f"clean accuracy:       undefended {result['clean_undefended']:.4f}  defended {result['clean_defended']:.4f}")
    nonadaptive = result.get("nonadaptive_accuracy")
    if isinstance(result["adversarial_accuracy"], list):
        print(f"{'eps':>10}  {'undefended':>10}  {'defended':>9}" + (f"  {'non-adaptive':>12}" if nonadaptive else ""))
        for i, (e, u, d) in enumerate(zip(result["eps"], result["undefended"]["adversarial_accuracy"],
                                          result["adversarial_accuracy"], strict=True)):
            print(f"{e:10.4g}  {u:10.4f}  {d:9.4f}" + (f"  {nonadaptive[i]:12.4f}" if nonadaptive else ""))
    else:
        print(f"robust accuracy:      undefended {result['robust_undefended']:.4f}  "
              f"defended {result['robust_defended']:.4f}  (eps={result['eps']}, norm={result['norm']})")
        if result.get("robust_nonadaptive") is not None:
            print(f"non-adaptive attack:  defended {result['robust_nonadaptive']:.4f}  (the undefended model's "
                  "examples through the defence; 'defended' above is the adaptive attack)")
    for note in result.get("notes", []):
        print(f"note: {note}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qulab", description="QuLab: an interactive lab for adversarial machine learning.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    app = commands.add_parser("app", help="start the Streamlit app (as `make run` does)")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--address", default="localhost", help="interface to listen on (default: localhost only)")

    listing = commands.add_parser("list", help="data sets, models, attacks and defences")
    listing.add_argument("--json", action="store_true", help="print one JSON object")

    evaluate = commands.add_parser("evaluate", help="clean and adversarial accuracy for one scenario")
    evaluate.add_argument("--eps", type=_non_negative, required=True, help="attack budget")
    _add_scenario_options(evaluate)

    curve = commands.add_parser("curve", help="adversarial accuracy at several budgets")
    budget = curve.add_mutually_exclusive_group(required=True)
    budget.add_argument("--eps", type=_eps_list, metavar="E1,E2,...", help="budgets, comma-separated")
    budget.add_argument("--eps-max", type=_non_negative, metavar="E", help="largest budget (with --steps)")
    curve.add_argument("--steps", type=_steps, metavar="N", help="evenly spaced budgets from 0 to --eps-max")
    _add_scenario_options(curve)

    from qulab.cli_poison import add_parser as add_poison_parser  # the poisoning command lives in its own module

    add_poison_parser(commands)
    return parser


# --------------------------------------------------------------------------------------------------------------
# Parameters and scenario


def _parse_params(declared: tuple[Param, ...], pairs: list[str], owner: str, flag: str) -> dict[str, Any]:
    known = {p.name: p for p in declared}
    params = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"{flag} expects K=V, not {pair!r}")
        if name not in known:
            raise UsageError(f"{owner} has no parameter {name!r}; it has: {', '.join(known) or 'none'}")
        params[name] = known[name].parse(text)
    return params


def _attack_params(attack: str, pairs: list[str]) -> dict[str, Any]:
    return _parse_params(ATTACKS.get(attack).params, pairs, attack, "--param")


@dataclass(frozen=True)
class Prepared:
    """What `evaluate` and `curve` share: the scenario, its split and the specs, checked before any fitting."""

    scenario: Scenario
    split: Split
    attack: AttackSpec
    model: ModelSpec
    target: str | None


def _csv_path(text: str, flag: str) -> str:
    if not text.startswith(CSV_PREFIX) or not text.removeprefix(CSV_PREFIX):
        raise UsageError(f"{flag} expects csv:PATH, not {text!r}")
    return text.removeprefix(CSV_PREFIX)


def _propose_target(path: str) -> str:
    """The class column the upload page would propose, for csv data given without --target."""
    from qulab.data.datasets import read_csv_bytes
    from qulab.data.upload import DataError, parse_csv, propose_target

    data = read_csv_bytes(path)
    try:
        return propose_target(parse_csv(data))
    except DataError as error:
        raise InvalidInput(f"{path}: {error}") from None


def _read_csv(path: str, target: str) -> Dataset:
    from qulab.data.datasets import dataset_from_table, read_csv_file

    return dataset_from_table(read_csv_file(path, target))


def _data_params(args: argparse.Namespace) -> tuple[dict[str, Any], str | None]:
    """The data set's parameters from the flags, and the csv target (proposed from the file when not given)."""
    if args.data.startswith(CSV_PREFIX):
        path = _csv_path(args.data, "--data")
        if args.data_param:
            raise UsageError("--data-param applies to built-in data sets; csv data takes --target only")
        target = args.target
        if target is None:
            target = _propose_target(path)
            print(f"qulab: note: no --target given; using the column {target!r} as the class column "
                  f"(pass --target COL to choose another)", file=sys.stderr)
        return {"target": target}, target
    spec = DATASETS.get(args.data)
    if args.target is not None:
        raise UsageError(f"--target applies to csv:PATH data; {args.data} has its own classes")
    if args.test_data is not None:
        raise UsageError("--test-data needs csv:PATH training data (--data csv:PATH) with the same columns")
    return _parse_params(spec.params, args.data_param, args.data, "--data-param"), None


def _scenario(args: argparse.Namespace, eps: float) -> tuple[Scenario, str | None]:
    """The scenario the flags name, checked against the registries before any data is loaded."""
    attack = ATTACKS.get(args.attack)
    model = MODELS.get(args.model)
    norm = args.norm or attack.norms[0]
    reason = attack.threat.norm_reason(norm, attack.label)
    if reason:
        raise UsageError(f"{reason.removesuffix('.')}; use --norm {' or --norm '.join(attack.norms)}.")
    attack_params = _attack_params(args.attack, args.param)
    model_params = _parse_params(model.params, args.model_param, args.model, "--model-param")
    if args.defence_param and not args.defence:
        raise UsageError("--defense-param needs --defense NAME")
    defence_params = _defence_params(args.defence, args.defence_param) if args.defence else {}
    data_params, target = _data_params(args)
    scenario = Scenario(dataset=args.data, model=args.model, attack=args.attack, eps=eps, norm=norm, seed=args.seed,
                        test_size=args.test_size, scaling=args.scaling, dataset_params=freeze(data_params),
                        model_params=freeze(model_params), attack_params=freeze(attack_params),
                        defence=args.defence, defence_params=freeze(defence_params))
    return scenario.validate(), target


def _defence_params(defence: str, pairs: list[str]) -> dict[str, Any]:
    from qulab.defences import parse_defence_params

    return parse_defence_params(defence, pairs)


def _prepare(args: argparse.Namespace, eps: float) -> Prepared:
    from qulab.data.datasets import load_dataset
    from qulab.evaluation.pipeline import prepare_split, split_with_test_set

    scenario, target = _scenario(args, eps)
    attack, model = ATTACKS.get(scenario.attack), MODELS.get(scenario.model)
    if target is None:
        data = load_dataset(scenario.dataset, dict(scenario.dataset_params), seed=scenario.seed)
    else:
        data = _read_csv(_csv_path(args.data, "--data"), target)
    if args.test_data is not None:
        path = _csv_path(args.test_data, "--test-data")
        split = split_with_test_set(data, _read_csv(path, target), args.scaling, args.seed)
    else:
        split = prepare_split(scenario, data)
    if args.clip is not None:
        split = replace(split, clip_values=args.clip)
    if model.needs_images and split.image_shape is None:
        raise InvalidInput(f"{model.label} needs image inputs: use --data digits or another model")
    reason = attack.unsupported_reason(model, split.n_classes, split.image_shape is not None)
    if reason:
        raise InvalidInput(reason)
    return Prepared(scenario, split, attack, model, target)


def _header(prepared: Prepared, args: argparse.Namespace) -> dict[str, Any]:
    scenario = prepared.scenario
    head = {"data": scenario.dataset, "model": scenario.model, "attack": scenario.attack, "norm": scenario.norm,
            "scaling": scenario.scaling, "seed": scenario.seed, "clip": prepared.split.clip_values}
    if prepared.target is not None:
        head["target"] = prepared.target
    if args.test_data is not None:
        head["test_data"] = args.test_data
    return head


@contextlib.contextmanager
def _stdout_for(args: argparse.Namespace):
    """With --json nothing but the JSON object reaches stdout (libraries' prints go to stderr)."""
    if args.json:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    else:
        yield


# --------------------------------------------------------------------------------------------------------------
# Commands


def _evaluate(args: argparse.Namespace) -> int:
    from qulab.evaluation.pipeline import fit_model, run_attack

    start = time.perf_counter()
    if args.defence is not None:
        with _stdout_for(args):
            prepared = _prepare(args, args.eps)
            result = {**_header(prepared, args), **_defended(args, prepared, None)}
        result["seconds"] = time.perf_counter() - start
        print(json.dumps(result)) if args.json else _print_defended(result)
        return 0
    with _stdout_for(args):
        prepared = _prepare(args, args.eps)
        model = fit_model(prepared.scenario, prepared.split)
        outcome = run_attack(prepared.scenario, prepared.split, model)
    summary = {**_header(prepared, args), **outcome.summary(), "attack_seconds": outcome.seconds,
               "fit_seconds": model.fit_seconds, "seconds": time.perf_counter() - start}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"clean accuracy:       {summary['clean_accuracy']:.4f}")
        for note in summary["notes"]:
            print(f"note: {note}", file=sys.stderr)
        print(f"adversarial accuracy: {summary['adversarial_accuracy']:.4f}  "
              f"(eps={summary['eps']}, norm={summary['norm']}, {summary['n_test']} test points)")
    return 0


def _curve(args: argparse.Namespace) -> int:
    import numpy as np

    from qulab.evaluation.curves import attack_curve, eps_grid, exact_curve
    from qulab.evaluation.pipeline import fit_model

    if args.eps is not None:
        if args.steps is not None:
            raise UsageError("--steps goes with --eps-max, not with an --eps list")
        grid = np.array(args.eps, dtype=float)
    else:
        if args.steps is None:
            raise UsageError("--eps-max needs --steps N (at least 2)")
        grid = eps_grid(args.eps_max, args.steps)
    start = time.perf_counter()
    if args.defence is not None:
        with _stdout_for(args):
            prepared = _prepare(args, float(grid.max()))
            result = {**_header(prepared, args), **_defended(args, prepared, tuple(map(float, grid)))}
        result["seconds"] = time.perf_counter() - start
        print(json.dumps(result)) if args.json else _print_defended(result)
        return 0
    with _stdout_for(args):
        prepared = _prepare(args, float(grid.max()))
        model = fit_model(prepared.scenario, prepared.split)
        curve = attack_curve(prepared.scenario, prepared.split, model, grid)
        exact = exact_curve(prepared.split, model, grid, prepared.scenario.norm)
    clean = curve.clean
    result = {**_header(prepared, args), "clean_accuracy": clean, "eps": list(curve.eps),
              "adversarial_accuracy": list(curve.accuracy), "n_test": len(prepared.split.y_test),
              "method": curve.method, "attack_seconds": curve.seconds, "fit_seconds": model.fit_seconds}
    if exact is not None:
        result["exact_accuracy"] = list(exact.accuracy)
    result["seconds"] = time.perf_counter() - start
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{curve.label} on {result['n_test']} test points (norm {prepared.scenario.norm}); "
              f"clean accuracy {clean:.4f}")
        print(f"{'eps':>10}  {'accuracy':>9}" + (f"  {'exact':>9}" if exact else ""))
        for i, e in enumerate(curve.eps):
            row = f"{e:10.4g}  {curve.accuracy[i]:9.4f}"
            print(row + (f"  {exact.accuracy[i]:9.4f}" if exact else ""))
        print(f"({curve.method}; {result['seconds']:.2f} s)")
    return 0


def _supported_models(attack: AttackSpec) -> list[str]:
    """Models the attack can run on, with image data assumed where the attack or the model needs it."""
    return [model.name for model in MODELS
            if attack.unsupported_reason(model, n_classes=LIST_CLASSES,
                                         images=attack.needs_neural_images or model.needs_images) is None]


def _defences() -> list[dict[str, Any]]:
    from qulab.defences import DEFENCES

    return [{"name": d.name, "label": d.label, "kind": d.kind, "supports": list(d.models),
             "unsupported_because": d.requirement.why_not, "protects_against": d.protects_against,
             "known_weakness": d.known_weakness, "adaptive_attack": d.adaptive_attack,
             "images_only": d.needs_images, "needs_known_range": d.needs_range, "works": d.works,
             "threat": d.threat.to_dict(), "params": _param_info(d.params)} for d in DEFENCES]


def _param_info(params: tuple[Param, ...]) -> list[dict[str, Any]]:
    return [{"name": p.name, "default": p.default, "low": p.low, "high": p.high, "help": p.help} for p in params]


def listing() -> dict[str, Any]:
    """Everything the registries offer, as `qulab list --json` prints it."""
    return {
        "datasets": [{"name": d.name, "label": d.label, "description": d.description, "params": _param_info(d.params)}
                     for d in DATASETS],
        "models": [{"name": m.name, "label": m.label, "family": m.family, "linear": m.linear,
                    "needs_images": m.needs_images, "exposes": sorted(m.exposes), "params": _param_info(m.params)}
                   for m in MODELS],
        "attacks": [{"name": a.name, "label": a.label, "knowledge": a.knowledge, "access": a.access,
                     "norm": list(a.norms), "nist": a.nist, "threat": a.threat.to_dict(),
                     "minimal": a.minimal, "targeted": a.targeted,
                     "images_only": a.needs_neural_images, "min_classes": a.min_classes,
                     "supports": _supported_models(a), "params": _param_info(a.params)}
                    for a in ATTACKS],
        "defences": _defences(),
        **_poisoning_listing(),
    }


def _poisoning_listing() -> dict[str, Any]:
    from qulab.cli_poison import listing as poisoning_listing

    return poisoning_listing()


def _threat_line(threat: dict[str, Any]) -> str:
    """A threat model (ThreatModel.to_dict) in one line: knowledge, class, norms and access."""
    return (f"{threat['knowledge']} {threat['nist_class']}, norm {'/'.join(threat['norms'])}, "
            f"with {' and '.join(threat['access'])}")


def _list(args: argparse.Namespace) -> int:
    info = listing()
    if args.json:
        print(json.dumps(info))
        return 0
    print("data sets (or csv:PATH):")
    for d in info["datasets"]:
        print(f"  {d['name']:<20} {d['label']}")
    print("models:")
    for m in info["models"]:
        print(f"  {m['name']:<20} {m['label']}{'  [images only]' if m['needs_images'] else ''}")
    print("attacks:")
    for a in info["attacks"]:
        tags = [a["knowledge"], a["nist"], "norm " + "/".join(a["norm"])]
        if a["images_only"]:
            tags.append("images only")
        print(f"  {a['name']:<20} {a['label']}  [{', '.join(tags)}; needs {a['access']}]")
        print(f"  {'':<20} runs on: {', '.join(a['supports']) or 'no registered model'}")
    print("defences:")
    for d in info["defences"]:
        tags = [d["kind"]] + (["images only"] if d["images_only"] else []) + (
            ["features in a known range"] if d["needs_known_range"] else [])
        print(f"  {d['name']:<20} {d['label']}  [{', '.join(tags)}]")
        print(f"  {'':<20} evaluated against: {_threat_line(d['threat'])}")
        print(f"  {'':<20} runs on: {', '.join(d['supports']) or 'no registered model'}")
        print(f"  {'':<20} weakness: {d['known_weakness']}")
    from qulab.cli_poison import print_listing as print_poisoning

    print_poisoning(info)
    return 0


def _app(args: argparse.Namespace) -> int:
    """Serve the app from this process, with the warm-up (ART, scikit-learn, the Attack Demo's model) started first:
    it loads while the server starts and the first page is read, so the first Attack Demo finds it ready."""
    from streamlit.web import cli as streamlit_cli

    from qulab.app import warm_up

    warm_up.start()
    return streamlit_cli.main(["run", str(APP_SCRIPT), "--server.port", str(args.port), "--server.address",
                               args.address, "--browser.gatherUsageStats", "false"], standalone_mode=False) or 0


def _user_errors() -> tuple[type[Exception], ...]:
    """The errors that end in one line and exit 2 (evaluated when one is raised). DataError lives with the upload
    validator and pandas, which only commands reading a CSV import, so `list` does not load them."""
    upload = sys.modules.get("qulab.data.upload")
    return (UsageError, InvalidInput) + ((upload.DataError,) if upload is not None else ())


def _poison(args: argparse.Namespace) -> int:
    from qulab.cli_poison import poison

    return poison(args)


COMMANDS = {"app": _app, "list": _list, "evaluate": _evaluate, "curve": _curve, "poison": _poison}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except _user_errors() as error:
        message = error.args[0] if error.args else str(error)
        print(f"qulab: error: {' '.join(str(message).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `qulab list | head`: the reader left; say nothing more
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python flushes stdout at exit)
        return 0


if __name__ == "__main__":
    # `python -m qulab.cli` runs this file as __main__; the importable module's main is used, so commands kept in
    # other modules (qulab.cli_poison) raise the very UsageError that main catches.
    from qulab.cli import main as importable_main

    sys.exit(importable_main())
