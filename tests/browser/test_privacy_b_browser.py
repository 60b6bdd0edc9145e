"""The Privacy page in Chromium for the inference and extraction entries: model inversion on digits (one image per
class above the class mean) and equation-solving extraction; screenshots in test-artifacts/."""

from __future__ import annotations

from qulab.core.wording import accuracy_text

from .conftest import screenshot


def wait_idle(page) -> None:
    """Wait for the run to finish; an inversion or a model fit takes a while on a busy 2-core host."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=300_000)


def _choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]', has=page.get_by_text(label, exact=True)).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True)).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_inversion_and_extraction_on_digits(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(f"{app_url}/privacy?data=digits&scaling=minmax")
    wait_idle(page)
    page.get_by_role("heading", name="Privacy").first.wait_for(timeout=300_000)
    _choose(page, "Model", "Logistic regression")
    _choose(page, "Attack", "Model inversion (MIFace)")
    page.get_by_text("Reconstructed from the model, beside the class mean").wait_for(timeout=300_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert _metric(page, "Recognised by the model") == accuracy_text(1.0)
    screenshot(page, "privacy_inversion")

    _choose(page, "Attack", "Equation-solving extraction (logistic regression)")
    page.get_by_text("Stolen against true weights").wait_for(timeout=300_000)
    wait_idle(page)
    assert _metric(page, "Queries") == "65"
    assert _metric(page, "Agreement") == accuracy_text(1.0)
    screenshot(page, "privacy_extraction")
