"""The Defences page in Chromium: adversarial training on breast cancer, undefended vs defended side by side."""

from tests.browser.conftest import screenshot, wait_idle


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True)).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_adversarial_training_beats_the_undefended_model(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 3600})  # room for the metrics and the chart
    page.goto(f"{app_url}/defences?data=breast_cancer&scaling=minmax")
    wait_idle(page)
    page.get_by_role("heading", name="Defences").first.wait_for()
    assert page.get_by_text("Not available here").first.is_visible()  # JPEG etc. need images
    page.get_by_role("button", name="Evaluate").click()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=180_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    robust, undefended = float(_metric(page, "Robust accuracy")), float(_metric(page, "Undefended robust"))
    assert robust - undefended >= 0.15
    screenshot(page, "defences")
