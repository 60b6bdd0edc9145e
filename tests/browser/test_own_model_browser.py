"""Your own model on the Attack Lab in Chromium: a real .skops upload attacked with the closed form's numbers,
then a pickle renamed .skops refused in one sentence."""

import pickle

import numpy as np

from .conftest import metric, screenshot, wait_idle


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
    assert metric(page, "Clean accuracy") == f"{np.mean(margin > 0):.3f}"
    assert metric(page, "Adversarial accuracy") == f"{np.mean(margin > 0.1 * np.abs(w).sum()):.3f}"
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


def test_a_model_uploaded_on_data_sets_is_the_privacy_pages_model(page, app_url, tmp_path):
    """Uploaded once on the Data Sets page (checked against the data there), the file is the Privacy page's model:
    the gap attack's advantage is the tree's own training minus test accuracy. Switched back to a registry model,
    the page stays there when the user comes back (the file is new only once)."""
    import re

    import skops.io as sio
    from sklearn.tree import DecisionTreeClassifier

    from qulab.core.experiment import Scenario
    from qulab.evaluation.pipeline import prepare_split

    split = prepare_split(Scenario())  # the lab's default data: synthetic, seed 42
    tree = DecisionTreeClassifier(random_state=0).fit(split.X_train, split.y_train)
    path = tmp_path / "my_tree.skops"
    sio.dump(tree, path)
    train = np.mean(tree.predict(split.X_train) == split.y_train)
    test = np.mean(tree.predict(split.X_test) == split.y_test)

    page.goto(f"{app_url}/data-sets")
    wait_idle(page)
    page.get_by_role("heading", name="Your own model").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    page.get_by_text("my_tree.skops fits").wait_for(timeout=120_000)
    wait_idle(page)
    assert page.get_by_text("Threat model: white box.").is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.get_by_text("my_tree.skops fits").scroll_into_view_if_needed()  # the section ends the page
    screenshot(page, "data_sets_own_model")

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("link", name=re.compile("Privacy")).click()
    page.get_by_role("heading", name="Privacy").wait_for()
    page.locator('[data-testid="stMetric"]', has=page.get_by_text("Membership advantage", exact=True)).wait_for(
        timeout=120_000)
    wait_idle(page)
    assert page.get_by_role("radio", name="Your own model file").is_checked()
    assert page.get_by_text("Threat model: white box.").is_visible()
    assert metric(page, "Training accuracy") == f"{train:.3f}"
    assert metric(page, "Test accuracy") == f"{test:.3f}"
    assert metric(page, "Membership advantage") == f"{train - test:.3f}"
    page.get_by_text(re.compile(r"Unavailable here \(\d+ of \d+ attacks\)")).click()
    page.get_by_text("trains models the way the target was trained").first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "privacy_own_model")

    page.locator('[data-testid="stRadio"]').get_by_text("A model QuLab trains").click()
    wait_idle(page)
    sidebar.get_by_role("link", name=re.compile("Data Sets")).click()
    page.get_by_role("heading", name="Your own model").wait_for()
    wait_idle(page)
    sidebar.get_by_role("link", name=re.compile("Privacy")).click()
    page.get_by_role("heading", name="Privacy").wait_for()
    wait_idle(page)
    assert page.get_by_role("radio", name="A model QuLab trains").is_checked()
