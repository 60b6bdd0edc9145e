"""Issue 16 in Chromium: every page in every state the issue names (waiting for its Run / Compute / Evaluate
button, an unavailable attack and model, mid-computation, finished) keeps the whole navigation in the sidebar; the
Attack Lab's progress bar moves while a long run works; after a run the estimate and the button are gone and the
estimate stands beside the measured time. The pages' list comes from the router, so pages added later are checked
too. Screenshots: test-artifacts/issue16_*.png."""

from __future__ import annotations

import re
import time
from unittest import mock

from qulab.app import router

from .conftest import choose, screenshot, wait_idle
from .test_lab_browser import _no_exception, _run_until

BREAST = "data=breast_cancer&scaling=minmax"
# A run that asks for its button on any machine: HopSkipJump on an RBF SVM with 80 boundary walks a point instead
# of 20 (the default took 0.11 s a point on an idle host, 6.4 s for 60 points: under the 8 s the page starts on its
# own, so the test failed there), about 4 times that on 40 points.
SLOW_RUN = f"{BREAST}&model=rbf_svm&attack=hop_skip_jump&norm=2&eps=0.5&points=40&attack.max_iter=80"
# The Robustness page runs attacks with their defaults: a curve of HopSkipJump on 200 of 285 test points.
SLOW_CURVE = f"{BREAST}&test_size=0.5&model=rbf_svm&norm=2&attacks=hop_skip_jump&steps=3&points=200"


def page_titles() -> list[str]:
    """Every page's title as the router builds its navigation (st.Page recorded by its title)."""
    with mock.patch.object(router.st, "Page", lambda page, *, title=None, **_: title):
        return [title for pages in router.sections().values() for title in pages]


def page_paths() -> list[str]:
    """Every page's address path as the router declares it ('' for the default page, else its url_path or, as
    Streamlit derives it, its file name)."""
    def path(page, *, default=False, url_path=None, **_):
        return "" if default else url_path or page.stem

    with mock.patch.object(router.st, "Page", path):
        return [p for pages in router.sections().values() for p in pages]


def assert_whole_sidebar(page) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    for title in page_titles():
        link = sidebar.get_by_role("link", name=re.compile(rf"^\W*{re.escape(title)}$"))
        link.wait_for(timeout=30_000)
        assert link.is_visible(), title


def running(page) -> bool:
    return page.locator('[data-testid="stApp"][data-test-script-state="running"]').count() == 1


def progress_values(page) -> list[str]:
    """The progress bars' values, read at once: a bar found, then read, can leave the page in between (the run
    ended), and reading it then waited for it until the timeout (CI, 2026-12-03)."""
    return page.eval_on_selector_all('[data-testid="stProgress"] [role="progressbar"]',
                                     "bars => bars.map(bar => bar.getAttribute('aria-valuenow') || '')")


def test_titles_and_paths_come_from_the_router():
    assert page_titles()[:6] == ["Data Overview", "Attack Demo", "Data Sets", "Attack Lab", "Robustness", "Defences"]
    assert page_paths()[:6] == ["", "attack_demo", "data-sets", "attack-lab", "robustness", "defences"]


def test_every_page_of_the_router_opens_with_the_whole_sidebar(page, app_url):
    """Pages added later (another section, another threat class) are opened too, in their first state."""
    page.set_viewport_size({"width": 1400, "height": 2200})
    page.set_default_timeout(180_000)
    for path in page_paths():
        page.goto(f"{app_url}/{path}")
        page.locator('[data-testid="stMain"] h1').first.wait_for()
        wait_idle(page)
        assert_whole_sidebar(page)
        _no_exception(page)
        screenshot(page, f"issue16_page_{path or 'default'}")


