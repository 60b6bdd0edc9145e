"""The Defences page in Chromium: adversarial training on breast cancer, undefended vs defended side by side."""

from .conftest import changes_address, choose, metric, screenshot, wait_idle


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
    robust, undefended = float(metric(page, "Robust accuracy")), float(metric(page, "Undefended robust"))
    assert robust - undefended >= 0.15
    screenshot(page, "defences")


def test_gaussian_noise_looks_strong_until_the_attack_adapts(page, app_url):
    """DeepFool L2 at eps 0.54 (the L2 slider's default, √30 × 0.1) on breast cancer: the noise rescues DeepFool's
    points (non-adaptive), the adaptive attack takes that back; the page shows the library's numbers."""
    from qulab.core.experiment import Scenario
    from qulab.defences import evaluate_defence

    page.set_viewport_size({"width": 1400, "height": 3600})
    page.goto(f"{app_url}/defences?data=breast_cancer&scaling=minmax")
    wait_idle(page)
    page.get_by_role("heading", name="Defences").first.wait_for()
    choose(page, "Attack", "DeepFool")
    changes_address(page, page.get_by_text("Adversarial training (Madry) · training").click)  # off
    changes_address(page, page.get_by_text("Gaussian noise at test time · preprocessing").click)  # on
    thumb = page.locator('input[aria-label="Epsilon (L2)"]')
    assert thumb.get_attribute("aria-valuetext") == "0.54"  # the L2 range is √30 times the L∞ one
    page.get_by_role("button", name="Evaluate").click()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=180_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    scenario = Scenario(dataset="breast_cancer", scaling="minmax", model="logistic_regression", attack="deepfool",
                        norm="2", eps=0.54)
    expected = evaluate_defence(scenario, "gaussian_noise", {"sigma": 0.1})
    adaptive = float(metric(page, "Robust (adaptive)"))
    nonadaptive = float(metric(page, "Robust (non-adaptive)"))
    undefended = float(metric(page, "Undefended robust"))
    assert (undefended, nonadaptive, adaptive) == tuple(round(v, 3) for v in (
        expected.robust_undefended, expected.robust_nonadaptive, expected.robust_defended))
    assert nonadaptive - undefended >= 0.05 and adaptive - undefended <= 0.5 * (nonadaptive - undefended)
    assert page.get_by_text("stretches each of its perturbations").first.is_visible()
    screenshot(page, "defences_gaussian_noise")
