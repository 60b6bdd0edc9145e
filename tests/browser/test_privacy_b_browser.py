"""The Privacy page in Chromium for the inference and extraction entries: model inversion on digits (one image per
class above the class mean) and equation-solving extraction; screenshots in test-artifacts/."""

from __future__ import annotations

from qulab.core.wording import accuracy_text

from .conftest import choose, metric, screenshot, wait_idle


def test_inversion_and_extraction_on_digits(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(f"{app_url}/privacy?data=digits&scaling=minmax")
    wait_idle(page, 300)
    page.get_by_role("heading", name="Privacy").first.wait_for(timeout=300_000)
    choose(page, "Model", "Logistic regression")
    choose(page, "Attack", "Model inversion (MIFace)")
    page.get_by_text("Reconstructed from the model, beside the class mean").wait_for(timeout=300_000)
    wait_idle(page, 300)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert metric(page, "Recognised by the model") == accuracy_text(1.0)
    screenshot(page, "privacy_inversion")

    choose(page, "Attack", "Equation-solving extraction (logistic regression)")
    page.get_by_text("Stolen against true weights").wait_for(timeout=300_000)
    wait_idle(page, 300)
    assert metric(page, "Queries") == "65"
    assert metric(page, "Agreement") == accuracy_text(1.0)
    screenshot(page, "privacy_extraction")
