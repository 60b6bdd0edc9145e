"""The run store end to end in Chromium: a run made on the Attack Lab is on the Runs page after the server
restarts, and the HTML report downloaded there opens with the network blocked and draws its figures."""

from __future__ import annotations

import re

from .conftest import ARTIFACTS, ROOT, screenshot, streamlit_server, wait_idle


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True))
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def _open_offline(browser, path) -> tuple:
    """The file in a fresh context where every request but the file itself is aborted; the aborted ones listed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    refused: list[str] = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.goto(path.as_uri())
    return context, page, refused


def test_an_attack_lab_run_outlives_the_server_and_its_report_opens_offline(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("QULAB_STORE", str(tmp_path / "runs.sqlite3"))  # the servers' store, and only theirs
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(120_000)  # shared cores: the first attack can be slow to start
    with streamlit_server(ROOT / "streamlit_app.py") as url:
        page.goto(f"{url}/attack-lab")
        page.get_by_role("heading", name="Attack Lab").wait_for()
        page.locator('[data-testid="stMetric"]').first.wait_for()
        wait_idle(page)
        clean, adversarial = _metric(page, "Clean accuracy"), _metric(page, "Adversarial accuracy")
        assert page.locator('[data-testid="stAlert"]', has_text="not saved").count() == 0

    with streamlit_server(ROOT / "streamlit_app.py") as url:  # a new server process, the same store file
        page.goto(f"{url}/runs")
        page.get_by_role("heading", name="Runs", exact=True).wait_for()
        wait_idle(page)
        page.get_by_text(re.compile(r"^1 of 1 runs in ")).wait_for()
        chooser = page.locator('[data-testid="stMultiSelect"]', has=page.get_by_text("Runs", exact=True))
        chooser.click()
        option = page.get_by_role("option", name=re.compile(r"synthetic · logistic_regression.*fgm eps=0\.1"))
        option.click()
        page.keyboard.press("Escape")
        report_button = page.get_by_role("button", name="Report on 1 run (HTML)")
        report_button.wait_for()
        wait_idle(page)
        page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "runs_page")
        with page.expect_download() as download:
            report_button.click()
        ARTIFACTS.mkdir(exist_ok=True)
        report = ARTIFACTS / "runs_report.html"
        download.value.save_as(report)
    context.close()

    offline, page, refused = _open_offline(browser, report)
    page.get_by_role("heading", name="QuLab report").wait_for()
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2")  # drawn
    assert page.locator(".js-plotly-plot").count() == 2
    assert page.locator(".js-plotly-plot .scatterlayer .point").count() >= 2  # the run's two markers
    numbers = page.locator('[data-table^="results-"]')
    shown = {row.locator("td").nth(0).inner_text(): row.locator("td").nth(1).get_attribute("title")
             for row in numbers.locator("tbody tr").all()}
    assert f"{float(shown['clean_accuracy']):.3f}" == clean  # the Attack Lab's numbers, in full in the title
    assert f"{float(shown['adversarial_accuracy']):.3f}" == adversarial
    assert page.locator("pre.command").inner_text().startswith("qulab evaluate --data synthetic")
    assert refused == []  # nothing asked for the network
    screenshot(page, "runs_report_offline")
    offline.close()


def test_runs_of_every_kind_are_compared_with_their_own_numbers(browser, tmp_path, monkeypatch):
    import contextlib
    import io

    from qulab.cli import main

    store = tmp_path / "runs.sqlite3"
    monkeypatch.setenv("QULAB_STORE", str(store))
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["evaluate", "--data", "moons", "--attack", "fgm", "--eps", "0.2"]) == 0
        assert main(["poison", "--data", "moons", "--model", "logistic_regression", "--attack", "label_flip",
                     "--rate", "0.3"]) == 0
        assert main(["privacy", "--data", "breast_cancer", "--model", "decision_tree",
                     "--attack", "membership_gap"]) == 0
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    page = context.new_page()
    page.set_default_timeout(120_000)
    with streamlit_server(ROOT / "streamlit_app.py") as url:
        page.goto(f"{url}/runs")
        page.get_by_role("heading", name="Runs", exact=True).wait_for()
        wait_idle(page)
        page.get_by_text(re.compile(r"^3 of 3 runs in ")).wait_for()
        chooser = page.locator('[data-testid="stMultiSelect"]', has=page.get_by_text("Runs", exact=True))
        for name in (r"moons · logistic_regression.*fgm", r"moons · logistic_regression.*label_flip",
                     r"breast_cancer · decision_tree.*membership_gap"):
            chooser.locator("input").click()  # the box's text field: the middle of the box may be a chosen chip
            page.get_by_role("option", name=re.compile(name)).click()
            page.keyboard.press("Escape")
            wait_idle(page)
        page.get_by_role("button", name="Report on 3 runs (HTML)").wait_for()
        page.locator('[data-testid="stPlotlyChart"]').nth(2).wait_for()
        wait_idle(page)
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 3
        assert page.get_by_text("What each privacy attack achieved, run by run").count() == 1
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "runs_page_every_kind")
    context.close()



def test_the_comparison_toggle_shows_its_value_after_the_page_stopped_above_it(browser, tmp_path, monkeypatch):
    """Turn "Only the rows where the runs differ" off, delete the runs from a terminal (the page stops at "No
    runs"), compute them again (content-addressed: the same ids, so still chosen) and rerun: the toggle is drawn
    off, as the page computes with it (every row), not on beside a table of every row."""
    import os
    import subprocess
    import sys

    monkeypatch.setenv("QULAB_STORE", str(tmp_path / "runs.sqlite3"))

    def terminal(*commands: list[str]) -> None:  # in a process of its own, as from a terminal beside the app
        for command in commands:
            done = subprocess.run([sys.executable, "-m", "qulab.cli", *command], capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
            assert done.returncode == 0, (command, done.stderr[-2000:])

    evaluations = [["evaluate", "--data", "moons", "--attack", "fgm", "--eps", eps] for eps in ("0.1", "0.2")]
    terminal(*evaluations)
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(120_000)
    toggle = page.locator('[data-testid="stCheckbox"]', has=page.get_by_text("Only the rows where the runs differ"))

    def rows() -> int:  # the comparison table's rows, its header included
        wait_idle(page)
        table = page.locator('[data-testid="stDataFrame"]').nth(1).locator('[role="row"]')
        table.first.wait_for(state="attached")  # the accessible copy of the canvas table: hidden
        return table.count()

    def rerun() -> None:  # as a user reruns a page whose data changed: the app menu's Rerun
        page.get_by_test_id("stMainMenu").click()
        page.get_by_test_id("stMainMenuList").get_by_text("Rerun", exact=True).click()
        page.wait_for_timeout(1000)
        wait_idle(page)

    with streamlit_server(ROOT / "streamlit_app.py") as url:
        page.goto(f"{url}/runs")
        page.get_by_text(re.compile(r"^2 of 2 runs in ")).wait_for()
        chooser = page.locator('[data-testid="stMultiSelect"]', has=page.get_by_text("Runs", exact=True))
        for eps in ("0.1", "0.2"):
            chooser.locator("input").click()
            page.get_by_role("option", name=re.compile(rf"fgm eps={eps}\b")).click()
            page.keyboard.press("Escape")
            wait_idle(page)
        toggle.wait_for()
        differing = rows()
        toggle.get_by_text("Only the rows where the runs differ").click()
        page.wait_for_timeout(1000)
        every = rows()
        assert not toggle.locator("input").is_checked() and every > differing
        ids = [tag.get_attribute("aria-label").split("[")[1][:6] for tag in chooser.locator("[data-tag]").all()]
        terminal(["runs", "delete", *ids])
        rerun()
        page.get_by_text("No runs in").wait_for()
        terminal(*evaluations)
        rerun()
        toggle.wait_for()
        assert rows() == every  # the page still computes with the toggle off ...
        assert not toggle.locator("input").is_checked()  # ... and the browser draws it off
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "runs_toggle_after_stop")
    context.close()