def test_every_page_in_every_state_keeps_the_whole_sidebar(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 2200})
    page.set_default_timeout(180_000)
    # The Attack Lab: finished (FGM), then an unavailable pair chosen on purpose (a model change alone switches
    # to an attack the model runs), its address naming the pair.
    page.goto(f"{app_url}/attack-lab?{BREAST}&points=20")
    page.get_by_text(re.compile(r"Fast Gradient Method on 20 test points took [\d.]+ s")).wait_for()
    wait_idle(page)
    assert_whole_sidebar(page)
    choose(page, "Model", "Decision tree")
    page.get_by_text(re.compile("does not run on the decision tree; switched to")).wait_for()
    wait_idle(page)
    choose(page, "Attack", "Fast Gradient Method (unavailable)")
    page.get_by_text("Fast Gradient Method is unavailable here.").wait_for()
    wait_idle(page)
    assert "model=decision_tree" in page.url and "attack=" not in page.url  # FGM, the default, goes unnamed
    assert_whole_sidebar(page)
    screenshot(page, "issue16_attack_lab_unavailable")

    # Waiting for its button, then mid-run (the bar moves with the points attacked), then finished.
    page.goto(f"{app_url}/attack-lab?{SLOW_RUN}")
    button = page.get_by_role("button", name="Run HopSkipJump on 40 points")
    button.wait_for()
    wait_idle(page)
    assert page.get_by_text(re.compile("should take about")).is_visible()
    assert_whole_sidebar(page)
    screenshot(page, "issue16_attack_lab_waiting")
    button.click()
    done = page.get_by_text(re.compile(r"HopSkipJump on 40 test points took [\d.]+ s \(estimated [\d.]+ s\)"))
    page.locator('[data-testid="stProgress"]').first.wait_for()
    assert running(page)
    assert_whole_sidebar(page)
    screenshot(page, "issue16_attack_lab_running")
    seen: set[str] = set()
    while not done.count():
        seen.update(value for value in progress_values(page) if value not in ("", "0", "100"))
        page.wait_for_timeout(200)
    assert len(seen) >= 2, seen  # it moved between the start and the end, not a spinner
    wait_idle(page)
    assert_whole_sidebar(page)
    assert page.get_by_role("button", name=re.compile("^Run HopSkipJump")).count() == 0  # no stale button
    assert page.get_by_text(re.compile("should take about")).count() == 0  # nor the stale estimate
    _no_exception(page)
    screenshot(page, "issue16_attack_lab_finished")

    # Robustness: a curve long enough to ask for its button; mid-run the navigation is there and works (leaving
    # stops the computation).
    page.goto(f"{app_url}/robustness?{SLOW_CURVE}")
    compute = page.get_by_role("button", name="Compute the curves")
    compute.wait_for()
    wait_idle(page)
    assert_whole_sidebar(page)
    screenshot(page, "issue16_robustness_waiting")
    compute.click()
    page.locator('[data-testid="stProgress"]').first.wait_for()
    assert running(page)
    assert_whole_sidebar(page)
    screenshot(page, "issue16_robustness_running")
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=re.compile("Data Sets")).click()
    page.get_by_role("heading", name="Data Sets").first.wait_for()
    wait_idle(page)
    page.goto(f"{app_url}/robustness?{BREAST}")  # finished: the default quick attacks on logistic regression
    _run_until(page, "Compute the curves", page.locator('[data-testid="stDataFrame"]'))
    wait_idle(page)
    assert_whole_sidebar(page)
    _no_exception(page)
    screenshot(page, "issue16_robustness_finished")

    # Defences: a model the data cannot take, no defence ticked, waiting, running, finished.
    page.goto(f"{app_url}/defences?{BREAST}&model=torch_cnn")
    page.get_by_text(re.compile("needs image data")).wait_for()
    wait_idle(page)
    assert_whole_sidebar(page)
    screenshot(page, "issue16_defences_unavailable")
    page.goto(f"{app_url}/defences?{BREAST}&defences=")
    page.get_by_text("Tick at least one defence above.").wait_for()
    wait_idle(page)
    assert_whole_sidebar(page)
    page.goto(f"{app_url}/defences?{BREAST}&model=torch_mlp&defences=adversarial_training")
    evaluate = page.get_by_role("button", name="Evaluate")
    evaluate.wait_for()
    wait_idle(page)
    assert page.get_by_text(re.compile(r"This evaluation takes about \d+ s")).is_visible()
    assert_whole_sidebar(page)
    screenshot(page, "issue16_defences_waiting")
    evaluate.click()
    page.locator('[data-testid="stProgress"]').first.wait_for()
    assert running(page)
    assert_whole_sidebar(page)
    screenshot(page, "issue16_defences_running")
    page.get_by_text(re.compile(r"Evaluation finished: about \d+ s · took [\d.]+ s")).wait_for()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    wait_idle(page)
    assert_whole_sidebar(page)
    assert page.get_by_role("button", name="Evaluate").count() == 0
    assert page.get_by_text(re.compile("This evaluation takes about")).count() == 0
    _no_exception(page)
    screenshot(page, "issue16_defences_finished")


