"""The scenario: the one immutable experiment value that pages, URLs, the CLI and the caches share.

A scenario checks its own shape when it is made (known norm, finite budget, seed and test share in range), and
:meth:`Scenario.validate` checks its names against the registries (data set, model, attack, defence, their
parameters, the attack's norms), so bad input is refused with one sentence before any work. It round-trips
through a dict, JSON and a URL query string, ready for a run store.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from qulab.core.registry import InvalidInput, Param, resolve_params
from qulab.core.threat import NORM_NAMES, NORMS

# Budgets far beyond any useful one, so typos and overflows are refused: 1e4 per feature (L∞), and the L2 and L1
# lengths of that change on 500 features.
MAX_EPS = {"inf": 1e4, "2": 1e4 * math.sqrt(500), "1": 1e4 * 500}
SEED_RANGE = (0, 2**32 - 1)  # what NumPy's and scikit-learn's seeds accept
UPLOAD_PREFIXES = ("csv:", "upload:")  # data named by a file, not by the registry
MODEL_FILE_PREFIX = "file:"  # a model named by its file's content (qulab.models.files), not by the registry

Params = tuple[tuple[str, Any], ...]
# URL keys of the named entries; the data set's parameters go unprefixed (as links always had them: ?noise=0.3),
# the others as "model.C", "attack.max_iter", "defence.sigma".
_QUERY_NAMES = {"data": "dataset", "model": "model", "attack": "attack", "eps": "eps", "norm": "norm",
                "seed": "seed", "test_size": "test_size", "scaling": "scaling", "defence": "defence"}


def norm_order(norm: str) -> float:
    """ART's ``norm`` argument for a norm name ('inf' → numpy.inf)."""
    return float("inf") if norm == "inf" else float(norm)


def freeze(params: Mapping[str, Any] | None) -> Params:
    """Parameters as a sorted tuple, so scenarios hash and compare by value."""
    odd = [name for name in (params or {}) if not isinstance(name, str)]
    if odd:  # a dict from code or JSON-like data may carry other keys, which would not even sort
        raise InvalidInput(f"Parameter names must be text, not {odd[0]!r}.")
    return tuple(sorted((params or {}).items()))


