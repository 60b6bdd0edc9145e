"""The poisoning scenario: the one immutable value a Poisoning page, its URL, ``qulab poison`` and the caches share.

Like :class:`qulab.core.experiment.Scenario` (whose helpers it reuses), it checks its own shape when made (rate in
[0, 1], seed and test share in range, target class a whole number or None) and :meth:`PoisoningScenario.validate`
checks names and parameters against the registries (data set, model, poisoning attack, poisoning defence), so bad
input is refused with one sentence before any work. The target class is checked against the data's classes when
the split is made (a file's classes are unknown before it is read). It round-trips through a dict, JSON and a URL
query string; :meth:`PoisoningScenario.clean_scenario` is the evasion scenario of the same data and model, whose
``model_key`` keys the clean model in the app's caches.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from qulab.core.experiment import (
    UPLOAD_PREFIXES,
    Params,
    RoundTrips,
    Scenario,
    _parse_number,
    _real,
    query_pairs,
)
from qulab.core.registry import InvalidInput, resolve_params

# URL keys of the named fields. The data set's parameters go unprefixed as on the other pages (?noise=0.3), the
# others as "model.C", "attack.trigger", "defence.k". "target_class" is not "target": that is a file's class column.
_QUERY_NAMES = {"data": "dataset", "model": "model", "attack": "attack", "rate": "rate",
                "target_class": "target_class", "seed": "seed", "test_size": "test_size", "scaling": "scaling",
                "defence": "defence"}
MAX_CLASS_INDEX = 10_000


@dataclass(frozen=True)
class PoisoningScenario(RoundTrips):
    """Everything a poisoning result depends on; equal scenarios give equal numbers.

    ``rate`` is the share of the training set the attacker poisons (``round(rate · n_train)`` points);
    ``target_class`` is the class index a targeted attack or a backdoor aims at (None: untargeted).
    """

    kind: ClassVar[str] = "poisoning"  # its runs' kind in the run store (not a field)
    query_names = _QUERY_NAMES
    called = "poisoning scenario"

    dataset: str = "synthetic"
    model: str = "logistic_regression"
    attack: str = "label_flip"
    rate: float = 0.1
    target_class: int | None = None
    seed: int = 42
    test_size: float = 0.2
    scaling: str = "none"
    dataset_params: Params = field(default=())
    model_params: Params = field(default=())
    attack_params: Params = field(default=())
    defence: str | None = None
    defence_params: Params = field(default=())

    def check_own_fields(self) -> None:
        if not _real(self.rate) or not 0 <= self.rate <= 1:
            raise InvalidInput(f"The poison rate must be a share of the training set from 0 to 1, not {self.rate!r}.")
        target = self.target_class
        if target is not None and (isinstance(target, bool) or not isinstance(target, numbers.Integral)
                                   or not 0 <= target <= MAX_CLASS_INDEX):
            raise InvalidInput(f"The target class must be a class number (0 for the first class) or none, "
                               f"not {target!r}.")

    # -----------------------------------------------------------------------------------------------------
    # Against the registries

    def validate(self) -> PoisoningScenario:
        """Check every name and parameter against the registries; one sentence per refusal (InvalidInput).

        What the model cannot take (an attack or defence for networks only) is known before any data; the data's
        own limits (classes, images, the target class) are checked when the split is made."""
        from qulab.data.datasets import DATASETS, SCALINGS
        from qulab.models.registry import MODELS
        from qulab.threats.poisoning.attacks import POISONING_ATTACKS
        from qulab.threats.poisoning.defences import POISONING_DEFENCES

        if not self.dataset.startswith(UPLOAD_PREFIXES):
            data = DATASETS.get(self.dataset)
            resolve_params(data.params, dict(self.dataset_params), data.label)
        if self.scaling not in SCALINGS:
            raise InvalidInput(f"The scaling {self.scaling!r} is unknown; choose from {', '.join(SCALINGS)}.")
        model = MODELS.get(self.model)
        resolve_params(model.params, dict(self.model_params), model.label)
        attack = POISONING_ATTACKS.get(self.attack)
        resolve_params(attack.params, dict(self.attack_params), attack.label)
        reason = attack.unsupported_reason(model)
        if reason:
            raise InvalidInput(reason)
        if self.defence is not None:
            defence = POISONING_DEFENCES.get(self.defence)
            resolve_params(defence.params, dict(self.defence_params), defence.label)
            reason = defence.unsupported_reason(model)
            if reason:
                raise InvalidInput(reason)
        elif self.defence_params:
            raise InvalidInput("Defence parameters were given without a defence.")
        return self

    @staticmethod
    def attacks() -> Any:
        from qulab.threats.poisoning.attacks import POISONING_ATTACKS

        return POISONING_ATTACKS

    @staticmethod
    def defences() -> Any:
        from qulab.threats.poisoning.defences import POISONING_DEFENCES

        return POISONING_DEFENCES

    def clean_scenario(self) -> Scenario:
        """The evasion scenario of the same data, split and model: its ``data_key`` and ``model_key`` key the split
        and the clean model (the app's caches share them with the other pages), and the pipeline's
        ``prepare_split`` / ``fit_model`` take it."""
        return Scenario(dataset=self.dataset, model=self.model, seed=self.seed, test_size=self.test_size,
                        scaling=self.scaling, dataset_params=self.dataset_params, model_params=self.model_params)

    # -----------------------------------------------------------------------------------------------------
    # Round trips: dict, JSON, URL query

    @classmethod
    def from_query(cls, query: str | Mapping[str, str], strict: bool = True) -> PoisoningScenario:
        """The validated scenario a URL query names; ``strict=False`` skips keys that belong to nothing here."""
        seen = query_pairs(query)
        values: dict[str, Any] = {name: seen[key] for key, name in _QUERY_NAMES.items() if key in seen}
        if isinstance(values.get("dataset"), str) and values["dataset"].startswith("upload:"):
            raise InvalidInput(f"The data set {values['dataset']!r} is an uploaded file, which a link cannot carry; "
                               "upload the file again.")
        for name in ("rate", "seed", "test_size"):
            if name in values:
                values[name] = _parse_number(values[name], name)
        if "target_class" in values:
            text = values["target_class"]
            values["target_class"] = None if text in ("", "none") else _class_number(text)
        if values.get("defence") == "":
            values["defence"] = None
        base = cls(**values)
        return cls(**values, **cls.params_from_query(base, seen, base.declared_params(), strict)).validate()


def _class_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"The target class '{text}' is not a class number (0 for the first class).") from None
