"""The app's caches compute each key once under concurrency, keep no failure and stay bounded."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from qulab.app import widgets
from qulab.app.caches import BoundedCache
from qulab.core.experiment import Scenario

SESSIONS = 8


class Counted:
    """A slow computation that counts its calls and fails (or is stopped) on the calls it is told to."""

    def __init__(self, fail_on: tuple[int, ...] = (), error: BaseException | None = None) -> None:
        self.calls = 0
        self.fail_on, self.error = fail_on, error or ValueError("ART failed")
        self._lock = threading.Lock()

    def __call__(self) -> dict:
        with self._lock:
            self.calls += 1
            call = self.calls
        time.sleep(0.2)  # long enough for every other session to arrive while it runs
        if call in self.fail_on:
            raise self.error
        return {"call": call}


def at_once(ask, n: int = SESSIONS) -> list:
    """``ask()`` from n threads released together; each thread's value, or the exception it raised."""
    start = threading.Barrier(n)

    def session():
        start.wait()
        try:
            return ask()
        except BaseException as error:  # noqa: BLE001 — collected for the assertions
            return error

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: session(), range(n)))


def test_sessions_asking_for_the_same_key_share_one_computation():
    cache, compute = BoundedCache(4), Counted()
    results = at_once(lambda: cache.get_or_compute("k", compute))
    assert compute.calls == 1
    assert all(result is results[0] for result in results)  # the same object, not equal copies


def test_different_keys_compute_side_by_side():
    cache, compute = BoundedCache(SESSIONS), Counted()
    keys = iter(range(SESSIONS))
    lock = threading.Lock()

    def ask():
        with lock:
            key = next(keys)
        return cache.get_or_compute(key, compute)

    started = time.perf_counter()
    at_once(ask)
    assert compute.calls == SESSIONS
    assert time.perf_counter() - started < SESSIONS * 0.2 / 2  # not one after another


def test_a_failure_reaches_every_waiting_session_and_is_not_kept():
    cache, compute = BoundedCache(4), Counted(fail_on=(1,))
    results = at_once(lambda: cache.get_or_compute("k", compute))
    assert compute.calls == 1
    assert all(result is compute.error for result in results)
    assert "k" not in cache
    assert cache.get_or_compute("k", compute) == {"call": 2}  # computed again
    assert "k" in cache


def test_waiters_retry_when_the_computing_session_is_stopped():
    """Streamlit stops a session's thread (the user reran or left) with a BaseException that is not the waiters'
    to raise: one of them computes instead."""
    cache, compute = BoundedCache(4), Counted(fail_on=(1,), error=StopException())
    results = at_once(lambda: cache.get_or_compute("k", compute))
    assert compute.calls == 2
    assert sum(isinstance(result, StopException) for result in results) == 1
    assert [result for result in results if isinstance(result, dict)] == [{"call": 2}] * (SESSIONS - 1)


def test_the_least_recently_used_values_go_beyond_the_bound():
    cache = BoundedCache(3)
    for key in "abc":
        cache.get_or_compute(key, lambda key=key: key.upper())
    cache.get_or_compute("a", lambda: pytest.fail("a is cached"))  # a is now the most recently used
    cache.get_or_compute("d", lambda: "D")
    assert [key for key in "abcd" if key in cache] == ["a", "c", "d"]


def test_streamlit_caches_compute_once_and_keep_no_failure():
    """What caches.py relies on in Streamlit's st.cache_data and st.cache_resource (see its docstring)."""
    for decorator in (st.cache_data, st.cache_resource):
        compute = Counted(fail_on=(1,))

        @decorator
        def cached(key: str, compute=compute) -> dict:
            return compute()

        failures = at_once(lambda: cached("k"))
        # The first session fails; the others, waiting on the key's lock, find nothing stored and compute in
        # turn; the second computation is stored and the rest read it.
        assert compute.calls == 2
        assert sum(isinstance(result, ValueError) for result in failures) == 1
        assert cached("k") == {"call": 2} and compute.calls == 2
        cached.clear()


def test_a_failed_lab_run_is_shown_and_tried_again(monkeypatch):
    scenario = Scenario(attack="pgd", attack_params=(("max_iter", 2),))
    real = widgets.run_attack

    def failing(*args):
        raise ValueError("ART failed")

    monkeypatch.setattr(widgets, "run_attack", failing)
    failed = widgets.lab_run(scenario, 5)
    assert failed.outcome is None and failed.error.endswith("failed on this model and data: ART failed")
    monkeypatch.setattr(widgets, "run_attack", real)
    again = widgets.lab_run(scenario, 5)
    assert again.error is None and again.outcome.n_test == 5
