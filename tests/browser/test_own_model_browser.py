"""Your own model on the Attack Lab in Chromium: a real .skops upload attacked with the closed form's numbers,
then a pickle renamed .skops refused in one sentence."""

import pickle

import numpy as np

from .conftest import screenshot, wait_idle


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True))
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_upload_a_skops_model_then_a_pickle_renamed_skops(page, app_url, tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from qulab.core.experiment import Scenario
    from qulab.evaluation.pipeline import prepare_split

    split = prepare_split(Scenario())  # the Attack Lab's default data: synthetic, seed 42
    model = LogisticRegression(C=0.5).fit(split.X_train, split.y_train)
    good, bad = tmp_path / "my_model.skops", tmp_path / "renamed_pickle.skops"
    sio.dump(model, good)
    bad.write_bytes(pickle.dumps(model))

    page.goto(f"{app_url}/attack-lab")
    wait_idle(page)
    page.get_by_role("heading", name="Attack Lab").wait_for()
    page.locator('[data-testid="stRadio"]').get_by_text("Your own model file").click()
    page.get_by_text("No model file uploaded yet").wait_for()
    assert page.get_by_text("A model file may be at most 50 MB").is_visible()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(good))
    page.get_by_text("Threat model: white box.").wait_for(timeout=120_000)
    page.locator('[data-testid="stMetric"]', has=page.get_by_text("Adversarial accuracy", exact=True)).wait_for(
        timeout=120_000)
    wait_idle(page)
    w, b = model.coef_[0], model.intercept_[0]
    margin = (2 * split.y_test - 1) * (split.X_test @ w + b)
    assert _metric(page, "Clean accuracy") == f"{np.mean(margin > 0):.3f}"
    assert _metric(page, "Adversarial accuracy") == f"{np.mean(margin > 0.1 * np.abs(w).sum()):.3f}"
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "attack_lab_own_model")

    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for()
    wait_idle(page)
    assert "renamed_pickle.skops is not a skops file" in error.inner_text()
    assert "Python pickle, which QuLab never loads" in error.inner_text()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "attack_lab_own_model_refused")
