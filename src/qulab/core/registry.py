"""Declarative registries: one entry per data set, model, attack or defence.

The UI, the CLI's choices and the test tables are all generated from these entries, so adding an
attack is one entry, not an edit in every layer.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from qulab.core.wording import number_text


class InvalidInput(ValueError):
    """Input the user can fix (unknown name, value out of range); its message says how."""


@dataclass(frozen=True)
class Param:
    """One tunable parameter: its range and help are what the widget and the CLI show."""

    name: str
    label: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    choice_labels: tuple[str, ...] = ()  # how each choice reads on a page (default: the choice itself)
    scale: str = "linear"  # "log": the page offers 1-2-5 steps over decades (the CLI still takes any value)
    zero_label: str = ""  # what 0 means when it is special ("unlimited")

    def __post_init__(self) -> None:
        if self.choice_labels and len(self.choice_labels) != len(self.choices):
            raise ValueError(f"{self.name}: one label per choice")
        if self.scale not in ("linear", "log") or (self.scale == "log" and not (self.low or 0) > 0):
            raise ValueError(f"{self.name}: scale must be linear, or log over a positive range")

    @property
    def kind(self) -> str:
        if self.choices:
            return "choice"
        if isinstance(self.default, bool):
            return "bool"
        if isinstance(self.default, int):
            return "int"
        return "float"

    def show(self, value: Any) -> str:
        """The value as a page shows it: a choice's label, "unlimited" for a special 0, a number in plain digits."""
        if self.choice_labels and value in self.choices:
            return self.choice_labels[self.choices.index(value)]
        if self.zero_label and value == 0:
            return self.zero_label
        return number_text(value) if self.kind == "float" else str(value)

    def log_steps(self) -> tuple[float, ...]:
        """A log-scale parameter's values for a slider: 1, 2 and 5 times each power of ten within the range, the
        ends and the default included."""
        low, high = float(self.low), float(self.high)
        steps = {low, high, float(self.default)}
        for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
            steps.update(float(f"{m}e{power}") for m in (1, 2, 5) if low <= float(f"{m}e{power}") <= high)
        return tuple(sorted(steps))

    def parse(self, text: str) -> Any:
        """Turn a CLI string into a validated value."""
        if self.kind == "bool":
            lowered = text.strip().lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                raise InvalidInput(f"{self.name} must be true or false, not {text!r}")
            return lowered in {"true", "1", "yes"}
        if self.kind == "choice":
            by_text = {str(c): c for c in self.choices}
            if text not in by_text:
                raise InvalidInput(f"{self.name} must be one of {', '.join(by_text)}, not {text!r}")
            return by_text[text]
        caster = int if self.kind == "int" else float
        try:
            value = caster(text)
        except ValueError:
            raise InvalidInput(f"{self.name} must be a{'n integer' if caster is int else ' number'}, "
                             f"not {text!r}") from None
        return self.validate(value)

    def validate(self, value: Any) -> Any:
        """Check a value's type and range (NaN and infinities are refused); the message names the range. A float
        parameter's value comes back a float, however it was given."""
        if self.kind == "choice":
            if value not in self.choices:
                raise InvalidInput(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise InvalidInput(f"{self.name} must be true or false, not {value!r}")
            return value
        whole = self.kind == "int"
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
            raise InvalidInput(f"{self.name} must be a{' whole' if whole else ''} number, not {value!r}")
        if not math.isfinite(value):
            raise InvalidInput(f"{self.name} must be a finite number, not {value}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise InvalidInput(f"{self.name} must be between {self.low} and {self.high}, not {value}")
        return value if whole else float(value)  # 2 and 2.0 are one value, and one run id


class Entry(Protocol):
    name: str
    label: str


EntryT = TypeVar("EntryT", bound=Entry)


class Registry(Generic[EntryT]):
    """An ordered name → entry map with helpful errors for unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, EntryT] = {}

    def register(self, entry: EntryT) -> EntryT:
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is registered twice")
        self._entries[entry.name] = entry
        return entry

    def get(self, name: str) -> EntryT:
        try:
            return self._entries[name]
        except KeyError:
            raise InvalidInput(f"unknown {self.kind} {name!r}; choose from {', '.join(self._entries)}") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __iter__(self) -> Iterator[EntryT]:
        return iter(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def resolve_params(params: tuple[Param, ...], given: dict[str, Any], owner: str = "") -> dict[str, Any]:
    """Defaults overlaid with the given values, each validated; unknown names are an error. ``owner`` (an entry's
    label, e.g. "Projected Gradient Descent") says in the message whose parameters they are."""
    known = {p.name: p for p in params}
    unknown = set(given) - set(known)
    if unknown and owner:
        raise InvalidInput(f"{owner} has no parameter {', '.join(map(repr, sorted(unknown)))}; its parameters are "
                           f"{', '.join(known) or 'none'}.")
    if unknown:
        raise InvalidInput(f"unknown parameter(s) {', '.join(sorted(unknown))}; known: {', '.join(known) or 'none'}")
    try:
        return {p.name: p.validate(given[p.name]) if p.name in given else p.default for p in params}
    except InvalidInput as error:
        if not owner:
            raise
        raise InvalidInput(f"{owner}: {error}") from None
