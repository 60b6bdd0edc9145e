"""One saved evaluation: the experiment value, its results, the library versions and timings.

A run is named by its experiment: the id is the SHA-256 of the canonical JSON of the kind and the experiment
dict (sorted keys, no spaces), so the same experiment asked twice — from a page, the CLI or a sweep cell — is
recognised and not computed again. Versions, timings and the time it was made are not part of the name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Protocol

from qulab.core.registry import InvalidInput

# The distributions whose versions a result depends on (torch may be absent: recorded as None).
VERSIONED = {"qulab": "qulab", "art": "adversarial-robustness-toolbox", "sklearn": "scikit-learn",
             "numpy": "numpy", "torch": "torch"}


class Experiment(Protocol):
    """Any experiment value (Scenario, PoisoningScenario, PrivacyScenario…): plain data through ``to_dict``."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Run:
    """One evaluation as the store keeps it; ``error`` is the one-sentence reason when it failed (results empty)."""

    id: str
    kind: str
    experiment: dict[str, Any]
    results: dict[str, Any]
    versions: dict[str, str | None] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    created: str = ""
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        return cls(**{name: data[name] for name in ("id", "kind", "experiment", "results", "versions", "timings",
                                                   "created", "error")})


def canonical_json(value: Any) -> str:
    """The one spelling of a JSON value that ids are computed from: sorted keys, no spaces, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def run_id(kind: str, experiment: Mapping[str, Any]) -> str:
    """The run's name: SHA-256 hex of the canonical JSON of ``{"kind": kind, "experiment": experiment}``."""
    if not isinstance(kind, str) or not kind:
        raise InvalidInput(f"A run's kind must be a non-empty name, not {kind!r}.")
    try:
        text = canonical_json({"kind": kind, "experiment": dict(experiment)})
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"A run's experiment must be plain JSON data ({error}).") from None
    return hashlib.sha256(text.encode()).hexdigest()


def library_versions() -> dict[str, str | None]:
    """The installed versions of QuLab, ART, scikit-learn, NumPy and torch (read from metadata, nothing imported)."""
    versions: dict[str, str | None] = {}
    for key, distribution in VERSIONED.items():
        try:
            versions[key] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[key] = None
    if versions["qulab"] is None:  # run from a source tree without installing
        import qulab

        versions["qulab"] = qulab.__version__
    return versions


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def experiment_dict(value: Experiment) -> dict[str, Any]:
    """The experiment as a run records it: ``value.to_dict()``, every parameter spelled out with its default (as
    the pages name them and the CLI leaves them out), so both give the same id."""
    spelled_out = getattr(value, "spelled_out", None)  # every experiment value names its defaults itself
    plain = (spelled_out() if spelled_out is not None else value).to_dict()
    return json.loads(canonical_json(plain))  # a JSON round trip: tuples become lists, as they come back


def kind_of(value: Experiment) -> str:
    """The kind a value names itself with (a ``kind`` attribute); a Scenario is 'evasion', or 'defence' with one."""
    from qulab.core.experiment import Scenario

    if isinstance(value, Scenario):
        return "defence" if value.defence is not None else "evasion"
    kind = getattr(value, "kind", None)
    if not isinstance(kind, str):
        raise InvalidInput(f"Give the kind of a {type(value).__name__} run (it has no 'kind' attribute).")
    return kind


def run_for(value: Experiment, results: Mapping[str, Any] | None, timings: Mapping[str, float] | None = None, *,
            kind: str | None = None, extra: Mapping[str, Any] | None = None, error: str | None = None) -> Run:
    """The run of an experiment value and what it gave.

    ``extra`` holds what the value itself does not but the numbers depend on (a curve's budgets, the CLI's --clip,
    a CSV file's content hash, the app's sample size); it joins the experiment dict, so it is part of the id.
    """
    experiment = experiment_dict(value)
    clash = sorted(set(extra or {}) & set(experiment))
    if clash:
        raise InvalidInput(f"Extra experiment keys {', '.join(clash)} clash with the experiment's own fields.")
    experiment.update(json.loads(canonical_json(dict(extra or {}))))
    kind = kind or kind_of(value)
    return Run(id=run_id(kind, experiment), kind=kind, experiment=experiment,
               results=json.loads(json.dumps(dict(results or {}))), versions=library_versions(),
               timings={k: float(v) for k, v in (timings or {}).items()}, created=now(), error=error)


def id_for(value: Experiment, *, kind: str | None = None, extra: Mapping[str, Any] | None = None) -> str:
    """The id :func:`run_for` gives the same value, without results (to look a run up before computing it)."""
    experiment = {**experiment_dict(value), **json.loads(canonical_json(dict(extra or {})))}
    return run_id(kind or kind_of(value), experiment)
