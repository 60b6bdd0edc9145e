"""`qulab`: the same library as the pages, from a terminal.

    qulab app [--port 8501] [--address localhost]
    qulab list [--json]
    qulab evaluate --data DATA --model M --attack A --eps E [--norm inf|2|1] [--param k=v ...] [--json]
    qulab evaluate --data csv:PATH --model-file PATH.skops|PATH.onnx --attack A --eps E ...  (your own model)
    qulab curve    --data DATA --model M --attack A (--eps E1,E2,... | --eps-max E --steps N) [--norm ...] [--json]
    qulab runs list|show ID...|delete ID... [--json]
    qulab sweep SWEEP.toml [--workers N | --scheduler tcp://HOST:PORT] [--json]
    qulab report RUN... [-o report.html]
    qulab poison   --data DATA --model M --attack NAME [--rate R | --rates R1,R2,...] [--target-class K]
                   [--defense NAME] [--json]   (see qulab.cli_poison)
    qulab privacy  --data DATA --model M --attack NAME [--param k=v ...] [--defense NAME [--defense-param k=v ...]]

    common: [--target COL] [--test-data csv:PATH] [--scaling none|minmax|standard] [--clip LO,HI] [--seed N]
            [--test-size F] [--model-param k=v ...] [--data-param k=v ...]
    evaluate, curve, poison, privacy: [--timeout SECONDS]  (the work in a child process, killed at the deadline)

``evaluate``, ``curve``, ``poison`` and ``privacy`` save their run in the run store (``--store PATH``, else
$QULAB_STORE, else the user's data directory); the same experiment asked again is answered from the store.
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

from qulab.core.bounded import WorkStopped, add_timeout_option, run_bounded
from qulab.core.experiment import NORMS, Scenario, freeze
from qulab.core.registry import InvalidInput, Param
from qulab.data.datasets import CSV_PREFIX, DATASETS, SCALINGS, Dataset, Split
from qulab.models.registry import MODELS, ModelSpec
from qulab.reports import command_line as report_command
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
    model.add_argument("--model", choices=MODELS.names(), metavar="M",
                       help=f"one of {', '.join(MODELS.names())} (default: logistic_regression)")
    model.add_argument("--model-file", metavar="PATH",
                       help="your own fitted model instead of --model: scikit-learn saved with skops (.skops) or any "
                            "framework exported to ONNX (.onnx); opened in a separate, limited process and attacked "
                            "as it is, with the threat model it exposes")
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
    from qulab.store.results import defence_result

    params = dict(prepared.scenario.defence_params)
    outcome = evaluate_defence(prepared.scenario, args.defence, params, eps_grid=grid, split=prepared.split)
    return defence_result(outcome, grid)


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
    for saving in (evaluate, curve):
        _store_option(saving)
        add_timeout_option(saving)

    runs = commands.add_parser("runs", help="the saved runs: list, show, delete")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True, parser_class=_Parser)
    runs_list = runs_commands.add_parser("list", help="saved runs, newest first")
    runs_list.add_argument("--kind", help="only runs of this kind (evasion, defence, …)")
    runs_list.add_argument("--data", help="only runs on this data set")
    runs_list.add_argument("--model", help="only runs of this model")
    runs_list.add_argument("--attack", help="only runs of this attack")
    runs_list.add_argument("--limit", type=int, metavar="N", help="at most N runs")
    runs_show = runs_commands.add_parser("show", help="runs in full (experiment, results, versions, timings)")
    runs_delete = runs_commands.add_parser("delete", help="remove runs")
    for sub in (runs_show, runs_delete):
        sub.add_argument("ids", nargs="+", metavar="ID", help="run id or a unique start of it")
    for sub in (runs_list, runs_show, runs_delete):
        _store_option(sub)
        sub.add_argument("--json", action="store_true", help="print JSON on stdout")

    sweep = commands.add_parser("sweep", help="a grid of evaluations (SWEEP.toml) on Dask, saved in the run store")
    sweep.add_argument("file", metavar="SWEEP.toml", help="[grid] of flag values, [fixed] flags for every cell")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="a running Dask scheduler (default: a local "
                                                                      "cluster in this process)")
    sweep.add_argument("--workers", type=int, default=2, metavar="N", help="local cluster's worker processes "
                                                                          "(default 2)")
    _store_option(sweep)
    sweep.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    report_command.add_parser(commands)

    from qulab.cli_poison import add_parser as add_poison_parser  # the poisoning command lives in its own module

    add_poison_parser(commands)

    from qulab.threats.privacy import command as privacy_command

    privacy_command.add_parser(commands)
    for saving in ("poison", "privacy"):
        _store_option(commands.choices[saving])
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
    own: Any = None  # the FittedModel of a --model-file, checked against the data
    model_file: Any = None  # its qulab.models.files.ModelFile


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


def _model_file(args: argparse.Namespace) -> Any:
    """The opened --model-file (None without one), refused in one sentence when hostile or of the wrong kind."""
    if args.model_file is None:
        return None
    if getattr(args, "opened_model_file", None) is not None:  # opened once per command (the run's id needs it too)
        return args.opened_model_file
    if args.model is not None:
        raise UsageError("give either --model (a model QuLab trains) or --model-file (your own), not both")
    if args.model_param:
        raise UsageError("--model-param applies to --model; a --model-file is attacked as it is")
    from qulab.models.files import read_model_file

    args.opened_model_file = read_model_file(args.model_file)
    return args.opened_model_file


def _scenario(args: argparse.Namespace, eps: float, check: bool = True,
              model_file: Any = None) -> tuple[Scenario, str | None]:
    """The scenario the flags name, checked against the registries before any data is loaded (unless ``check`` is
    False: a sweep names a cell's run before it is checked, so a cell the registries refuse is stored as failed).
    A --model-file names the model by its content."""
    attack = ATTACKS.get(args.attack)
    args.model = args.model or "logistic_regression"
    model = MODELS.get(args.model)
    norm = args.norm or attack.norms[0]
    reason = attack.threat.norm_reason(norm, attack.label)
    if reason and check:
        raise UsageError(f"{reason.removesuffix('.')}; use --norm {' or --norm '.join(attack.norms)}.")
    attack_params = _attack_params(args.attack, args.param)
    model_params = {} if model_file else _parse_params(model.params, args.model_param, args.model, "--model-param")
    if args.defence_param and not args.defence:
        raise UsageError("--defense-param needs --defense NAME")
    defence_params = _defence_params(args.defence, args.defence_param) if args.defence else {}
    data_params, target = _data_params(args)
    scenario = Scenario(dataset=args.data, model=model_file.scenario_name if model_file else args.model,
                        attack=args.attack, eps=eps, norm=norm, seed=args.seed,
                        test_size=args.test_size, scaling=args.scaling, dataset_params=freeze(data_params),
                        model_params=freeze(model_params), attack_params=freeze(attack_params),
                        defence=args.defence, defence_params=freeze(defence_params))
    return (scenario.validate() if check else scenario), target


def _defence_params(defence: str, pairs: list[str]) -> dict[str, Any]:
    from qulab.defences import parse_defence_params

    return parse_defence_params(defence, pairs)


def _prepare(args: argparse.Namespace, eps: float) -> Prepared:
    from qulab.data.datasets import load_dataset
    from qulab.evaluation.pipeline import prepare_split, split_with_test_set

    model_file = _model_file(args)
    scenario, target = _scenario(args, eps, model_file=model_file)
    attack = ATTACKS.get(scenario.attack)
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
    own = model_file.fitted(split) if model_file else None
    model = own.spec if own else MODELS.get(scenario.model)
    if model.needs_images and split.image_shape is None:
        raise InvalidInput(f"{model.label} needs image inputs: use --data digits or another model")
    reason = attack.unsupported_reason(model, split.n_classes, split.image_shape is not None)
    if reason:
        raise InvalidInput(reason)
    return Prepared(scenario, split, attack, model, target, own, model_file)


def _header(prepared: Prepared, args: argparse.Namespace) -> dict[str, Any]:
    scenario = prepared.scenario
    head = {"data": scenario.dataset, "model": scenario.model, "attack": scenario.attack, "norm": scenario.norm,
            "scaling": scenario.scaling, "seed": scenario.seed, "clip": prepared.split.clip_values}
    if prepared.target is not None:
        head["target"] = prepared.target
    if args.test_data is not None:
        head["test_data"] = args.test_data
    if prepared.model_file is not None:
        head["model_file"] = args.model_file
        head["threat_model"] = prepared.model_file.threat_model()
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
    result = _saved_result(args)
    if args.json:
        print(json.dumps(result))
    elif args.defence is not None:
        _print_defended(result)
    else:
        if "threat_model" in result:
            print(f"threat model:         {result['threat_model']['label']}: {result['threat_model']['why']}")
        print(f"clean accuracy:       {result['clean_accuracy']:.4f}")
        for note in result["notes"]:
            print(f"note: {note}", file=sys.stderr)
        print(f"adversarial accuracy: {result['adversarial_accuracy']:.4f}  "
              f"(eps={result['eps']}, norm={result['norm']}, {result['n_test']} test points)")
    return 0


def _evaluate_result(args: argparse.Namespace) -> dict[str, Any]:
    """What `qulab evaluate --json` prints, computed."""
    from qulab.evaluation.pipeline import fit_model, run_attack

    start = time.perf_counter()
    if args.defence is not None:
        with _stdout_for(args):
            prepared = _prepare(args, args.eps)
            result = {**_header(prepared, args), **_defended(args, prepared, None)}
        result["seconds"] = time.perf_counter() - start
        return result
    with _stdout_for(args):
        prepared = _prepare(args, args.eps)
        model = prepared.own or fit_model(prepared.scenario, prepared.split)
        outcome = run_attack(prepared.scenario, prepared.split, model)
    return {**_header(prepared, args), **outcome.summary(), "attack_seconds": outcome.seconds,
            "fit_seconds": model.fit_seconds, "seconds": time.perf_counter() - start}


def _curve_grid(args: argparse.Namespace):
    from qulab.evaluation.curves import eps_grid

    if args.eps is not None:
        if args.steps is not None:
            raise UsageError("--steps goes with --eps-max, not with an --eps list")
        return tuple(map(float, args.eps))
    if args.steps is None:
        raise UsageError("--eps-max needs --steps N (at least 2)")
    return tuple(map(float, eps_grid(args.eps_max, args.steps)))


def _curve(args: argparse.Namespace) -> int:
    result = _saved_result(args)
    if args.json:
        print(json.dumps(result))
        return 0
    if args.defence is not None:
        _print_defended(result)
        return 0
    exact = result.get("exact_accuracy")
    print(f"{ATTACKS.get(result['attack']).label} on {result['n_test']} test points (norm {result['norm']}); "
          f"clean accuracy {result['clean_accuracy']:.4f}")
    print(f"{'eps':>10}  {'accuracy':>9}" + (f"  {'exact':>9}" if exact else ""))
    for i, e in enumerate(result["eps"]):
        row = f"{e:10.4g}  {result['adversarial_accuracy'][i]:9.4f}"
        print(row + (f"  {exact[i]:9.4f}" if exact else ""))
    print(f"({result['method']}; {result['seconds']:.2f} s)")
    return 0


def _curve_result(args: argparse.Namespace) -> dict[str, Any]:
    """What `qulab curve --json` prints, computed."""
    import numpy as np

    from qulab.evaluation.curves import attack_curve, exact_curve
    from qulab.evaluation.pipeline import fit_model

    grid = np.array(_curve_grid(args), dtype=float)
    start = time.perf_counter()
    if args.defence is not None:
        with _stdout_for(args):
            prepared = _prepare(args, float(grid.max()))
            result = {**_header(prepared, args), **_defended(args, prepared, tuple(map(float, grid)))}
        result["seconds"] = time.perf_counter() - start
        return result
    with _stdout_for(args):
        prepared = _prepare(args, float(grid.max()))
        model = prepared.own or fit_model(prepared.scenario, prepared.split)
        curve = attack_curve(prepared.scenario, prepared.split, model, grid)
        exact = exact_curve(prepared.split, model, grid, prepared.scenario.norm)
    result = {**_header(prepared, args), "clean_accuracy": curve.clean, "eps": list(curve.eps),
              "adversarial_accuracy": list(curve.accuracy), "n_test": len(prepared.split.y_test),
              "method": curve.method, "attack_seconds": curve.seconds, "fit_seconds": model.fit_seconds}
    if exact is not None:
        result["exact_accuracy"] = list(exact.accuracy)
    result["seconds"] = time.perf_counter() - start
    return result


# --------------------------------------------------------------------------------------------------------------
# The run store: every evaluate / curve is saved; the same experiment is answered from the store

# What each saving command computes (a sweep's cells run these too), and the experiment its flags name
# (``EXPERIMENTS[command](args, check) -> (value, extra)``: the run's id, before anything is computed). A new
# command (poisoning, privacy …) that adds itself to both is saved, answered from the store and sweepable.
RESULTS = {"evaluate": _evaluate_result, "curve": _curve_result}


def _file_sha256(path: str) -> str | None:
    """The file's content hash; None when it cannot be read, is not a regular file or is over the upload limit
    (reading it for the run then says why): `csv:/dev/zero` must not be read to the end."""
    import hashlib

    from qulab.data.upload import UPLOAD_LIMITS

    file = Path(path)
    try:
        if not file.is_file() or file.stat().st_size > UPLOAD_LIMITS.max_bytes:
            return None
        with file.open("rb") as opened:
            return hashlib.file_digest(opened, "sha256").hexdigest()
    except OSError:
        return None


def _experiment(args: argparse.Namespace, check: bool = True) -> tuple[Scenario, dict[str, Any]]:
    """The scenario the flags name, and what else the numbers depend on (a curve's budgets, --clip, the content of
    csv files): together they name the run. A csv target proposed here is kept in ``args``, proposed once."""
    eps = max(_curve_grid(args)) if args.command == "curve" else args.eps
    scenario, target = _scenario(args, eps, check, model_file=_model_file(args))
    if target is not None:
        args.target = target
    extra: dict[str, Any] = {}
    if args.command == "curve":
        extra["eps_grid"] = list(_curve_grid(args))
    if args.clip is not None:
        extra["clip"] = list(args.clip)
    return scenario, {**extra, **data_files(args)}


def data_files(args: argparse.Namespace) -> dict[str, Any]:
    """What a command's csv files add to its experiment: their content hashes (and the test file's name)."""
    extra: dict[str, Any] = {}
    if args.data.startswith(CSV_PREFIX):
        extra["data_sha256"] = _file_sha256(_csv_path(args.data, "--data"))
    if args.test_data is not None:
        extra["test_data"] = args.test_data
        extra["test_data_sha256"] = _file_sha256(_csv_path(args.test_data, "--test-data"))
    return extra


def _poison_result(args: argparse.Namespace) -> dict[str, Any]:
    from qulab.cli_poison import poison_result

    return poison_result(args)


def _poison_experiment(args: argparse.Namespace, check: bool = True) -> tuple[Any, dict[str, Any]]:
    from qulab.cli_poison import experiment

    return experiment(args, check)


def _privacy_result(args: argparse.Namespace) -> dict[str, Any]:
    from qulab.threats.privacy import command as privacy_command

    return privacy_command.result(args, sys.modules[__name__])


def _privacy_experiment(args: argparse.Namespace, check: bool = True) -> tuple[Any, dict[str, Any]]:
    from qulab.threats.privacy import command as privacy_command

    return privacy_command.experiment(args, sys.modules[__name__], check)


EXPERIMENTS = {"evaluate": _experiment, "curve": _experiment}
# `qulab poison` and `qulab privacy` plug in here: saved (kind "poisoning" / "privacy"), answered and swept alike.
RESULTS.update(poison=_poison_result, privacy=_privacy_result)
EXPERIMENTS.update(poison=_poison_experiment, privacy=_privacy_experiment)


def _open_store(args: argparse.Namespace):
    from qulab.store import RunStore

    return RunStore(args.store)


def _saved_result(args: argparse.Namespace) -> dict[str, Any]:
    """The command's result: from the store when the same experiment ran before (said on stderr), else computed
    and saved."""
    from qulab.store import id_for, run_for
    from qulab.store.results import timings_of

    store = _open_store(args)
    scenario, extra = EXPERIMENTS[args.command](args)
    stored = store.get(id_for(scenario, extra=extra))
    if stored is not None and not stored.failed:
        print(f"qulab: note: this experiment is in the run store ({stored.id[:12]}, {stored.created}); showing "
              f"its saved result (`qulab runs delete {stored.id[:12]}` to compute it again)", file=sys.stderr)
        return stored.results
    work_args = args if args.timeout is None else _picklable(args)
    result = run_bounded(RESULTS[args.command], (work_args,), args.timeout, f"qulab {args.command}",
                         HINTS[args.command])
    store.put(run_for(scenario, result, timings_of(result), extra=extra))
    return result


# How to make a command's work cheaper, said when --timeout stops it.
HINTS = {"evaluate": "try a smaller --param max_iter, a faster attack or fewer test points",
         "curve": "try fewer budgets (--steps or a shorter --eps list), a faster attack or fewer test points",
         "poison": "try fewer --rates, a smaller attack --param or a smaller data set",
         "privacy": "try a smaller data set (--data-param), smaller attack parameters or no DP mitigation"}


def _picklable(args: argparse.Namespace) -> argparse.Namespace:
    """The flags for a child under --timeout: without the opened --model-file (its process stays here; the child
    reopens the file) and so without the model name filled in beside it."""
    state = dict(vars(args))
    if state.pop("opened_model_file", None) is not None:
        state["model"] = None
    return argparse.Namespace(**state)


def cell_result(command: str, argv: list[str]) -> dict[str, Any]:
    """A sweep cell on a Dask worker: the JSON `qulab COMMAND ARGV --json` prints, computed (never stored here:
    the sweep stores results as they come back)."""
    args = build_parser().parse_args([command, *argv, "--json"])
    return RESULTS[command](args)


def _error_text(error: BaseException) -> str:
    if isinstance(error, _user_errors()):
        return " ".join(str(error.args[0] if error.args else error).split())
    return f"{type(error).__name__}: {' '.join(str(error).split())}".removesuffix(": ")


def _sweep(args: argparse.Namespace) -> int:
    from qulab.store import id_for, run_for
    from qulab.store.results import timings_of
    from qulab.store.sweep import Job, dask_client, flag_argv, load_sweep, run_jobs

    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    sweep = load_sweep(args.file, tuple(RESULTS))
    if "timeout" in {name for name, _ in (*sweep.grid, *sweep.fixed)}:  # parsed as a flag, it would be ignored
        raise UsageError(f"{args.file} gives timeout, which a sweep cannot keep: a Dask worker runs each cell to its "
                         "end; run fewer or cheaper cells, or one cell with `qulab COMMAND ... --timeout SECONDS`")
    store = _open_store(args)
    parser = build_parser()
    cells: list[dict[str, Any]] = []  # flags, id, status, result, error
    experiments: dict[str, tuple[Scenario, dict[str, Any]]] = {}
    jobs: dict[str, Job] = {}
    for number, flags in enumerate(sweep.cells(), 1):
        argv = flag_argv(flags)
        try:  # a flag the CLI refuses refuses the whole file, before anything runs
            cell_args = parser.parse_args([sweep.command, *argv, "--json"])
            scenario, extra = EXPERIMENTS[sweep.command](cell_args, check=False)
            run_id = id_for(scenario, extra=extra)
        except _user_errors() as error:
            raise UsageError(f"cell {number} ({' '.join(argv)}): {_error_text(error)}") from None
        cell = {"flags": flags, "id": run_id, "status": "pending", "result": None, "error": None}
        cells.append(cell)
        experiments[run_id] = scenario, extra
        try:  # what the registries refuse (an attack this model cannot take) is a failed cell
            scenario.validate()
        except InvalidInput as error:
            store.put(run_for(scenario, {}, extra=extra, error=_error_text(error)))
            continue
        jobs.setdefault(run_id, Job(run_id, sweep.command, tuple(argv)))
    done = store.done(jobs)
    for job_id in done:
        del jobs[job_id]

    if jobs:
        from tqdm import tqdm

        with dask_client(args.scheduler, args.workers) as client:
            print(f"qulab: sweep of {len(cells)} cells: {len(jobs)} to compute on {args.scheduler or 'a local cluster'}"
                  f"; Dask dashboard: {client.dashboard_link}", file=sys.stderr)

            def finished(job: Job, result: dict[str, Any] | None, error: BaseException | None) -> None:
                scenario, extra = experiments[job.key]
                if error is None:
                    store.put(run_for(scenario, result, timings_of(result), extra=extra))
                else:
                    store.put(run_for(scenario, {}, extra=extra, error=_error_text(error)))

            with tqdm(total=len(jobs), desc="cells", unit="cell", file=sys.stderr, disable=None) as bar:
                run_jobs(client, list(jobs.values()), cell_result, finished, bar.update)
    for cell in cells:
        run = store.get(cell["id"])
        if run is None:  # deleted by another process meanwhile
            raise UsageError(f"the run {cell['id'][:12]} left the store {store.path} while the sweep ran")
        cell["status"] = ("failed" if run.failed else "computed" if cell["id"] in jobs else "skipped")
        cell["result"], cell["error"] = (None if run.failed else run.results), run.error
    counts = {status: sum(c["status"] == status for c in cells) for status in ("computed", "skipped", "failed")}
    if args.json:
        print(json.dumps({"cells": len(cells), **counts, "store": str(store.path), "results": cells}))
        return 0
    varied = [name for name, _ in sweep.grid]
    for cell in cells:
        what = " ".join(f"{name}={cell['flags'][name]}" for name in varied)
        result = cell["result"]
        if result is None:
            outcome = f"failed: {cell['error']}"
        elif "adversarial_accuracy" in result:
            adversarial = result["adversarial_accuracy"]
            outcome = (f"clean {result['clean_accuracy']:.4f}  adversarial "
                       f"{adversarial[-1] if isinstance(adversarial, list) else adversarial:.4f}")
        else:
            outcome = cell["status"]
        print(f"{cell['id'][:12]}  {what}  {outcome}")
    print(f"{len(cells)} cells: {counts['computed']} computed, {counts['skipped']} already in the store, "
          f"{counts['failed']} failed (store: {store.path})")
    return 0


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="PATH", help="run store file (default: $QULAB_STORE, else "
                                                        "~/.local/share/qulab/runs.sqlite3)")


def _runs(args: argparse.Namespace) -> int:
    store = _open_store(args)
    if args.runs_command == "list":
        filters = {key: value for key, value in (("dataset", args.data), ("model", args.model),
                                                 ("attack", args.attack)) if value is not None}
        runs = store.list(args.kind, limit=args.limit, **filters)
        if args.json:
            print(json.dumps([run.to_dict() for run in runs]))
            return 0
        for run in runs:
            print(_run_line(run))
        if not runs:
            print(f"no runs in {store.path}", file=sys.stderr)
        return 0
    ids = [store.resolve(prefix) for prefix in args.ids]
    if args.runs_command == "show":
        runs = [store.get(run_id) for run_id in ids]
        if args.json:
            print(json.dumps(runs[0].to_dict() if len(runs) == 1 else [run.to_dict() for run in runs]))
            return 0
        for run in runs:
            print(json.dumps(run.to_dict(), indent=2))
        return 0
    deleted = store.delete(ids)
    print(json.dumps({"deleted": ids})) if args.json else print(f"deleted {deleted} run(s) from {store.path}")
    return 0


def _run_line(run) -> str:
    """One run in a line: id, time, kind, what ran and its headline number."""
    e = run.experiment
    what = " ".join(str(e[key]) for key in ("dataset", "model", "attack", "defence") if e.get(key))
    budget = f"eps {e['eps_grid'][0]:g}..{e['eps_grid'][-1]:g}" if "eps_grid" in e else (
        f"eps {e['eps']:g}" if "eps" in e else "")
    if run.failed:
        outcome = f"failed: {run.error}"
    elif "adversarial_accuracy" in run.results:
        adversarial = run.results["adversarial_accuracy"]
        last = f"{adversarial[-1]:.3f} at the largest" if isinstance(adversarial, list) else f"{adversarial:.3f}"
        outcome = f"clean {run.results['clean_accuracy']:.3f} adversarial {last}"
    else:
        outcome = ""
    return f"{run.id[:12]}  {run.created[:19]}  {run.kind:<9} {what}  {budget}  {outcome}".rstrip()


def _supported_models(attack: AttackSpec) -> list[str]:
    """Models the attack can run on, with image data assumed where the attack or the model needs it."""
    return [model.name for model in MODELS
            if attack.unsupported_reason(model, n_classes=LIST_CLASSES,
                                         images=attack.needs_neural_images or model.needs_images) is None]


def _model_files(attack: AttackSpec) -> dict[str, Any]:
    """Which model files the attack runs on: any file that answers with scores, or with labels only (it needs only
    answers), and the .skops estimators QuLab opens as white boxes whose registry entry it supports."""
    from qulab.core.experiment import MODEL_FILE_PREFIX
    from qulab.core.threat import DECISIONS, SCORES
    from qulab.models.files import ESTIMATORS, black_box_spec

    def takes(*answers: str) -> bool:
        spec = black_box_spec(MODEL_FILE_PREFIX, "a model file", frozenset(answers))
        return attack.unsupported_reason(spec, n_classes=LIST_CLASSES, images=True) is None

    supported = set(_supported_models(attack))
    white = [name for name in ESTIMATORS.values() if name is not None and name in supported
             and MODELS.get(name).exposes - {SCORES, DECISIONS}]
    return {"any": takes(SCORES, DECISIONS), "labels_only": takes(DECISIONS), "skops_white_box": white}


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
                     "supports": _supported_models(a), "model_file": _model_files(a),
                     "params": _param_info(a.params)}
                    for a in ATTACKS],
        "defences": _defences(),
        **_poisoning_listing(),
        **_privacy_listing(),
    }


def _poisoning_listing() -> dict[str, Any]:
    from qulab.cli_poison import listing as poisoning_listing

    return poisoning_listing()


def _privacy_listing() -> dict[str, Any]:
    from qulab.threats.privacy.command import listing as privacy_listing

    return privacy_listing()


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
        files = a["model_file"]
        print(f"  {'':<20} --model-file: " + ("any, labels-only too" if files["labels_only"] else
                                             "any that answers with scores" if files["any"] else
                                             f".skops {', '.join(files['skops_white_box'])}"
                                             if files["skops_white_box"] else "none"))
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
    from qulab.threats.privacy.command import print_listing as print_privacy

    print_privacy(info)
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
    return (UsageError, InvalidInput, WorkStopped) + ((upload.DataError,) if upload is not None else ())


def _poison(args: argparse.Namespace) -> int:
    from qulab.cli_poison import poison

    return poison(args)


def _privacy(args: argparse.Namespace) -> int:
    from qulab.threats.privacy import command as privacy_command

    return privacy_command.run(args, sys.modules[__name__])  # this module's helpers (as __main__ too)


COMMANDS = {"app": _app, "list": _list, "evaluate": _evaluate, "curve": _curve, "runs": _runs, "sweep": _sweep,
            "poison": _poison, "privacy": _privacy}
COMMANDS["report"] = report_command.run


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