def _frame(page) -> list[list[str]]:
    """The gap table's rows without the time column (Streamlit draws the table on a canvas; its accessible grid
    cells hold the text)."""
    frame = page.locator('[data-testid="stDataFrame"]').first
    headers = [h.strip() for h in frame.locator('[role="columnheader"]').all_text_contents()]
    cells = [c.strip() for c in frame.locator('[role="gridcell"]').all_text_contents()]
    width = len(headers)
    rows = [cells[i:i + width] for i in range(0, len(cells), width)]
    kept = [k for k, header in enumerate(headers) if header != "Seconds"]
    assert width == 4 and len(kept) == 3, headers
    return [[row[k] for k in kept] for row in rows]


def _tick(page, label: str, on: bool) -> None:
    """Set a checkbox as a user would, clicking again if a click landed while the page was still rerunning."""
    box = page.locator('[data-testid="stCheckbox"]', has=page.get_by_text(label)).locator("input")
    for _ in range(3):
        if box.is_checked() == on:
            break
        page.get_by_text(label).click()
        page.wait_for_timeout(1000)
        wait_idle(page)
    assert box.is_checked() == on, label


def _slider_value(page, label: str) -> str:
    return page.locator(f'input[aria-label="{label}"]').first.get_attribute("aria-valuetext") or ""


def _library_gaps(attacks: tuple[str, ...], steps: int) -> list[list[str]]:
    """The gap table the Robustness page should show for breast cancer (min-max), logistic regression, L2, the
    widest L2 budget and all 114 test points, from the library, as the table writes it (no time column)."""
    from qulab.core.experiment import Scenario
    from qulab.evaluation.curves import attack_curve, eps_grid, exact_curve, gap_table
    from qulab.evaluation.lab import eps_range
    from qulab.evaluation.pipeline import fit_model, prepare_split

    base = Scenario(dataset="breast_cancer", scaling="minmax", norm="2")
    split = prepare_split(base)
    model = fit_model(base, split)
    eps_max = eps_range("2", split.X_test.shape[1]).high
    grid = eps_grid(eps_max, steps)
    curves = [attack_curve(Scenario(dataset="breast_cancer", scaling="minmax", norm="2", attack=a, eps=eps_max),
                           split, model, grid) for a in attacks]
    return [[str(row["Curve"]), str(row["How it was computed"]), f"{row['Largest gap to exact']:.3f}".rstrip("0")
             .rstrip(".")] for row in gap_table(curves, exact_curve(split, model, grid, "2"))]


def _frame_shows(page, expected: list[list[str]], seconds: float = 30) -> None:
    """Wait until the gap table reads ``expected``: the table's cells can still hold the previous grid's numbers
    for a moment after the run that replaced them ended (DeepFool's 11-step gap, 0.518, was read once under the
    5-step caption, whose gap is 0.482)."""
    deadline = time.monotonic() + seconds
    while _frame(page) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert _frame(page) == expected


def _robustness_choices(page) -> dict[str, str]:
    chosen = [tag.get_attribute("aria-label") or "" for tag in
              page.locator('[data-testid="stMultiSelect"] [data-tag]').all()]
    return {"norm": page.locator('[data-testid="stRadio"] label:has(input:checked)').first.inner_text().strip(),
            "eps max": _slider_value(page, "Largest epsilon (L2)"), "steps": _slider_value(page, "Grid steps"),
            "attacks": ", ".join(sorted(chosen)),
            "points": page.get_by_label("Test points to attack", exact=True).input_value()}


