"""The Privacy page in Chromium: LiRA on an over-fitted forest (the library's numbers, the log-log ROC), then the
advantage-against-ε sweep of logistic regression's private version (diffprivlib) under its bound."""


from .conftest import choose, metric, screenshot, wait_idle


def test_lira_on_an_overfitted_forest(page, app_url):
    from qulab.core.wording import accuracy_text
    from qulab.threats.privacy.experiment import PrivacyScenario
    from qulab.threats.privacy.run import run_privacy

    page.set_viewport_size({"width": 1400, "height": 3400})
    page.goto(f"{app_url}/privacy?data=breast_cancer&scaling=minmax&test_size=0.5")
    page.get_by_role("heading", name="Results").first.wait_for(timeout=300_000)
    wait_idle(page, 300)
    choose(page, "Model", "Random forest")
    choose(page, "Attack", "Likelihood-ratio attack (LiRA)")
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=300_000)
    wait_idle(page, 300)
    assert page.locator('[data-testid="stException"]').count() == 0
    expected = run_privacy(PrivacyScenario(dataset="breast_cancer", scaling="minmax", test_size=0.5,
                                           model="random_forest", attack="membership_lira"))
    assert metric(page, "AUC") == accuracy_text(expected.result.auc)
    assert metric(page, "TPR at 1.0% FPR") == accuracy_text(expected.result.tpr_at_fpr()["0.01"])
    assert metric(page, "TPR at 0.1% FPR") == "n/a"  # 285 non-members
    screenshot(page, "privacy_lira")



def test_dp_sweep_stays_under_the_bound(page, app_url):
    """The page's defaults (logistic regression, gap attack) and the advantage-against-ε sweep of its own private
    version (diffprivlib's, a second each: DP-SGD is swept when it is the chosen mitigation)."""
    page.set_viewport_size({"width": 1400, "height": 3400})
    page.goto(f"{app_url}/privacy?data=breast_cancer&scaling=minmax&test_size=0.5")
    page.get_by_role("heading", name="Results").first.wait_for(timeout=300_000)
    page.get_by_role("tab", name="Advantage against ε").wait_for(timeout=120_000)  # the page's last part drawn
    wait_idle(page, 300)
    try:
        page.get_by_role("tab", name="Advantage against ε").click()
        sweep = page.get_by_role("button", name="Sweep ε")
        sweep.wait_for(state="visible", timeout=30_000)
        sweep.click()
        page.get_by_text("Every measured point lies under the bound").wait_for(timeout=180_000)
        wait_idle(page, 300)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("ε (diffprivlib's budget accountant; pure ε-DP, δ = 0)").count() == 2  # both axes
    finally:
        screenshot(page, "privacy_dp_sweep")
