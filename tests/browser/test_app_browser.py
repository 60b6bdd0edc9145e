"""The app as a person uses it: real server, headless Chromium, screenshots in test-artifacts/."""

import re

from .conftest import screenshot, wait_idle


def _metric(page, label: str) -> float:
    metric = page.locator('[data-testid="stMetric"]', has_text=label)
    return float(metric.locator('[data-testid="stMetricValue"]').inner_text())


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_sidebar_and_data_overview(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')  # drawn after the page's own elements: wait for it
    sidebar.get_by_text("QuLab", exact=True).wait_for()
    sidebar.get_by_role("link", name=re.compile("Data Overview")).wait_for()
    sidebar.get_by_role("link", name=re.compile("Attack Demo")).wait_for()
    page.get_by_role("heading", name="Data Overview").wait_for()
    page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for()
    assert page.locator('[data-testid="stDataFrame"]').count() == 1
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 2
    _no_exception(page)
    screenshot(page, "data_overview")


def test_attack_demo_end_key_drops_adversarial_accuracy(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=re.compile("Attack Demo")).click()
    page.get_by_role("heading", name="Attack Demo").wait_for()
    page.locator('[data-testid="stMetric"]', has_text="Adversarial accuracy").wait_for()
    wait_idle(page)
    before = _metric(page, "Adversarial accuracy")
    clean = _metric(page, "Clean accuracy")
    assert before <= clean
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    screenshot(page, "attack_demo_eps_0_10")  # the default budget, where short segments once hid under markers
    page.locator('[data-testid="stSlider"]').get_by_role("slider").press("End")
    page.wait_for_function(
        """before => {
            const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
                .find(m => m.innerText.includes('Adversarial accuracy'));
            return metric && parseFloat(metric.querySelector('[data-testid="stMetricValue"]').innerText) < before;
        }""", arg=before)
    wait_idle(page)
    after = _metric(page, "Adversarial accuracy")
    assert after < before
    assert page.locator('[data-testid="stSlider"]').inner_text().find("0.50") >= 0
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    _no_exception(page)
    screenshot(page, "attack_demo")