def test_robustness_and_defences_choices_stick_and_a_copied_address_reproduces_them(page, browser, app_url):
    """Leave each page and come back: every choice as it was; open its address in a fresh browser context: the
    same choices and the same numbers."""
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.set_default_timeout(180_000)
    page.goto(f"{app_url}/robustness?{BREAST}")
    _run_until(page, "Compute the curves", page.locator('[data-testid="stDataFrame"]'))  # a loaded host asks
    wait_idle(page)
    page.locator('[data-testid="stRadio"]').get_by_text("L2", exact=True).click()
    page.wait_for_url(re.compile(r"norm=2"))  # the run the click caused has started (the app may still read idle)
    wait_idle(page)
    steps = page.locator('[data-testid="stSlider"]', has=page.get_by_text("Grid steps", exact=True))
    steps.get_by_role("slider").focus()
    for _ in range(6):  # 11 -> 5 steps
        page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(r"steps=5"))  # else the 11-step table, still on screen, would be read below
    wait_idle(page)
    _run_until(page, "Compute the curves", page.get_by_text(re.compile(r", 5 epsilons from 0 to")))
    wait_idle(page)
    numbers = _library_gaps(("fgm", "pgd", "deepfool"), 5)
    _frame_shows(page, numbers)
    chosen = _robustness_choices(page)
    assert chosen["norm"] == "L2" and chosen["steps"] == "5" and "DeepFool" in chosen["attacks"]
    address = page.url
    for part in ("data=breast_cancer", "norm=2", "steps=5", "eps_max=", "attacks="):
        assert part in address, (part, address)
    screenshot(page, "issue16_robustness_chosen")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("link", name=re.compile("Data Overview")).click()
    page.get_by_role("heading", name="Data Overview").wait_for()
    wait_idle(page)
    sidebar.get_by_role("link", name=re.compile("Robustness")).click()
    page.get_by_role("heading", name="Robustness").wait_for()
    page.locator('[data-testid="stDataFrame"]').get_by_text("DeepFool").wait_for(state="attached")
    wait_idle(page)
    assert _robustness_choices(page) == chosen
    _frame_shows(page, numbers)

    fresh = browser.new_context(viewport={"width": 1400, "height": 2400})
    try:
        other = fresh.new_page()
        other.set_default_timeout(180_000)
        other.goto(address)
        other.locator('[data-testid="stDataFrame"]').get_by_text("DeepFool").wait_for(state="attached")
        wait_idle(other)
        assert _robustness_choices(other) == chosen
        _frame_shows(other, numbers)
        screenshot(other, "issue16_robustness_from_copied_address")
    finally:
        fresh.close()

    # Defences: Gaussian noise instead of adversarial training, DeepFool in L2, a larger sigma. A seed of its own:
    # the server is shared by the browser tests, and another test's evaluation of the defaults would be kept, so
    # the page would show it instead of the Evaluate button.
    page.goto(f"{app_url}/defences?{BREAST}&seed=16")
    page.get_by_role("button", name="Evaluate").wait_for()
    wait_idle(page)
    choose(page, "Attack", "DeepFool")
    wait_idle(page)
    _tick(page, "Adversarial training (Madry) · training", False)
    _tick(page, "Gaussian noise at test time · preprocessing", True)
    assert "defences=gaussian_noise" in page.url and "gaussian_noise.sigma=0.1" in page.url  # before evaluating
    page.get_by_role("button", name="Evaluate").click()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    wait_idle(page)
    metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
    numbers = [re.sub(r"\s+", " ", m) for m in metrics if "Training time" not in m]  # times vary, accuracies not
    address = page.url
    screenshot(page, "issue16_defences_chosen")
    sidebar.get_by_role("link", name=re.compile("Attack Demo")).click()
    page.get_by_role("heading", name="Attack Demo").wait_for()
    wait_idle(page)
    sidebar.get_by_role("link", name=re.compile("Defences")).click()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stCheckbox"]', has=page.get_by_text(
        "Gaussian noise at test time · preprocessing")).locator("input").is_checked()
    assert [re.sub(r"\s+", " ", m) for m in page.locator('[data-testid="stMetric"]').all_inner_texts()
            if "Training time" not in m] == numbers

    fresh = browser.new_context(viewport={"width": 1400, "height": 2400})
    try:
        other = fresh.new_page()
        other.set_default_timeout(180_000)
        other.goto(address)
        other.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        wait_idle(other)
        assert [re.sub(r"\s+", " ", m) for m in other.locator('[data-testid="stMetric"]').all_inner_texts()
                if "Training time" not in m] == numbers
        screenshot(other, "issue16_defences_from_copied_address")
    finally:
        fresh.close()
