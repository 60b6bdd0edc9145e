"""Issue 15 in Chromium: a long run has a Stop button; pressing it ends the run with one sentence and nothing shown
or kept, "Run again" starts it again, and the page still works after (another setting runs to its result). A run
over the session's time budget (the sidebar's Run limits) says so in one sentence. Screenshots:
test-artifacts/stop_*.png."""

from __future__ import annotations

import re

from .conftest import screenshot, wait_idle
from .test_issue16_browser import BREAST
from .test_lab_browser import _no_exception, _run_until

# HopSkipJump on an RBF SVM with 50 boundary walks a point, on all 114 test points of breast cancer: about a minute
# idle, stopped long before.
POINTS = 114
LONG_RUN = f"{BREAST}&model=rbf_svm&attack=hop_skip_jump&norm=2&eps=0.5&points={POINTS}&attack.max_iter=50"


def stop_button(page):
    """The page's Stop button (Streamlit's header has one of its own while a script runs)."""
    return page.locator('[data-testid="stMain"]').get_by_role("button", name="Stop")


def _start_long_run(page, app_url: str) -> None:
    page.goto(f"{app_url}/attack-lab?{LONG_RUN}")
    button = page.get_by_role("button", name=f"Run HopSkipJump on {POINTS} points")
    button.wait_for()
    wait_idle(page)
    button.click()
    stop_button(page).wait_for()
    page.locator('[data-testid="stProgress"]').first.wait_for()


def test_stop_ends_a_long_run_and_the_page_keeps_working(page, app_url):
    page.set_default_timeout(180_000)
    _start_long_run(page, app_url)
    page.wait_for_timeout(1500)  # long enough for the clock to show a second
    assert page.get_by_text(re.compile(r"^\d+ s of this session's 300 s time budget$")).is_visible()
    screenshot(page, "stop_running")

    stop_button(page).click()
    stopped = page.get_by_text(re.compile(r"^You stopped this run after \d+ s\. Nothing was saved\.$"))
    stopped.wait_for()
    wait_idle(page)
    _no_exception(page)
    assert page.locator('[data-testid="stMetric"]').count() == 0  # no result of the stopped run
    assert stop_button(page).count() == 0
    assert page.locator('[data-testid="stProgress"]').count() == 0
    screenshot(page, "stop_stopped")

    page.get_by_role("button", name="Run again").click()  # the same run starts again, past its button
    stop_button(page).wait_for()
    assert stopped.count() == 0
    stop_button(page).click()
    stopped.wait_for()
    wait_idle(page)

    # Stopped, then other settings: they were never stopped, so they run; back to the stopped ones, the run waits
    # for its button as any long run does (not started on its own, nor still held).
    points = page.get_by_label("Test points to attack", exact=True)
    points.fill("10")
    points.press("Enter")
    _run_until(page, "Run HopSkipJump on 10 points",
               page.get_by_text(re.compile(r"HopSkipJump on 10 test points took [\d.]+ s")))
    wait_idle(page)
    assert stopped.count() == 0 and page.get_by_role("button", name="Run again").count() == 0
    assert page.locator('[data-testid="stMetric"]').count() > 0
    points.fill(str(POINTS))
    points.press("Enter")
    page.wait_for_url(lambda url: "points=" not in url)  # all the test points, the default: not in the address
    page.get_by_role("button", name=f"Run HopSkipJump on {POINTS} points").click()  # not started on its own
    stop_button(page).wait_for()
    assert stopped.count() == 0

    # Another setting, mid-run: that run goes and this one runs.
    points.fill("20")
    points.press("Enter")
    done = page.get_by_text(re.compile(r"HopSkipJump on 20 test points took [\d.]+ s"))
    _run_until(page, "Run HopSkipJump on 20 points", done)
    wait_idle(page)
    _no_exception(page)
    assert page.locator('[data-testid="stMetric"]').count() > 0
    assert stop_button(page).count() == 0
    screenshot(page, "stop_after_run_again")


def test_a_run_over_the_sessions_budget_says_so(page, app_url):
    page.set_default_timeout(180_000)
    page.goto(f"{app_url}/attack-lab?{LONG_RUN}")
    page.get_by_role("button", name=f"Run HopSkipJump on {POINTS} points").wait_for()
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Run limits").click()
    budget = sidebar.get_by_label("Time budget per run (seconds)", exact=True)
    budget.fill("5")
    budget.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=f"Run HopSkipJump on {POINTS} points").click()
    message = page.get_by_text(re.compile(rf"^HopSkipJump on {POINTS} test points stopped after 5 s \(this "
                                          r"session's time budget\); .*, or raise the budget under Run limits in "
                                          r"the sidebar\. Nothing was saved\.$"))
    message.wait_for()
    wait_idle(page)
    _no_exception(page)
    assert page.locator('[data-testid="stMetric"]').count() == 0
    screenshot(page, "stop_over_budget")


def test_stop_on_a_run_behind_its_button_and_run_again_runs_it_without_the_button(page, app_url):
    """The poison-rate curve waits for its button; stopped, the page says so instead of the button, and Run again
    computes it again without asking for the button."""
    page.set_default_timeout(180_000)
    page.goto(f"{app_url}/poisoning?data=breast_cancer&scaling=minmax&victim=torch_mlp")
    seeds = page.get_by_label("Seeds", exact=True)
    seeds.wait_for()
    wait_idle(page)
    seeds.fill("10")  # 60 trainings of the network: a minute or more
    seeds.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Compute the curve").click()
    stop_button(page).wait_for()
    stop_button(page).click()
    stopped = page.get_by_text(re.compile(r"^You stopped this run after \d+ s\. Nothing was saved\.$"))
    stopped.wait_for()
    wait_idle(page)
    _no_exception(page)
    assert page.get_by_role("button", name="Compute the curve").count() == 0
    assert page.locator('[data-testid="stMetric"]').count() > 0  # the poisoning run above the curve stays
    screenshot(page, "stop_curve_stopped")
    page.get_by_role("button", name="Run again").click()  # the curve computes again, past its button
    stop_button(page).wait_for()
    assert stopped.count() == 0 and page.get_by_role("button", name="Compute the curve").count() == 0
    stop_button(page).click()
    stopped.wait_for()
    wait_idle(page)
    _no_exception(page)
