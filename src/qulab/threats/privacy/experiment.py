"""The privacy experiment: one frozen value naming the data, the model, the privacy attack and the mitigation.

A :class:`PrivacyScenario` is to the Privacy page and ``qulab privacy`` what :class:`qulab.core.experiment.Scenario`
is to the evasion pages: everything a result depends on, hashable (the page's cache key), checked for shape when
made and against the registries by :meth:`PrivacyScenario.validate`, and round-tripping through a dict, JSON and a
URL query (``data=digits&model=decision_tree&attack=membership_lira&attack.n_reference=8&defence=dp_sgd``).
It has no budget or norm: a privacy attack's "budget" is what it may ask of the model, in its threat model.

The members of a membership experiment are the split's training rows and the non-members its test rows, so the
test share is part of the value; 0.5 (as many non-members as members) is the field's usual choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from qulab.core.experiment import (
    MODEL_FILE_PREFIX,
    UPLOAD_PREFIXES,
    Params,
    RoundTrips,
    _parse_number,
    freeze,
    query_pairs,
)
from qulab.core.registry import InvalidInput, resolve_params

_QUERY_NAMES = {"data": "dataset", "model": "model", "attack": "attack", "seed": "seed", "test_size": "test_size",
                "scaling": "scaling", "defence": "defence"}


@dataclass(frozen=True)
class PrivacyScenario(RoundTrips):
    """Everything that determines a privacy result; equal scenarios give equal numbers."""

    kind: ClassVar[str] = "privacy"  # its runs' kind in the run store (not a field)
    query_names = _QUERY_NAMES
    called = "privacy scenario"

    dataset: str = "breast_cancer"
    model: str = "decision_tree"
    attack: str = "membership_gap"
    seed: int = 42
    test_size: float = 0.5
    scaling: str = "minmax"
    dataset_params: Params = field(default=())
    model_params: Params = field(default=())
    attack_params: Params = field(default=())
    defence: str | None = None
    defence_params: Params = field(default=())

    # -----------------------------------------------------------------------------------------------------
    # Against the registries

    def validate(self) -> PrivacyScenario:
        """Check every name and parameter against the registries, and that the attack can run on the model under
        the mitigation (what the data allow is checked when the split is made); one sentence per refusal."""
        from qulab.data.datasets import DATASETS, SCALINGS
        from qulab.threats.privacy.attacks import PRIVACY_ATTACKS
        from qulab.threats.privacy.mitigations import PRIVACY_DEFENCES

        if not self.dataset.startswith(UPLOAD_PREFIXES):
            data = DATASETS.get(self.dataset)
            resolve_params(data.params, dict(self.dataset_params), data.label)
        if self.scaling not in SCALINGS:
            raise InvalidInput(f"The scaling {self.scaling!r} is unknown; choose from {', '.join(SCALINGS)}.")
        if self.from_file and (self.model_params or self.defence is not None):
            raise InvalidInput("A model from a file is attacked as it is released: it takes no model parameters and "
                               "no mitigation (mitigations retrain or harden a model QuLab trains).")
        model = model_entry(self.model)
        resolve_params(model.params, dict(self.model_params), model.label)
        attack = PRIVACY_ATTACKS.get(self.attack)
        resolve_params(attack.params, dict(self.attack_params), attack.label)
        defence = None
        if self.defence is not None:
            defence = PRIVACY_DEFENCES.get(self.defence)
            resolve_params(defence.params, dict(self.defence_params), defence.label)
            reason = defence.unsupported_reason(model)
            if reason:
                raise InvalidInput(reason)
        elif self.defence_params:
            raise InvalidInput("Defence parameters were given without a defence.")
        reason = attack.unsupported_reason(model, defence)
        if reason:
            raise InvalidInput(reason)
        return self

    @staticmethod
    def attacks() -> Any:
        from qulab.threats.privacy.attacks import PRIVACY_ATTACKS

        return PRIVACY_ATTACKS

    @staticmethod
    def defences() -> Any:
        from qulab.threats.privacy.mitigations import PRIVACY_DEFENCES

        return PRIVACY_DEFENCES

    @property
    def data_key(self) -> tuple:
        """What the split depends on, data set parameters spelled out (defaults included)."""
        from qulab.data.datasets import DATASETS

        params = self.dataset_params
        if self.dataset in DATASETS.names():
            params = freeze(resolve_params(DATASETS.get(self.dataset).params, dict(params)))
        return (self.dataset, params, self.seed, self.test_size, self.scaling)

    @property
    def from_file(self) -> bool:
        """The model is a user's file (named by its content), attacked as it is."""
        return self.model.startswith(MODEL_FILE_PREFIX)

    @property
    def target_key(self) -> tuple:
        """What the attacked model depends on: the split, the model and the mitigation (not the attack), so every
        attack on one model shares one fitted target."""
        model_params = () if self.from_file else freeze(resolve_params(model_entry(self.model).params,
                                                                       dict(self.model_params)))
        return (*self.data_key, self.model, model_params, self.defence, self.defence_params)

    def as_evasion_scenario(self) -> Any:
        """The evasion :class:`~qulab.core.experiment.Scenario` with this data and model, so the split and the
        model's fit go through the same pipeline (and the same seeds) as every other page."""
        from qulab.core.experiment import Scenario

        return Scenario(dataset=self.dataset, model=self.model, seed=self.seed, test_size=self.test_size,
                        scaling=self.scaling, dataset_params=self.dataset_params, model_params=self.model_params)

    # -----------------------------------------------------------------------------------------------------
    # Round trips: dict, JSON, URL query

    @classmethod
    def from_query(cls, query: str | Mapping[str, str], strict: bool = True) -> PrivacyScenario:
        """The validated scenario a URL query names; ``strict=False`` skips keys that belong to nothing here."""
        seen = query_pairs(query)
        values: dict[str, Any] = {name: seen[key] for key, name in _QUERY_NAMES.items() if key in seen}
        if isinstance(values.get("dataset"), str) and values["dataset"].startswith("upload:"):
            raise InvalidInput(f"The data set {values['dataset']!r} is an uploaded file, which a link cannot carry; "
                               "upload the file again.")
        values.update({name: _parse_number(seen[key], name) for key, name in _QUERY_NAMES.items()
                       if name in ("seed", "test_size") and key in seen})
        if values.get("defence") == "":
            values["defence"] = None
        base = cls(**values)
        return cls(**values, **cls.params_from_query(base, seen, base.declared_params(), strict)).validate()


def model_entry(name: str) -> Any:
    """The model's :class:`~qulab.models.registry.ModelSpec`: the registry's, or for a model file ("file:<digest>")
    the entry of the open file, which says what it exposes."""
    if name.startswith(MODEL_FILE_PREFIX):
        from qulab.models.files import opened

        return opened(name).spec()
    from qulab.models.registry import MODELS

    return MODELS.get(name)
