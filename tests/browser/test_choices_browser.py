"""Choices stick in Chromium (issue 16): the Attack Lab's choices survive leaving the page and coming back, and
its copied address reproduces the page, choices and numbers, in a fresh browser context."""

import re

from .conftest import choose, metric, screenshot, wait_idle
from .test_lab_browser import _no_exception, _run_until

NUMBERS = ("Clean accuracy", "Adversarial accuracy", "Attack success rate", "Predictions flipped")


def _choices(page) -> dict[str, str]:
    box = {label: page.locator('[data-testid="stSelectbox"]', has=page.get_by_text(label, exact=True))
           .locator("input").input_value() for label in ("Model", "Attack")}
    return {**box, "points": page.get_by_label("Test points to attack", exact=True).input_value()}


def _results(page, done) -> dict[str, str]:
    _run_until(page, re.compile(r"^Run HopSkipJump"), done)
    wait_idle(page)
    _no_exception(page)
    return {label: metric(page, label) for label in NUMBERS}


def test_choices_survive_a_page_switch_and_a_copied_address_reproduces_the_attack_lab(page, browser, app_url):
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.set_default_timeout(120_000)
    page.goto(f"{app_url}/data-sets?data=breast_cancer&scaling=minmax")
    wait_idle(page)
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=re.compile("Attack Lab")).click()
    page.get_by_role("heading", name="Attack Lab").wait_for()
    wait_idle(page)
    sample = page.get_by_label("Test points to attack", exact=True)
    sample.fill("16")
    sample.press("Enter")
    wait_idle(page)
    choose(page, "Model", "RBF SVM")
    wait_idle(page)
    choose(page, "Attack", "HopSkipJump")
    done = page.get_by_text(re.compile(r"HopSkipJump on 16 test points took [\d.]+ s"))
    first = _results(page, done)
    chosen = _choices(page)
    assert chosen == {"Model": "RBF SVM", "Attack": "HopSkipJump", "points": "16"}
    assert first["Predictions flipped"].endswith("of 16")
    address = page.url
    for part in ("data=breast_cancer", "scaling=minmax", "model=rbf_svm", "attack=hop_skip_jump", "points=16"):
        assert part in address, (part, address)

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("link", name=re.compile("Data Overview")).click()
    page.get_by_role("heading", name="Data Overview").wait_for()
    wait_idle(page)
    sidebar.get_by_role("link", name=re.compile("Attack Lab")).click()
    page.get_by_role("heading", name="Attack Lab").wait_for()
    assert _results(page, done) == first and _choices(page) == chosen  # back: every choice, the same numbers
    assert "data=breast_cancer" in page.url

    fresh = browser.new_context(viewport={"width": 1400, "height": 2400})  # no cookies, no session: a new user
    try:
        other = fresh.new_page()
        other.set_default_timeout(120_000)
        other.goto(address)
        other.get_by_role("heading", name="Attack Lab").wait_for()
        wait_idle(other)
        again = _results(other, other.get_by_text(re.compile(r"HopSkipJump on 16 test points took [\d.]+ s")))
        assert _choices(other) == chosen and again == first
        assert other.get_by_text(re.compile("Breast cancer")).first.is_visible()
        screenshot(other, "attack_lab_from_copied_address")
    finally:
        fresh.close()
