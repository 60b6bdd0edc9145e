"""The Poisoning page in Chromium: a digits backdoor with its triggered images and ASR curve, then label flips
caught by kNN cleaning; the page shows the library's numbers."""

from .conftest import choose, metric, screenshot, wait_idle


def test_digits_backdoor_then_label_flips_with_a_detector(page, app_url):
    from qulab.threats.poisoning.experiment import PoisoningScenario
    from qulab.threats.poisoning.run import run_poisoning

    page.set_viewport_size({"width": 1400, "height": 3000})
    page.goto(f"{app_url}/poisoning?data=digits")
    wait_idle(page)
    page.get_by_role("heading", name="Poisoning").first.wait_for()
    choose(page, "Model", "Decision tree")
    choose(page, "Poisoning attack", "Backdoor (trigger pattern)")
    page.get_by_text("Attack success rate", exact=True).first.wait_for(timeout=120_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    expected = run_poisoning(PoisoningScenario(dataset="digits", model="decision_tree", attack="backdoor",
                                               target_class=0, rate=0.1))
    assert float(metric(page, "Attack success rate")) == round(expected.attack_success_rate, 3)
    assert page.get_by_text("Triggered", exact=True).first.is_visible()
    page.get_by_role("button", name="Compute the curve").click()
    page.locator('[data-testid="stPlotlyChart"]').nth(2).wait_for(timeout=180_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "poisoning-backdoor")

    page.goto(f"{app_url}/poisoning?data=moons")
    wait_idle(page)
    choose(page, "Poisoning attack", "Label flipping (random)")
    choose(page, "Detector", "kNN label cleaning")
    page.get_by_text("Detection recall", exact=True).first.wait_for(timeout=120_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    flips = run_poisoning(PoisoningScenario(dataset="moons", rate=0.1,
                                            defence="knn_cleaning"))
    assert float(metric(page, "Detection recall")) == round(flips.detection_recall, 3)
    screenshot(page, "poisoning-label-flips")
