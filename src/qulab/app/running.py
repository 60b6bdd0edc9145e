"""Long work on a page, bounded: a time budget per session and a Stop button, and nothing half-done kept.

:func:`bounded` runs ``compute(progress)`` on a worker thread while the page's own thread draws its progress, the
seconds it has taken and a **Stop** button. Streamlit interrupts the page's thread when the user presses Stop (or
changes anything else): the worker is then told to stop, and learns it at its next progress report, which raises
:class:`Abandoned` there. Over the session's time budget the page says so in one sentence and the worker is told
the same way (:class:`OverBudget`). Both are BaseExceptions, so a library's ``except Exception`` lets them through,
and the caches keep no failure, so nothing half-done is cached or saved. The library computation never sees
Streamlit: it only calls ``progress(fraction, text)``.

Work that makes no progress report for a while (one long call into ART) is left to finish that call in the
background and then stops; the page does not wait for it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from qulab.app import warm_up
from qulab.core.bounded import stopped_message

BUDGET_KEY = "qulab.run_limits.seconds"  # the Run limits widget: this session's time budget per run
DEFAULT_BUDGET, MIN_BUDGET, MAX_BUDGET = 300, 5, 3600
HOLD_KEY = "qulab.running.hold"  # {key: Hold} runs the user stopped, held until "Run again" or other settings
STARTED_KEY = "qulab.running.started"  # {key: (time.monotonic() at its start, its experiment)} runs under way
POLL_SECONDS = 0.1  # how often the page draws the worker's progress and the clock
QUIET_SECONDS = 0.3  # work done by then without a progress report (a kept result) draws nothing


@dataclass(frozen=True)
class Hold:
    """A run the user stopped: the seconds it ran (None when unknown) and the experiment it was computing. The
    hold keeps that experiment from starting again on its own; other settings are another run, which goes ahead.
    ``experiment`` None holds whatever the page runs under the key."""

    seconds: float | None
    experiment: Hashable | None = None
    again: bool = False  # Run again was pressed: the next run of it goes ahead


class Abandoned(BaseException):
    """Raised on the worker at its next progress report once the run is stopped. A BaseException, so that the
    library's ``except Exception`` (one failing attack must not end the others) does not swallow it."""


class OverBudget(Abandoned):
    """The run went over the session's time budget."""


class Run:
    """``compute(progress)`` on a daemon thread, stopped through its progress reports: pure, no Streamlit.

    The object is the ``progress(fraction, text)`` the computation is given; :meth:`check` is the hook for a
    :class:`~qulab.app.caches.BoundedCache` wait (``waiting=progress.check``). Reports queue up, so the page
    draws every one of them in order.
    """

    def __init__(self, compute: Callable[[Run], Any], budget: float) -> None:
        self.budget = budget
        self.reports: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self._compute = compute
        self._stop: type[Abandoned] | None = None

    def start(self, context: Any = None) -> Run:
        """Start the worker. Streamlit's script-run ``context``, when given, goes with it only because the
        ``st.cache_resource`` functions a computation may call (the trained model, an attack's step) warn without
        one; the computation itself does not need Streamlit."""
        thread = threading.Thread(target=self._work, name="qulab-run", daemon=True)
        if context is not None:
            add_script_run_ctx(thread, context)
        self.started = time.monotonic()
        thread.start()
        return self

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, fraction: float, text: str) -> None:
        self.check()
        self.reports.put((fraction, text))

    def check(self) -> None:
        """Raise on the worker if the run was stopped or is over its budget."""
        if self._stop is None and self.elapsed() > self.budget:
            self._stop = OverBudget
        if self._stop is not None:
            raise self._stop()

    def stop(self, reason: type[Abandoned] = Abandoned) -> None:
        """Tell the worker to stop at its next progress report (the first reason given stays)."""
        if self._stop is None:
            self._stop = reason

    def wait(self, seconds: float | None) -> bool:
        """Whether the work ended (with a value or an error) within ``seconds``."""
        return self.done.wait(seconds)

    def over_budget(self) -> bool:
        return isinstance(self.error, OverBudget) or (not self.done.is_set() and self.elapsed() > self.budget)

    def result(self) -> Any:
        """The value, or the computation's error raised here."""
        if self.error is not None:
            raise self.error
        return self.value

    def _work(self) -> None:
        try:
            self.value = self._compute(self)
        except BaseException as error:  # noqa: BLE001 (handed to the page's thread, which decides)
            self.error = error
        finally:
            self.done.set()


def cached(cache: Any, key: Any, compute: Callable[[Run], Any]) -> Callable[[Run], Any]:
    """``compute(progress)`` through ``cache`` (a :class:`~qulab.app.caches.BoundedCache`) under ``key``: computed
    once for all sessions, and a session waiting for another's computation still stops when told to."""
    return lambda progress: cache.get_or_compute(key, lambda: compute(progress), waiting=progress.check)


def budget_seconds() -> float:
    """This session's time budget per run, in seconds (the Run limits widget's value)."""
    return float(st.session_state.get(BUDGET_KEY, DEFAULT_BUDGET))


