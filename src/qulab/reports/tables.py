"""Tables of runs: one value that a page shows, a report prints and both offer as CSV and JSON.

A run here is anything with the run store's fields (``id``, ``kind``, ``experiment``, ``results``, ``versions``,
``timings``, ``created``, ``error``); the functions only read them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SHORT_ID = 12  # hex digits of a run's id a person reads; the full id goes into downloads
# Scalar results worth a column in the list of runs, per kind of run, in reading order, with their headers. A
# list of runs has the columns of the kinds it holds; a kind not named here (an older store's) reads as evasion.
_EVASION_NUMBERS = (("clean_accuracy", "clean accuracy"), ("adversarial_accuracy", "adversarial accuracy"),
                    ("attack_success_rate", "attack success rate"), ("n_test", "test points"))
KEY_NUMBERS = {
    "evasion": _EVASION_NUMBERS,
    "defence": _EVASION_NUMBERS,
    "poisoning": (("clean_accuracy", "clean accuracy"), ("poisoned_accuracy", "poisoned accuracy"),
                  ("attack_success_rate", "attack success rate"), ("defended_accuracy", "defended accuracy"),
                  ("n_poisoned", "poisoned points")),
    "privacy": (("train_accuracy", "train accuracy"), ("test_accuracy", "test accuracy"), ("auc", "AUC"),
                ("advantage", "membership advantage"), ("agreement", "agreement"),
                ("attack_accuracy", "attack accuracy"), ("baseline_accuracy", "baseline accuracy"),
                ("epsilon", "epsilon (DP)")),
}


def key_numbers(kind: str) -> tuple[tuple[str, str], ...]:
    """The (result, header) pairs a run of ``kind`` is listed with."""
    return KEY_NUMBERS.get(kind, _EVASION_NUMBERS)


def number_columns(runs: Sequence[Any]) -> tuple[tuple[str, str], ...]:
    """The key-number columns for these runs: each kind's they hold, in :data:`KEY_NUMBERS`' order, once each."""
    kinds = {run.kind if run.kind in KEY_NUMBERS else "evasion" for run in runs}
    columns: dict[str, str] = {}
    for kind, numbers in KEY_NUMBERS.items():
        if kind in kinds:
            columns.update((key, header) for key, header in numbers if key not in columns)
    return tuple(columns.items())


@dataclass(frozen=True)
class Table:
    """Named columns and rows of plain values (numbers, text, None)."""

    name: str  # file name stem of its downloads
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @classmethod
    def from_frame(cls, name: str, title: str, frame: Any) -> Table:
        """A pandas DataFrame as a table (what pages show), cells as plain Python values and missing ones None."""
        plain_frame = frame.astype(object).where(frame.notna(), None)
        rows = tuple(tuple(v.item() if hasattr(v, "item") else v for v in row) for row in plain_frame.values.tolist())
        return cls(name, title, tuple(str(c) for c in frame.columns), rows)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_csv(self) -> str:
        """Comma-separated, header first; numbers in full precision so the file reads back the same."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([_csv_cell(v) for v in row] for row in self.rows)
        return out.getvalue()

    def to_json(self) -> str:
        """A JSON array with one object per row (non-finite numbers as null, as JSON has none)."""
        return json.dumps([{k: _json_value(v) for k, v in r.items()} for r in self.records()], allow_nan=False)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else value


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def created_text(created: Any) -> str:
    """When a run was made, in UTC to the second, whether stored as a timestamp, a datetime or ISO text."""
    if isinstance(created, int | float) and not isinstance(created, bool):
        created = datetime.fromtimestamp(created, UTC)
    elif isinstance(created, str):
        try:
            created = datetime.fromisoformat(created)
        except ValueError:
            return created
    if isinstance(created, datetime):
        if created.tzinfo is not None:
            created = created.astimezone(UTC)
        return created.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if created is None else str(created)


def plain(value: Any) -> Any:
    """A value as a table cell: numbers and text as they are, parameter mappings as k=v text."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={plain(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return ", ".join(str(plain(v)) for v in value)
    return value


# Where a run's results keep a curve: the budgets' key and the accuracies' key. `qulab curve` gives the attack's
# curve under "eps"; a defence evaluation gives the defended model's under "eps_grid" beside its own budget.
CURVE_KEYS = (("eps", "adversarial_accuracy"), ("eps_grid", "curve_defended"))


def _grid(run: Any) -> tuple[str, str] | None:
    results = run.results or {}
    for grid, accuracy in CURVE_KEYS:
        eps, values = results.get(grid), results.get(accuracy)
        if isinstance(eps, list) and isinstance(values, list) and eps and len(eps) == len(values):
            return grid, accuracy
    return None


def curve_of(run: Any) -> tuple[list[float], list[float]] | None:
    """The accuracy-against-budget points a run holds (a curve run's, or a defence's defended curve), else None."""
    keys = _grid(run)
    if keys is None:
        return None
    results = run.results
    return [float(e) for e in results[keys[0]]], [float(a) for a in results[keys[1]]]


def budget_of(run: Any) -> Any:
    """The budget a run names: its eps, or its curve's largest when the run is a curve."""
    eps = (run.results or {}).get("eps", (run.experiment or {}).get("eps"))
    return max(eps) if isinstance(eps, list) and eps else eps


