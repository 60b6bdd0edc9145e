"""`qulab`: the same library as the pages, from a terminal.

    qulab app [--port 8501] [--address localhost]
    qulab evaluate --eps 0.1 [--data synthetic] [--model logistic_regression] [--attack fgm] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

from qulab.attacks import ATTACKS
from qulab.datasets import DATASETS, SCALINGS
from qulab.models import MODELS
from qulab.registry import InvalidInput
from qulab.scenario import NORMS, Scenario, freeze

APP_SCRIPT = Path(__file__).parent / "app.py"


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
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be non-negative, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qulab", description="QuLab: an interactive lab for adversarial machine learning.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    app = commands.add_parser("app", help="start the Streamlit app (as `make run` does)")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--address", default="localhost", help="interface to listen on (default: localhost only)")

    evaluate = commands.add_parser("evaluate", help="clean and adversarial accuracy for one scenario")
    evaluate.add_argument("--data", default="synthetic", choices=DATASETS.names())
    evaluate.add_argument("--model", default="logistic_regression", choices=MODELS.names())
    evaluate.add_argument("--attack", default="fgm", choices=ATTACKS.names())
    evaluate.add_argument("--eps", type=_non_negative, required=True, help="attack budget")
    evaluate.add_argument("--norm", default="inf", choices=NORMS)
    evaluate.add_argument("--param", action="append", default=[], metavar="K=V",
                          help="attack parameter (repeatable)")
    evaluate.add_argument("--scaling", default="none", choices=SCALINGS)
    evaluate.add_argument("--seed", type=int, default=42)
    evaluate.add_argument("--test-size", type=float, default=0.2)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _attack_params(attack: str, pairs: list[str]) -> dict[str, Any]:
    declared = {p.name: p for p in ATTACKS.get(attack).params}
    params = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise UsageError(f"--param expects K=V, not {pair!r}")
        if name not in declared:
            raise UsageError(f"{attack} has no parameter {name!r}; it has: {', '.join(declared) or 'none'}")
        params[name] = declared[name].parse(text)
    return params


def _evaluate(args: argparse.Namespace) -> int:
    from qulab.pipeline import evaluate

    scenario = Scenario(dataset=args.data, model=args.model, attack=args.attack, eps=args.eps,
                        norm=args.norm, seed=args.seed, test_size=args.test_size, scaling=args.scaling,
                        attack_params=freeze(_attack_params(args.attack, args.param)))
    summary = evaluate(scenario).summary()
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"clean accuracy:       {summary['clean_accuracy']:.4f}")
        print(f"adversarial accuracy: {summary['adversarial_accuracy']:.4f}  "
              f"(eps={summary['eps']}, norm={summary['norm']}, {summary['n_test']} test points)")
    return 0


def _app(args: argparse.Namespace) -> int:
    command = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), "--server.port", str(args.port),
               "--server.address", args.address, "--browser.gatherUsageStats", "false"]
    return subprocess.call(command)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return {"app": _app, "evaluate": _evaluate}[args.command](args)
    except (UsageError, InvalidInput) as error:
        message = error.args[0] if error.args else str(error)
        print(f"qulab: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
