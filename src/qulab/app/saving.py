"""The pages' results into the run store, in the form `qulab evaluate` / `curve` give them: one call where a page
has its result. A run already stored is not written again (a cached result shown again costs one lookup); a store
that cannot be used says so once per page view and never breaks the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import streamlit as st

from qulab.core.experiment import Scenario
from qulab.data.datasets import Dataset, Split, clip_after_scaling
from qulab.evaluation.pipeline import AttackOutcome, FittedModel
from qulab.store import RunStore, StoreError, id_for, run_for
from qulab.store.results import attack_result, curve_result, defence_result, header, poisoning_header, timings_of


def _save(scenario: Any, results: Callable[[], dict[str, Any]],
          extra: Mapping[str, Any] | None = None) -> str | None:
    """The run's id once it is in the store (None when the store cannot be used); ``scenario`` is any experiment
    value (Scenario, PoisoningScenario, PrivacyScenario)."""
    try:
        store = RunStore()
        run_id = id_for(scenario, extra=extra)
        if store.has(run_id):
            return run_id
        result = results()
        store.put(run_for(scenario, result, timings_of(result), extra=extra))
        return run_id
    except StoreError as error:
        st.warning(f"This result is shown but not saved: {error}", icon=":material/database_off:")
        return None


def _sample(n_attacked: int, split: Split) -> dict[str, Any]:
    """A sample of the test set is part of the experiment (the whole test set is what the CLI attacks)."""
    return {"test_points": n_attacked} if n_attacked < len(split.y_test) else {}


def save_attack(scenario: Scenario, split: Split, model: FittedModel, outcome: AttackOutcome) -> list[str]:
    """The Attack Lab's run (on ``outcome.n_test`` of the split's test points); its id, as a list (of none when
    not saved) like the other pages'."""
    return _ids(_save(scenario, lambda: attack_result(scenario, split.clip_values, outcome, model.fit_seconds),
                      _sample(outcome.n_test, split)))


def _ids(*ids: str | None) -> list[str]:
    return [i for i in ids if i is not None]


def save_curves(scenarios: Mapping[str, Scenario], curves: Mapping[str, Any], split: Split, sample: Split,
                model: FittedModel, grid: Sequence[float], exact: Any) -> list[str]:
    """The Robustness page's curves (failed attacks, given as their message, are not saved); the saved ids."""
    saved = []
    for attack, curve in curves.items():
        if isinstance(curve, str):
            continue
        scenario = scenarios[attack]
        run_id = _save(scenario, partial(curve_result, scenario, sample.clip_values, curve, exact, len(sample.y_test),
                                         model.fit_seconds),
                       {"eps_grid": [float(e) for e in grid], **_sample(len(sample.y_test), split)})
        saved += _ids(run_id)
    return saved


def save_defences(outcomes: Sequence[Any], data: Dataset, own_test: tuple[Split, str] | None) -> list[str]:
    """The Defences page's evaluations (DefenceOutcome), each as `qulab evaluate --defense` gives it; an uploaded
    test file (``own_test``: its split and its name by content) is part of the experiment. The saved ids."""
    saved = []
    for outcome in outcomes:
        scenario = replace(outcome.scenario, defence=outcome.defence, defence_params=outcome.defence_params)
        clip = own_test[0].clip_values if own_test else clip_after_scaling(data.clip_values, scenario.scaling)
        run_id = _save(scenario, lambda s=scenario, o=outcome, c=clip: {**header(s, c), **defence_result(o, None)},
                       {"test_data": own_test[1]} if own_test else None)
        saved += _ids(run_id)
    return saved


def save_poisoning(scenario: Any, outcome: Any) -> list[str]:
    """The Poisoning page's run (a PoisoningScenario and its PoisoningOutcome), as `qulab poison --json` gives it."""
    return _ids(_save(scenario, lambda: {**poisoning_header(scenario), **outcome.summary()}))


def save_rate_curve(curve: Any) -> list[str]:
    """Each point of a poison-rate curve (a RateCurve) as the poisoning run it is, as `qulab poison --json` gives
    it: the trainings behind the curve are kept, and open on the Runs page."""
    return _ids(*(_save(scenario, lambda scenario=scenario, summary=summary: {**poisoning_header(scenario), **summary})
                  for scenario, summary in curve.runs))


def save_privacy(scenario: Any, outcome: Any) -> list[str]:
    """The Privacy page's run (a PrivacyScenario and its PrivacyOutcome), as `qulab privacy --json` gives it."""
    return _ids(_save(scenario, outcome.to_json))