def runs_table(runs: Sequence[Any]) -> Table:
    """One row per run: what it was (kind, data, model, attack, norm, budget, defence, seed), its key numbers
    (the columns of the kinds of run listed; a curve's adversarial accuracy is at its largest budget) and when
    it was made."""
    numbers_of = number_columns(runs)
    columns = ("id", "kind", "data", "model", "attack", "norm", "eps", "defence", "seed",
               *(header for _, header in numbers_of), "created", "error")
    rows = []
    for run in runs:
        experiment, results = run.experiment or {}, run.results or {}
        numbers = []
        for key, _ in numbers_of:
            value = results.get(key)
            numbers.append(value[-1] if isinstance(value, list) and value else value)
        rows.append((run.id, run.kind, experiment.get("dataset"), experiment.get("model"), experiment.get("attack"),
                     experiment.get("norm"), budget_of(run), experiment.get("defence"), experiment.get("seed"),
                     *numbers, created_text(run.created), run.error))
    return Table("runs", "Runs", columns, tuple(rows))


def experiment_table(run: Any) -> Table:
    """The experiment field by field (parameters as k=v text)."""
    rows = tuple((name, plain(value)) for name, value in (run.experiment or {}).items())
    return Table(f"experiment-{run.id[:SHORT_ID]}", "Experiment", ("field", "value"), rows)


def _repeated(run: Any, name: str, value: Any) -> bool:
    """Whether a result only repeats the experiment (the CLI's header: data, model, eps…) or a timing, or is an
    empty clip: the report shows those once, in their own table."""
    experiment = run.experiment or {}
    same_field = experiment.get("dataset" if name == "data" else name, object()) == value
    return same_field or name in (run.timings or {}) or (name == "clip" and value is None)


def results_table(run: Any) -> Table:
    """Every single-valued result (lists belong to the curve table, nested results are flattened with dots), the
    key numbers first, without what the experiment and timing tables already say."""
    flat = [(name, value) for name, value in _flat(run.results or {})
            if not isinstance(value, list | tuple) and not _repeated(run, name, value)]
    first = [key for key, _ in key_numbers(run.kind)]
    flat.sort(key=lambda item: first.index(item[0]) if item[0] in first else len(first))
    return Table(f"results-{run.id[:SHORT_ID]}", "Numbers", ("result", "value"), tuple(flat))


def _flat(mapping: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def curve_table(run: Any) -> Table | None:
    """The curve point by point: the budget and every per-budget list the results hold (same length)."""
    keys = _grid(run)
    if keys is None:
        return None
    eps = curve_of(run)[0]
    series = [(name, value) for name, value in _flat(run.results or {})
              if name != keys[0] and isinstance(value, list) and len(value) == len(eps)]
    rows = tuple((e, *(s[i] for _, s in series)) for i, e in enumerate(eps))
    return Table(f"curve-{run.id[:SHORT_ID]}", "Curve", ("eps", *(name for name, _ in series)), rows)


def versions_table(run: Any) -> Table:
    """The library versions and timings the run was made with."""
    rows = [(f"{name} version", value) for name, value in (run.versions or {}).items()]
    rows += [(f"{name} (s)" if not name.endswith("seconds") else name, value)
             for name, value in (run.timings or {}).items()]
    return Table(f"versions-{run.id[:SHORT_ID]}", "Versions and timings", ("what", "value"), tuple(rows))


# What the Runs page filters on: a run's kind, and top-level experiment fields.
FILTERS = (("kind", "Kind"), ("dataset", "Data"), ("model", "Model"), ("attack", "Attack"), ("defence", "Defence"))


def field_of(run: Any, name: str) -> Any:
    """A filterable field of a run: its kind, or a top-level experiment field (None when it has none)."""
    return run.kind if name == "kind" else (run.experiment or {}).get(name)


def filter_choices(runs: Sequence[Any]) -> dict[str, list[Any]]:
    """Each filter's values among ``runs``, sorted (None, a run without that field, last)."""
    return {name: sorted({field_of(run, name) for run in runs}, key=lambda v: (v is None, str(v)))
            for name, _ in FILTERS}


def filter_runs(runs: Sequence[Any], wanted: Mapping[str, Iterable[Any]]) -> list[Any]:
    """The runs whose every filtered field is one of the wanted values; a filter with no values keeps all."""
    wanted = {name: set(values) for name, values in wanted.items() if values}
    return [run for run in runs if all(field_of(run, name) in values for name, values in wanted.items())]


def comparison_table(runs: Sequence[Any]) -> Table:
    """Runs side by side, one column each (headed by the short id): every experiment field any of them has, then
    every single-valued result not already shown as a field (eps, norm); the last column says whether the runs
    differ in that row."""
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys((run.experiment or {}).keys()))
    results: dict[str, None] = {}
    for run in runs:
        results.update(dict.fromkeys(name for name, value in _flat(run.results or {})
                                     if not isinstance(value, list | tuple) and name not in names))
    rows = []
    for name in names:
        values = [plain((run.experiment or {}).get(name)) for run in runs]
        rows.append((name, *values, len({repr(v) for v in values}) > 1))
    flat = [dict(_flat(run.results or {})) for run in runs]
    for name in results:
        values = [f.get(name) for f in flat]
        rows.append((name, *values, len({repr(v) for v in values}) > 1))
    created = [created_text(run.created) for run in runs]
    rows.append(("created", *created, len(set(created)) > 1))
    columns = ("field", *(run.id[:SHORT_ID] for run in runs), "differs")
    return Table("comparison", "Side by side", columns, tuple(rows))