def run_limits() -> None:
    """The sidebar's Run limits: the session's time budget per run, kept for the session."""
    st.session_state.setdefault(BUDGET_KEY, DEFAULT_BUDGET)
    with st.expander("Run limits", icon=":material/timer:"):
        st.number_input("Time budget per run (seconds)", min_value=MIN_BUDGET, max_value=MAX_BUDGET, step=30,
                        key=BUDGET_KEY,
                        help="Every attack, defence, poisoning and privacy run on the Lab pages stops after this "
                             f"many seconds ({MIN_BUDGET} to {MAX_BUDGET}), and nothing of it is saved. Every "
                             "run also has a Stop button.")


def held(key: str, experiment: Hashable | None = None) -> bool:
    """Whether the user stopped this run of ``experiment`` (and maybe pressed Run again): a page whose run waits
    for a button lets a held run through, so that :func:`bounded` says it was stopped, or runs it again. A hold
    on other settings is let go (the user moved on: what they see now has not been stopped)."""
    holds = st.session_state.get(HOLD_KEY, {})
    hold = holds.get(key)
    if hold is None:
        return False
    if hold.experiment is not None and hold.experiment != experiment:
        del holds[key]
        return False
    return True


def _hold(key: str) -> None:
    """The Stop button's callback, at the start of the rerun it causes: hold the run, with the seconds it ran."""
    started, experiment = st.session_state.get(STARTED_KEY, {}).pop(key, (None, None))
    seconds = None if started is None else time.monotonic() - started
    st.session_state.setdefault(HOLD_KEY, {})[key] = Hold(seconds, experiment)


def _release(key: str) -> None:
    """Run again: the held run goes ahead on the rerun this causes (past its page's button, if it has one)."""
    holds = st.session_state.get(HOLD_KEY, {})
    if key in holds:
        holds[key] = replace(holds[key], again=True)


def _held(slot: Any, key: str, seconds: float | None) -> None:
    with slot.container():
        after = "" if seconds is None else f" after {seconds:.0f} s"
        st.info(f"You stopped this run{after}. Nothing was saved.", icon=":material/stop_circle:")
        st.button("Run again", key=f"{key}_again", on_click=_release, args=(key,), icon=":material/replay:")


def bounded(slot: Any, key: str, compute: Callable[[Run], Any], *, what: str, hint: str, label: str,
            words: Callable[[str], str] = str, stop_page: bool = True, experiment: Hashable | None = None) -> Any:
    """``compute(progress)`` under the session's time budget, with a Stop button; its value.

    ``slot`` (an ``st.empty()``) is where the progress, the Stop button and the messages go; ``key`` names the
    run's buttons and its hold; ``experiment`` is what the run computes (a stopped one stays stopped until Run
    again; other settings run); ``what`` names the work in the budget message and ``hint`` says how to make it
    cheaper; ``label`` is the bar's text until the first report, ``words`` makes a report's text the bar's. A
    stopped or over-budget run shows its message and stops the page (``stop_page``), else gives None. The
    computation's own errors are raised here.
    """
    if held(key, experiment):
        holds = st.session_state[HOLD_KEY]
        if not holds[key].again:
            _held(slot, key, holds[key].seconds)
            return _halt(stop_page)
        del holds[key]
    warm_up.start().join()  # the heavy imports done here first: Python 3.11 can fail on them on two threads at once
    run = Run(compute, budget_seconds()).start(get_script_run_ctx())
    if not run.wait(QUIET_SECONDS) or not run.reports.empty():
        _follow(slot, key, run, label, words, experiment)
    if run.over_budget():
        slot.error(stopped_message(what, run.budget, "this session's time budget", hint,
                                   "raise the budget under **Run limits** in the sidebar"), icon=":material/timer_off:")
        return _halt(stop_page)
    slot.empty()
    return run.result()


def _follow(slot: Any, key: str, run: Run, label: str, words: Callable[[str], str],
            experiment: Hashable | None) -> None:
    """Draw the run's progress and clock with a Stop button until it ends or goes over its budget. Whatever
    interrupts the page (Stop, another widget, the session ending) stops the run too."""
    started = st.session_state.setdefault(STARTED_KEY, {})
    started[key] = (run.started, experiment)
    with slot.container():
        bar = st.progress(0.0, text=label)
        clock_column, button_column = st.columns([5, 1], vertical_alignment="center")
        clock = clock_column.empty()
        button_column.button("Stop", key=f"{key}_stop", on_click=_hold, args=(key,), icon=":material/stop:",
                             help="Stop this run: nothing of it is kept or saved.")
    shown = -1
    try:
        while True:
            ended = run.wait(POLL_SECONDS)
            while not run.reports.empty():
                fraction, text = run.reports.get()
                bar.progress(min(max(fraction, 0.0), 1.0), text=words(text))
            if ended or run.over_budget():
                break
            if int(run.elapsed()) != shown:
                shown = int(run.elapsed())
                clock.caption(f"{shown} s of this session's {run.budget:g} s time budget")
    except BaseException:  # the start time stays for the Stop button's callback
        run.stop()
        raise
    started.pop(key, None)
    if not run.done.is_set():
        run.stop(OverBudget)  # it goes at its next report; the page does not wait


def _halt(stop_page: bool) -> None:
    if stop_page:
        st.stop()
