"""A bounded run (qulab.app.running.Run) without Streamlit: its value and every report reach the page; Stop and the
time budget end the work at its next report, through a library's ``except Exception``; nothing stopped is cached;
a session waiting for another's computation of the same key stops too, and one computation per key still holds."""

from __future__ import annotations

import threading

import pytest

from qulab.app.caches import BoundedCache
from qulab.app.running import Abandoned, OverBudget, Run, cached
from qulab.core.bounded import stopped_message

WAIT = 60  # seconds: only a hung test ever waits this long


class Work:
    """Reports progress until told to finish; counts its calls. Like library code, it turns any Exception into its
    own result, which a stopped run must get through."""

    def __init__(self) -> None:
        self.calls = 0
        self.reported = threading.Event()
        self.finish = threading.Event()

    def __call__(self, progress) -> str:
        self.calls += 1
        call = self.calls
        step = 0
        while not self.finish.is_set():
            try:
                progress(min(step / 100, 1.0), f"step {step}")
            except Exception:  # noqa: BLE001 — the library's catch-all that Abandoned must not meet
                return "swallowed"
            step += 1
            self.reported.set()
            self.finish.wait(0.01)
        return f"value {call}"


class Silent:
    """Work that reports nothing until released, then reports once."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, progress) -> str:
        self.started.set()
        self.release.wait(WAIT)
        progress(1.0, "done")
        return "value"


class Observed(Run):
    """A run that says when it is asked whether to stop (a cache wait polls it)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked = threading.Event()

    def check(self) -> None:
        self.asked.set()
        super().check()


def ended(run: Run) -> Run:
    assert run.wait(WAIT), "the run did not end"
    return run


def test_the_value_and_every_report_in_order_reach_the_page():
    def compute(progress):
        for step in range(5):
            progress(step / 4, f"step {step}")
        return 42

    run = ended(Run(compute, budget=300).start())
    assert run.result() == 42 and run.error is None and not run.over_budget()
    reports = []
    while not run.reports.empty():
        reports.append(run.reports.get())
    assert reports == [(step / 4, f"step {step}") for step in range(5)]


def test_stop_ends_the_work_at_its_next_report_through_except_exception():
    work = Work()
    run = Run(work, budget=300).start()
    assert work.reported.wait(WAIT)
    run.stop()
    ended(run)
    assert type(run.error) is Abandoned and run.value is None and not run.over_budget()
    with pytest.raises(Abandoned):
        run.result()
    assert not work.finish.is_set()  # it ended because it was stopped, not because it finished


def test_a_stopped_run_is_not_cached_and_the_next_computes_again():
    cache, work = BoundedCache(4), Work()
    run = Run(cached(cache, "k", work), budget=300).start()
    assert work.reported.wait(WAIT)
    run.stop()
    assert isinstance(ended(run).error, Abandoned)
    assert "k" not in cache
    work.finish.set()
    again = ended(Run(cached(cache, "k", work), budget=300).start())
    assert again.result() == "value 2" and work.calls == 2 and "k" in cache


def test_over_the_budget_the_work_stops_with_over_budget_and_nothing_is_cached():
    cache, work = BoundedCache(4), Work()
    run = ended(Run(cached(cache, "k", work), budget=0).start())  # its first report is over a budget of 0 s
    assert type(run.error) is OverBudget and run.over_budget() and work.calls == 1 and not work.reported.is_set()
    assert "k" not in cache


def test_silent_work_over_its_budget_is_seen_by_the_page_and_stops_at_its_next_report():
    work = Silent()
    run = Run(work, budget=0).start()
    assert work.started.wait(WAIT)
    assert run.over_budget() and not run.done.is_set()  # what the page reads while the work says nothing
    run.stop(OverBudget)
    work.release.set()
    assert type(ended(run).error) is OverBudget


def test_the_first_reason_to_stop_stays():
    work = Silent()
    run = Run(work, budget=300).start()
    run.stop(OverBudget)
    run.stop()
    work.release.set()
    assert type(ended(run).error) is OverBudget


def test_a_second_session_waiting_for_the_same_key_stops_and_the_first_computes_once():
    cache, work = BoundedCache(4), Work()
    owner = Run(cached(cache, "k", work), budget=300).start()
    assert work.reported.wait(WAIT)
    waiter = Observed(cached(cache, "k", work), budget=300).start()
    assert waiter.asked.wait(WAIT)  # it is waiting for the owner's computation, asking whether to stop
    waiter.stop()
    assert type(ended(waiter).error) is Abandoned
    assert not owner.done.is_set()  # the waiter leaving does not stop the owner
    work.finish.set()
    assert ended(owner).result() == "value 1"
    third = ended(Run(cached(cache, "k", work), budget=300).start())
    assert third.result() == "value 1" and work.calls == 1  # one computation for the key, then kept


def test_a_waiting_session_computes_when_the_first_is_stopped():
    cache, work = BoundedCache(4), Work()
    owner = Run(cached(cache, "k", work), budget=300).start()
    assert work.reported.wait(WAIT)
    waiter = Observed(cached(cache, "k", work), budget=300).start()
    assert waiter.asked.wait(WAIT)
    owner.stop()
    assert isinstance(ended(owner).error, Abandoned)
    work.finish.set()  # the waiter took over the key: its own computation finishes
    assert ended(waiter).result() == "value 2" and work.calls == 2 and "k" in cache


def test_the_app_and_the_cli_say_a_stopped_run_the_same_way():
    app = stopped_message("FGM on 200 test points", 300, "this session's time budget", "fewer test points are "
                          "faster", "raise the budget under **Run limits** in the sidebar")
    assert app == ("FGM on 200 test points stopped after 300 s (this session's time budget); fewer test points are "
                   "faster, or raise the budget under **Run limits** in the sidebar. Nothing was saved.")
    assert stopped_message("qulab curve", 0.2, "--timeout", "", "give a larger --timeout") == (
        "qulab curve stopped after 0.2 s (--timeout); give a larger --timeout. Nothing was saved.")
