"""Sweeps: a grid of CLI flag values, each cell one `qulab evaluate` (or `curve`), run on Dask.

A sweep file (TOML) names the command, a ``[grid]`` of flag values and the ``[fixed]`` flags every cell shares::

    command = "evaluate"                        # or "curve", "poison", "privacy"; default "evaluate"
    [grid]
    data = ["breast_cancer", "iris"]
    model = ["logistic_regression", "linear_svm"]
    attack = ["fgm", "pgd"]
    eps = [0.05, 0.1, 0.2]
    [fixed]
    seed = 0
    param = ["max_iter=10"]                     # a repeatable flag takes a list

Keys are the CLI's flag names (``test-size`` or ``test_size``). The cells are the grid's product, in the file's
order. Dask runs them (an in-process ``LocalCluster``, or a scheduler's address); the caller stores each result
as it finishes, so a stopped sweep keeps what it computed and a rerun computes only the rest.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qulab.core.registry import InvalidInput

COMMANDS = ("evaluate", "curve")  # the CLI passes every command it can save
# Flags a sweep sets itself (or that make no sense per cell).
RESERVED = {"json", "store", "help"}
Scalar = str | int | float | bool


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file: the command, the grid (flag → values, in file order) and the fixed flags."""

    command: str = "evaluate"
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    fixed: tuple[tuple[str, Any], ...] = field(default=())

    def cells(self) -> list[dict[str, Any]]:
        """Each cell's flags: the fixed ones, then one value of every grid flag (the grid's product in order)."""
        names = [name for name, _ in self.grid]
        return [{**dict(self.fixed), **dict(zip(names, values, strict=True))}
                for values in itertools.product(*(values for _, values in self.grid))]


def _flag_name(key: str, table: str) -> str:
    if not isinstance(key, str) or not key.replace("-", "_").isidentifier():
        raise InvalidInput(f"The sweep's [{table}] key {key!r} is not a flag name.")
    name = key.replace("_", "-")
    if name in RESERVED:
        raise InvalidInput(f"The sweep sets --{name} itself; leave it out of [{table}].")
    return name


def _value(value: Any, where: str) -> Any:
    """A flag's value: a scalar, or a list of scalars for a repeatable flag (--param, --model-param …)."""
    if isinstance(value, list):
        if not all(isinstance(v, Scalar) for v in value):
            raise InvalidInput(f"The sweep's {where} holds a list of lists or tables; give plain values.")
        return tuple(value)
    if not isinstance(value, Scalar):
        raise InvalidInput(f"The sweep's {where} must be a plain value, not {value!r}.")
    return value


def parse_sweep(text: str, source: str = "the sweep file", commands: Sequence[str] = COMMANDS) -> Sweep:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"{source} is not valid TOML ({error}).") from None
    unknown = sorted(set(data) - {"command", "grid", "fixed"})
    if unknown:
        raise InvalidInput(f"{source} has unknown entries {', '.join(unknown)}; it takes command, [grid] and "
                           "[fixed].")
    command = data.get("command", "evaluate")
    if command not in commands:
        raise InvalidInput(f"{source}: command must be one of {', '.join(commands)}, not {command!r}.")
    grid_table, fixed_table = data.get("grid", {}), data.get("fixed", {})
    if not isinstance(grid_table, dict) or not isinstance(fixed_table, dict):
        raise InvalidInput(f"{source}: [grid] and [fixed] must be tables.")
    if not grid_table:
        raise InvalidInput(f"{source} has no [grid] table; give each varied flag a list of values.")
    grid = []
    for key, values in grid_table.items():
        name = _flag_name(key, "grid")
        if not isinstance(values, list) or not values:
            raise InvalidInput(f"The sweep's [grid] {key} must be a non-empty list of values, not {values!r}.")
        grid.append((name, tuple(_value(v, f"[grid] {key}") for v in values)))
    fixed = [(_flag_name(key, "fixed"), _value(value, f"[fixed] {key}")) for key, value in fixed_table.items()]
    both = sorted({name for name, _ in grid} & {name for name, _ in fixed})
    if both:
        raise InvalidInput(f"{source} gives {', '.join(both)} in both [grid] and [fixed]; keep one.")
    return Sweep(command, tuple(grid), tuple(fixed))


def load_sweep(path: str | Path, commands: Sequence[str] = COMMANDS) -> Sweep:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"Cannot read the sweep file {path} ({error.strerror}).") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"The sweep file {path} is not UTF-8 text.") from None
    return parse_sweep(text, f"The sweep file {path}", commands)


def flag_argv(flags: Mapping[str, Any]) -> list[str]:
    """Command-line arguments for a cell's flags: ``--name value``, repeated for a list, alone for ``true``."""
    argv: list[str] = []
    for name, value in flags.items():
        for one in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(one, bool):
                if one:
                    argv.append(f"--{name}")
            else:
                argv += [f"--{name}", repr(one) if isinstance(one, float) else str(one)]
    return argv


# ------------------------------------------------------------------------------------------------------------
# Dask


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Any]:
    """A Dask client: to the scheduler at ``scheduler`` (tcp://HOST:PORT), else to an in-process LocalCluster of
    ``workers`` single-threaded worker processes (closed on exit)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as error:
            raise InvalidInput(f"No Dask scheduler answers at {scheduler} ({error}).") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


@dataclass(frozen=True)
class Job:
    """One cell to compute: its key (the run id) and what the worker runs."""

    key: str
    command: str
    argv: tuple[str, ...]


def run_jobs(client: Any, jobs: Sequence[Job], compute: Callable[[str, list[str]], dict[str, Any]],
             finished: Callable[[Job, dict[str, Any] | None, BaseException | None], None],
             progress: Callable[[int], None] | None = None) -> None:
    """Submit every job to Dask and call ``finished(job, result, error)`` as each one ends, in finishing order;
    a failed job passes its exception and the others go on."""
    from distributed import as_completed

    by_future = {client.submit(compute, job.command, list(job.argv), key=f"qulab-{job.key}", pure=False): job
                 for job in jobs}
    for future in as_completed(by_future):
        job = by_future.pop(future)
        error = future.exception()
        finished(job, None if error is not None else future.result(), error)
        future.release()
        if progress is not None:
            progress(1)
