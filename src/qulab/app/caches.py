"""What the pages share: cached loaders keyed by the scenario, and a bounded cache for runs with progress.

Every cache here computes a key once however many sessions ask at once, keeps no failure and is bounded.
``st.cache_data`` and ``st.cache_resource`` already do (checked in Streamlit 1.67's
``streamlit/runtime/caching/cache_utils.py``: ``_handle_cache_miss`` takes a lock per key,
``compute_value_lock``, and reads the cache again under it, so waiters get the first session's value; the
function's exception propagates before ``write_result``, so nothing is stored and the next caller computes
again; ``max_entries`` bounds them). Cached functions therefore raise, and callers turn errors into messages
outside them. :class:`BoundedCache` does the same for results computed with a progress callback.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import streamlit as st

from qulab.core.experiment import Scenario
from qulab.data.datasets import Dataset, Split
from qulab.evaluation.pipeline import (
    AttackOutcome,
    FittedModel,
    fit_model,
    prepare_split,
    run_attack,
    subsample,
    unit_step,
)
from qulab.threats.evasion.attacks import ATTACKS


@st.cache_resource(max_entries=16, show_spinner="Training the model…")
def trained_model(model_key: tuple, _scenario: Scenario, _data: Dataset | None = None) -> tuple[Split, FittedModel]:
    """The split and the fitted model, shared read-only; keyed by the model part only.

    ``_data`` carries an upload's rows; its scenario names it by content hash, so the key still identifies it.
    """
    split = prepare_split(_scenario, _data)
    return split, fit_model(_scenario, split)


@st.cache_resource(max_entries=16, show_spinner="Computing the attack's direction…")
def attack_step(step_key: tuple, _scenario: Scenario, _data: Dataset | None = None, _n: int | None = None):
    """A rescalable attack's unit step per test point (of the first-``_n`` sample when given), kept read-only
    per model, attack, norm and sample size (all in ``step_key``)."""
    split, model = trained_model(_scenario.model_key, _scenario, _data)
    if _n is not None:
        split = subsample(split, _n, _scenario.seed)
    step = unit_step(_scenario, split, model)
    step.setflags(write=False)
    return step


@st.cache_data(max_entries=128, show_spinner="Running the attack…")
def attack_outcome(scenario: Scenario, _data: Dataset | None = None) -> AttackOutcome:
    """The attack's result for this exact scenario; going back to an earlier setting is instant.

    For FGM an epsilon move only rescales the cached step: one multiply and one predict, even on 100k points.
    """
    split, model = trained_model(scenario.model_key, scenario, _data)
    step = None
    if ATTACKS.get(scenario.attack).rescalable:
        step = attack_step((*scenario.model_key, scenario.attack, scenario.norm, None), scenario, _data)
    return run_attack(scenario, split, model, step)


WAIT_POLL_SECONDS = 0.1  # how often a session waiting for another's computation asks whether it should stop


class _InFlight:
    """One computation under way: the threads asking for its key wait here for its value or its error."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: Exception | None = None
        self.succeeded = False


class BoundedCache:
    """A small thread-safe LRU map shared by all sessions, for results computed with a progress callback
    (st.cache_data cannot replay updates to a progress bar created outside the cached function).

    Each key is computed once however many sessions ask at the same time: the first becomes its owner and the
    others wait for its value. A failure is never kept: the owner's exception reaches the waiters, and the next
    call computes again. If the owner was stopped rather than failed (a BaseException: the user pressed Stop, the
    run went over its time budget, or Streamlit stopped the session's thread), the waiters retry, one of them
    becoming the owner. At most ``size`` values are kept (least recently used go first), besides the computations
    under way.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._in_flight: dict[Any, _InFlight] = {}
        self._lock = threading.Lock()

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return key in self._items

    def get_or_compute(self, key: Any, compute: Callable[[], Any], waiting: Callable[[], None] | None = None) -> Any:
        """The value for ``key``, computed here unless kept or under way in another session. ``waiting`` is called
        every :data:`WAIT_POLL_SECONDS` while another session computes it: it may raise (a stopped run) to stop
        waiting, which leaves that computation alone."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                record = self._in_flight.get(key)
                owner = record is None
                if owner:
                    record = self._in_flight[key] = _InFlight()
            if owner:
                return self._compute(key, compute, record)
            while not record.done.wait(None if waiting is None else WAIT_POLL_SECONDS):
                if waiting is not None:  # always so: without a hook the wait has no time limit
                    waiting()
            if record.succeeded:
                return record.value
            if record.error is not None:
                raise record.error

    def _compute(self, key: Any, compute: Callable[[], Any], record: _InFlight) -> Any:
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._in_flight[key]
            record.error = error if isinstance(error, Exception) else None
            record.done.set()
            raise
        with self._lock:
            del self._in_flight[key]
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        record.value, record.succeeded = value, True
        record.done.set()
        return value


# The Defences page's evaluations, and the undefended side they share per scenario (both report progress).
DEFENCE_OUTCOMES = BoundedCache(32)
BASELINES = BoundedCache(8)

# The Poisoning page's runs and poison-rate curves (both report progress).
POISON_OUTCOMES = BoundedCache(32)
POISON_CURVES = BoundedCache(16)
# The Privacy page: trained (and mitigated) targets per PrivacyScenario.target_key, attack outcomes per scenario,
# and the comparisons it draws (regularised side by side, the DP sweep, the model families).
PRIVACY_TARGETS = BoundedCache(8)
PRIVACY_OUTCOMES = BoundedCache(64)
PRIVACY_COMPARISONS = BoundedCache(16)