def read_json(text: str) -> Any:
    """JSON text as plain data, every way it can fail (bad syntax, numbers of more digits than Python converts,
    nesting deeper than the parser recurses) refused in one sentence."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"The scenario is not valid JSON ({error.msg} at character {error.pos}).") from None
    except RecursionError:
        raise InvalidInput("The scenario's JSON is nested too deeply to read.") from None
    except ValueError:  # int() refuses a number of more than sys.get_int_max_str_digits() digits
        raise InvalidInput("The scenario's JSON holds a number with too many digits to read.") from None


def unknown_fields(data: Mapping[Any, Any], known: set[str]) -> str:
    """The fields of ``data`` a scenario does not have, quoted and in order (keys of any type), or ''."""
    return ", ".join(sorted(repr(key) for key in data if key not in known))


def shown(value: Any, width: int = 40) -> str:
    """A refused value as a message quotes it: its repr cut to ``width`` characters (a pasted page of digits is not
    echoed in full; an integer too long for Python to print is described; line breaks and other control
    characters are escaped, so the message stays on one line)."""
    try:
        if isinstance(value, str):
            text = value if value.isprintable() else value.encode("unicode_escape").decode("ascii")
        else:
            text = repr(value)
    except ValueError:  # int's repr refuses more than sys.get_int_max_str_digits() digits
        return "a number of thousands of digits"
    return text if len(text) <= width else f"{text[:width - 3]}..."


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class RoundTrips:
    """What every experiment value shares (evasion, poisoning, privacy): its shape checks, its spelled-out form
    (the run store's name for it), and the dict, JSON and URL round trips. A subclass (a frozen dataclass with
    ``dataset``, ``model``, ``attack``, ``scaling``, ``defence``, ``seed`` and ``test_size`` fields and the four
    ``param_fields``, ``"model_params"`` owned by ``"model"`` and so on) names its URL keys (``query_names``:
    ``"data": "dataset"``), what it is ``called`` in messages, its attack and defence registries (:meth:`attacks`,
    :meth:`defences`) and its own shape checks (:meth:`check_own_fields`)."""

    param_fields: ClassVar[dict[str, str]] = {"dataset_params": "dataset", "model_params": "model",
                                              "attack_params": "attack", "defence_params": "defence"}
    query_names: ClassVar[dict[str, str]]
    called: ClassVar[str]

    def __post_init__(self) -> None:
        for name in ("dataset", "model", "attack", "scaling"):
            if not isinstance(getattr(self, name), str):
                raise InvalidInput(f"The {name} must be a name, not {getattr(self, name)!r}.")
        if self.defence is not None and not isinstance(self.defence, str):
            raise InvalidInput(f"The defence must be a name or none, not {self.defence!r}.")
        self.check_own_fields()
        low, high = SEED_RANGE
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or not low <= self.seed <= high:
            raise InvalidInput(f"The seed must be a whole number from {low} to {high}, not {shown(self.seed)}.")
        if not _real(self.test_size) or not 0 < self.test_size < 1:
            raise InvalidInput(f"The test size must be between 0 and 1, not {self.test_size!r}.")
        for name in self.param_fields:  # in name order, so the same parameters give the same (hashable) value
            object.__setattr__(self, name, _sorted_pairs(name, getattr(self, name)))

    def check_own_fields(self) -> None:
        """The shape checks of the fields only this kind of value has (a budget, a poison rate); InvalidInput."""

    @staticmethod
    def attacks() -> Any:
        """The registry of this kind's attacks (imported when asked for)."""
        raise NotImplementedError

    @staticmethod
    def defences() -> Any:
        """The registry of this kind's defences (imported when asked for: some pull in training code)."""
        raise NotImplementedError

    def param_entries(self) -> dict[str, Any]:
        """The registry entry that declares each parameter field's parameters (``"model_params": <ModelSpec>``),
        for the fields a registry owns: not a file's data, a model file, or the defence when there is none."""
        from qulab.data.datasets import DATASETS
        from qulab.models.registry import MODELS

        entries: dict[str, Any] = {}
        if not self.dataset.startswith(UPLOAD_PREFIXES):
            entries["dataset_params"] = DATASETS.get(self.dataset)
        if not self.model.startswith(MODEL_FILE_PREFIX):  # a model file is named by its content, with no parameters
            entries["model_params"] = MODELS.get(self.model)
        entries["attack_params"] = self.attacks().get(self.attack)
        if self.defence is not None:
            entries["defence_params"] = self.defences().get(self.defence)
        return entries

    def spelled_out(self) -> Any:
        """This value with every parameter named, defaults filled in (the pages name them all, the CLI only those
        given), and every number of a float field a float (1 and 1.0 are one budget or rate): the form the run
        store names a run by, so both give one id."""
        floats = {f.name: float(getattr(self, f.name)) for f in fields(self) if f.type == "float"}
        return replace(self, **floats, **{name: freeze(resolve_params(entry.params, dict(getattr(self, name))))
                                          for name, entry in self.param_entries().items()})

    def declared_params(self) -> dict[str, tuple[str, dict[str, Param | None]]]:
        """Each parameter field's owner label and parameters by name, as a URL query is read against: a file's
        only parameter is its class column, kept as text (None); a field no registry owns takes none."""
        declared: dict[str, tuple[str, dict[str, Param | None]]] = {name: ("", {}) for name in self.param_fields}
        if self.dataset.startswith(UPLOAD_PREFIXES):
            declared["dataset_params"] = (self.dataset, {"target": None})
        declared.update({name: (entry.label, {p.name: p for p in entry.params})
                         for name, entry in self.param_entries().items()})
        return declared

    def to_dict(self) -> dict[str, Any]:
        """Plain data (parameters as dicts), as JSON and a run store keep it."""
        plain = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**plain, **{name: dict(plain[name]) for name in self.param_fields}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        """The value :meth:`to_dict` wrote; missing fields take their defaults, unknown ones are refused."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"A {cls.called} is a mapping of fields, not {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = unknown_fields(data, known)
        if unknown:
            raise InvalidInput(f"A {cls.called} has no field {unknown}; "
                               f"its fields are {', '.join(sorted(known))}.")
        values = dict(data)
        for name in cls.param_fields:
            if name in values:
                if not isinstance(values[name], Mapping):
                    raise InvalidInput(f"{name} must map parameter names to values, not {values[name]!r}.")
                values[name] = freeze(values[name])
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Any:
        return cls.from_dict(read_json(text))

    def query_params(self) -> dict[str, str]:
        """The URL's query parameters: every field that differs from its default, and every named parameter
        (the data set's unprefixed, as ``noise=0.3``; the others as ``attack.max_iter=10``)."""
        defaults = {f.name: f.default for f in fields(self)}
        query = {key: _text(getattr(self, name)) for key, name in self.query_names.items()
                 if getattr(self, name) != defaults[name]}
        for name, owner in self.param_fields.items():
            prefix = "" if owner == "dataset" else f"{owner}."
            query.update({prefix + key: _text(value) for key, value in getattr(self, name)})
        return query

    def to_query(self) -> str:
        """The URL query string (``data=moons&noise=0.3&attack=pgd&attack.max_iter=10``)."""
        return urlencode(self.query_params())

    @classmethod
    def params_from_query(cls, base: Any, seen: Mapping[str, str], declared: Mapping[str, tuple[str, Mapping]],
                          strict: bool) -> dict[str, Params]:
        """The named parameters in a URL query (the data set's as ``noise=0.3``, the others as
        ``attack.max_iter=10``), each parsed by its entry's declared Param (``declared``: field → (whose, name →
        Param or None)); ``strict=False`` skips keys that belong to nothing here."""
        params: dict[str, dict[str, Any]] = {name: {} for name in cls.param_fields}
        for key, text in seen.items():
            if key in cls.query_names:
                continue
            owner, dot, name = key.rpartition(".")
            field_name = f"{owner or 'dataset'}_params"
            if field_name not in cls.param_fields or (dot and owner == "dataset"):
                if strict:
                    raise InvalidInput(f"The query has an unknown key {key!r}.")
                continue
            label, known = declared[field_name]
            if name not in known:
                if strict or dot:
                    entry = getattr(base, owner or "dataset")
                    raise InvalidInput(f"The query key {key!r} names no parameter of the {owner or 'data set'} "
                                       f"{entry!r}; its parameters are {', '.join(known) or 'none'}.")
                continue
            try:
                params[field_name][name] = known[name].parse(text) if known[name] else text
            except InvalidInput as error:
                raise InvalidInput(f"{label}: {error}") from None
        return {name: freeze(given) for name, given in params.items()}


def query_pairs(query: str | Mapping[str, str]) -> dict[str, str]:
    """A URL query's keys and values; a key given twice is refused."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True) if isinstance(query, str) else list(query.items())
    seen: dict[str, str] = {}
    for key, value in pairs:
        if key in seen:
            raise InvalidInput(f"The query gives {key!r} twice.")
        seen[key] = value
    return seen


@dataclass(frozen=True)
class Scenario(RoundTrips):
    """Everything that determines a result; equal scenarios give equal numbers."""

    query_names = _QUERY_NAMES
    called = "scenario"

    dataset: str = "synthetic"
    model: str = "logistic_regression"
    attack: str = "fgm"
    eps: float = 0.1
    norm: str = "inf"
    seed: int = 42
    test_size: float = 0.2
    scaling: str = "none"
    dataset_params: Params = field(default=())
    model_params: Params = field(default=())
    attack_params: Params = field(default=())
    defence: str | None = None
    defence_params: Params = field(default=())

    def check_own_fields(self) -> None:
        if self.norm not in NORMS:
            raise InvalidInput(f"The norm must be one of {', '.join(NORMS)}, not {self.norm!r}.")
        if not _real(self.eps) or not math.isfinite(self.eps):
            raise InvalidInput(f"The budget eps must be a finite number, not {self.eps!r}.")
        if self.eps < 0:
            raise InvalidInput(f"The budget eps must be non-negative, not {self.eps}.")
        if self.eps > MAX_EPS[self.norm]:
            raise InvalidInput(f"The budget eps must be at most {MAX_EPS[self.norm]:g} in the {NORM_NAMES[self.norm]} "
                               f"norm, not {self.eps:g}.")

    @staticmethod
    def attacks() -> Any:
        from qulab.threats.evasion.attacks import ATTACKS

        return ATTACKS

    @staticmethod
    def defences() -> Any:
        return _defences()

    # -----------------------------------------------------------------------------------------------------
    # Against the registries

    def validate(self) -> Scenario:
        """Check every name and parameter against the registries; one sentence per refusal (InvalidInput)."""
        from qulab.data.datasets import DATASETS, SCALINGS
        from qulab.models.registry import MODELS
        from qulab.threats.evasion.attacks import ATTACKS

        if not self.dataset.startswith(UPLOAD_PREFIXES):  # a file's own columns are checked when it is read
            data = DATASETS.get(self.dataset)
            resolve_params(data.params, dict(self.dataset_params), data.label)
        if self.scaling not in SCALINGS:
            raise InvalidInput(f"The scaling {self.scaling!r} is unknown; choose from {', '.join(SCALINGS)}.")
        own = self.model.startswith(MODEL_FILE_PREFIX)  # its access is checked against the attack when it is read
        if own and (self.model_params or self.defence is not None):
            raise InvalidInput("A model from a file is attacked as it is: it takes no model parameters and no "
                               "defence (defences train a model of their own).")
        model = None if own else MODELS.get(self.model)
        if model is not None:
            resolve_params(model.params, dict(self.model_params), model.label)
        attack = ATTACKS.get(self.attack)
        reason = attack.threat.norm_reason(self.norm, attack.label)
        if reason:
            raise InvalidInput(reason)
        resolve_params(attack.params, dict(self.attack_params), attack.label)
        # What the model cannot give the attack (access, a network) is known before any data; the data's own
        # limits (classes, images) are taken as met here and checked when the split is made.
        reason = model and attack.unsupported_reason(model, n_classes=attack.min_classes, images=True)
        if reason:
            raise InvalidInput(reason)
        if self.defence is not None:
            defence = _defences().get(self.defence)
            resolve_params(defence.params, dict(self.defence_params), defence.label)
            # The defence's declared attacker and the models it runs on are known before any data, like the above.
            reason = defence.attack_reason(attack, self.norm) or defence.unsupported_reason(model, images=True)
            if reason:
                raise InvalidInput(reason)
        elif self.defence_params:
            raise InvalidInput("Defence parameters were given without a defence.")
        return self

    @property
    def data_key(self) -> tuple:
        """What the train/test split depends on, with every data set parameter spelled out (defaults included), so
        a scenario that leaves a parameter at its default and one that names it share one cached split."""
        from qulab.data.datasets import DATASETS

        params = self.dataset_params
        if self.dataset in DATASETS.names():  # not an upload ("csv:…", named by its content)
            params = freeze(resolve_params(DATASETS.get(self.dataset).params, dict(params)))
        return (self.dataset, params, self.seed, self.test_size, self.scaling)

    @property
    def model_key(self) -> tuple:
        """What the fitted model depends on (an epsilon move must not change it), parameters spelled out as in
        :attr:`data_key`: the Attack Demo (no parameters named) and the Attack Lab (all named) share one model."""
        from qulab.models.registry import MODELS

        if self.model.startswith(MODEL_FILE_PREFIX):
            return (*self.data_key, self.model, ())
        return (*self.data_key, self.model, freeze(resolve_params(MODELS.get(self.model).params,
                                                                  dict(self.model_params))))

    def with_eps(self, eps: float) -> Scenario:
        return replace(self, eps=eps)

    @classmethod
    def from_query(cls, query: str | Mapping[str, str], strict: bool = True) -> Scenario:
        """The validated scenario a URL query names; values are parsed by the registries' parameters.

        ``strict=False`` skips keys that belong to nothing here (a page's own keys, another data set's
        parameters) instead of refusing them.
        """
        seen = query_pairs(query)
        values: dict[str, Any] = {name: seen[key] for key, name in _QUERY_NAMES.items() if key in seen}
        if isinstance(values.get("dataset"), str) and values["dataset"].startswith("upload:"):
            raise InvalidInput(f"The data set {values['dataset']!r} is an uploaded file, which a link cannot carry; "
                               "upload the file again.")
        values.update({name: _parse_number(seen[key], name) for key, name in _QUERY_NAMES.items()
                       if name in ("eps", "seed", "test_size") and key in seen})
        if values.get("defence") == "":
            values["defence"] = None
        base = cls(**{k: v for k, v in values.items() if k not in ("eps", "norm")})  # names checked below
        return cls(**values, **cls.params_from_query(base, seen, base.declared_params(), strict)).validate()


def _sorted_pairs(name: str, pairs: Any) -> Params:
    """Parameters as (name, value) pairs in name order; names must be distinct and values hashable."""
    ok = isinstance(pairs, tuple) and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                                          for p in pairs)
    if ok and len({p[0] for p in pairs}) == len(pairs):
        try:
            hash(pairs)
            return tuple(sorted(pairs))
        except TypeError:
            pass
    raise InvalidInput(f"{name} must be distinct (name, value) pairs with plain values, not {pairs!r}.")


def _text(value: Any) -> str:
    """A value as a query string holds it: floats in their shortest exact form, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _parse_number(text: str, name: str) -> Any:
    try:
        return int(text) if name == "seed" else float(text)
    except ValueError:
        kind = f"a whole number from {SEED_RANGE[0]} to {SEED_RANGE[1]}" if name == "seed" else "a number"
        raise InvalidInput(f"The {name.replace('_', ' ')} '{shown(text)}' is not {kind}.") from None


def _defences() -> Any:
    """The defence registry, imported only when a scenario names a defence (it pulls in the training code)."""
    from qulab.defences import DEFENCES

    return DEFENCES
