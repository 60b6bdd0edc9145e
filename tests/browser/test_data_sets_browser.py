"""The Data Sets page in Chromium: a link's data set, a real file upload, the loader's error for a bad file."""

import re

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris

from .conftest import screenshot, wait_idle


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _metric_box(page, label: str):
    return page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True))


def _metric(page, label: str) -> str:
    return _metric_box(page, label).locator('[data-testid="stMetricValue"]').inner_text()


def csv_uploader(page):
    """The CSV file's input (the page's other uploader, under Your own model, takes model files)."""
    box = page.locator('[data-testid="stFileUploader"]', has=page.get_by_text("CSV file", exact=True))
    return box.locator('input[type="file"]')


def _open(page, url: str) -> None:
    page.goto(url)
    wait_idle(page)
    page.get_by_role("heading", name="Data Sets").wait_for()


def test_link_opens_the_data_set_and_shows_its_charts(page, app_url):
    _open(page, f"{app_url}/data-sets?data=breast_cancer&scaling=standard")
    _metric_box(page, "Rows").wait_for()
    page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for()
    wait_idle(page)
    assert _metric(page, "Rows") == "569" and _metric(page, "Features") == "30"
    assert page.get_by_text("standard deviations of each feature").is_visible()
    _no_exception(page)
    screenshot(page, "data_sets_tabular")

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("link", name=re.compile("Data Sets")).wait_for()
    page.set_viewport_size({"width": 1400, "height": 2900})  # room for the image grid and the summary
    _open(page, f"{app_url}/data-sets?data=digits")
    page.locator('[data-testid="stPlotlyChart"]').nth(2).wait_for()
    wait_idle(page)
    assert _metric(page, "Rows") == "1,797" and _metric(page, "Classes") == "10"
    _no_exception(page)
    screenshot(page, "data_sets_digits")


def test_upload_a_good_csv_then_a_bad_one(page, app_url, tmp_path):
    bunch = load_iris()
    good = pd.DataFrame(bunch.data, columns=["sepal length", "sepal width", "petal length", "petal width"])
    good["species"] = np.asarray(bunch.target_names)[bunch.target]
    good_path, bad_path = tmp_path / "iris.csv", tmp_path / "one_class.csv"
    good.to_csv(good_path, index=False)
    bad_path.write_text("a,b,label\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n")

    _open(page, f"{app_url}/data-sets")
    page.locator('[data-testid="stRadio"]').get_by_text("Upload a CSV file").click()
    page.get_by_text("Upload a CSV file of at most 20 MB").wait_for()
    wait_idle(page)
    csv_uploader(page).set_input_files(str(good_path))
    _metric_box(page, "Rows").wait_for()
    wait_idle(page)
    assert _metric(page, "Rows") == "150" and _metric(page, "Classes") == "3"
    assert page.get_by_text("iris.csv (target 'species')").first.is_visible()

    csv_uploader(page).set_input_files(str(bad_path))
    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for()
    wait_idle(page)
    assert "has only one class" in error.inner_text()
    assert page.get_by_text("The lab pages keep using").is_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    _no_exception(page)
    screenshot(page, "data_sets_upload_error")

    # The good upload is still the lab's data: the Attack Lab attacks it, with the library's own numbers.
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=re.compile("Attack Lab")).click()
    page.get_by_role("heading", name="Attack Lab").wait_for()
    _metric_box(page, "Adversarial accuracy").wait_for(timeout=120_000)
    wait_idle(page)
    assert page.get_by_text(re.compile("iris.csv")).first.is_visible()
    expected = _expected_attack_lab_numbers(good_path.read_bytes())
    assert _metric(page, "Clean accuracy") == f"{expected.clean_accuracy:.3f}"
    assert _metric(page, "Adversarial accuracy") == f"{expected.adversarial_accuracy:.3f}"
    _no_exception(page)
    screenshot(page, "attack_lab_uploaded_csv")


def _expected_attack_lab_numbers(csv_bytes: bytes):
    """The Attack Lab's defaults (logistic regression, FGM L∞, eps 0.1, seed 42, 20 % test) computed directly."""
    from qulab.core.experiment import Scenario
    from qulab.data.datasets import dataset_from_table
    from qulab.data.upload import load_csv
    from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack

    data = dataset_from_table(load_csv(csv_bytes, "species"))
    scenario = Scenario(dataset="upload", eps=0.1)
    split = prepare_split(scenario, data)
    return run_attack(scenario, split, fit_model(scenario, split))
