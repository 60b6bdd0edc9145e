"""Attack Lab and Robustness in Chromium: a white-box attack (FGM), a black-box one (HopSkipJump on a small
sample), then the robustness curves for the same model."""

import re
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .conftest import choose, metric, screenshot, wait_idle


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _run_until(page, button_name, done, timeout: float = 180) -> None:
    """Wait until ``done`` shows; on a loaded machine a pilot timing can exceed the auto-run limit, and then the
    page asks for a click on its Run button, which this presses as a user would."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done.count():
            return
        button = page.get_by_role("button", name=button_name)
        try:
            if button.count() and button.is_enabled(timeout=1000):
                button.click(timeout=2000)
        except PlaywrightTimeoutError:  # it left the page between looking and clicking (its run began): look again
            pass
        page.wait_for_timeout(500)
    raise AssertionError(f"{done} did not appear within {timeout} s")


def test_attack_lab_white_box_then_black_box_then_robustness(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 2400})  # room for the results and the chart
    page.set_default_timeout(120_000)  # two cores shared with other test runs: attacks can be slow to start
    page.goto(f"{app_url}/attack-lab")
    wait_idle(page)
    page.get_by_role("heading", name="Attack Lab").wait_for()
    page.locator('[data-testid="stMetric"]').first.wait_for()
    wait_idle(page)
    assert metric(page, "Predictions flipped").endswith("of 200")  # FGM, white-box, on the default data
    assert page.get_by_text("Synthetic (X1, X2)").first.is_visible()
    link = page.get_by_role("link", name=re.compile("Change on Data Sets"))
    assert link.get_attribute("href").rstrip("/").endswith("data-sets")
    _no_exception(page)
    screenshot(page, "attack_lab_fgm")

    sample = page.get_by_label("Test points to attack", exact=True)
    sample.fill("12")
    sample.press("Enter")
    page.get_by_text(re.compile(r"^\d+ of 12$")).wait_for()
    wait_idle(page)
    choose(page, "Attack", "HopSkipJump")
    hsj_done = page.get_by_text(re.compile(r"HopSkipJump on 12 test points took [\d.]+ s"))
    _run_until(page, re.compile(r"^Run HopSkipJump"), hsj_done)
    wait_idle(page)
    eps = page.locator('[data-testid="stSlider"]', has=page.get_by_text("Epsilon (L2)", exact=True))
    eps.get_by_role("slider").press("End")  # the widest L2 budget, so that some points flip
    page.get_by_text(re.compile(r"eps = 0\.71 is in the features")).wait_for()
    _run_until(page, re.compile(r"^Run HopSkipJump"), hsj_done)
    wait_idle(page)
    assert page.get_by_text("black-box", exact=True).is_visible()
    assert metric(page, "Predictions flipped").endswith("of 12")
    adversarial, clean = float(metric(page, "Adversarial accuracy")), float(metric(page, "Clean accuracy"))
    assert adversarial <= clean
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 1
    _no_exception(page)
    screenshot(page, "attack_lab")

    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=re.compile("Robustness")).click()
    page.get_by_role("heading", name="Robustness").wait_for()
    _run_until(page, "Compute the curves", page.locator('[data-testid="stDataFrame"]'))
    page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for()
    wait_idle(page)
    page.locator('[data-testid="stRadio"]').get_by_text("L2", exact=True).click()  # adds DeepFool (L2 only)
    _run_until(page, "Compute the curves", page.locator('[data-testid="stDataFrame"]').get_by_text("DeepFool"))
    wait_idle(page)
    assert page.get_by_text("sub-optimality").is_visible()
    assert page.get_by_label("Test points to attack", exact=True).input_value() == "12"  # carried over from Attack Lab
    _no_exception(page)
    screenshot(page, "robustness")


def test_attack_lab_on_digits_shows_the_image_gallery(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 2900})
    page.goto(f"{app_url}/attack-lab?data=digits")
    wait_idle(page)
    page.get_by_role("heading", name="Attack Lab").wait_for()
    sample = page.get_by_label("Test points to attack", exact=True)
    sample.fill("30")
    sample.press("Enter")
    page.get_by_text(re.compile(r"^\d+ of 30$")).wait_for()
    page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for()
    wait_idle(page)
    assert page.get_by_text("Digits (8×8 images)").first.is_visible()
    assert page.get_by_text(re.compile("of these 6 examples were fooled")).is_visible()
    _no_exception(page)
    screenshot(page, "attack_lab_digits")
