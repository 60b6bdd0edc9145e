"""A kept widget that a run stops above (st.stop) comes back at its kept value in the browser, not at its minimum.

st.stop() ends a run early, so Streamlit keeps the undrawn widget's value on the server while the browser forgets
the widget; the next run must tell the browser the value again, or the slider is drawn at its minimum while the
page computes with the kept value (and the next interaction sends the minimum back)."""

from __future__ import annotations

import pytest

from .conftest import ROOT, screenshot, streamlit_server, wait_idle


@pytest.fixture(scope="module")
def kept_url(chromium_path):
    with streamlit_server(ROOT / "tests" / "browser" / "kept_widget_app.py") as url:
        yield url


def _shown(page) -> tuple[str, str]:
    """The slider's value as the browser draws it, and the value the script computed with."""
    wait_idle(page)
    drawn = page.locator('[data-testid="stSlider"]').get_by_role("slider").get_attribute("aria-valuetext") or ""
    return drawn, page.get_by_text("Level is").inner_text()


def test_a_kept_slider_comes_back_at_its_value_after_the_page_stopped_above_it(page, kept_url):
    page.goto(kept_url)
    page.get_by_text("Level is 5").wait_for()
    assert _shown(page) == ("5", "Level is 5")
    slider = page.locator('[data-testid="stSlider"]').get_by_role("slider")
    slider.focus()
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    page.get_by_text("Level is 7").wait_for()
    stop = page.get_by_text("Stop early")
    for _ in range(2):  # twice: the first return must not have sent the minimum back
        stop.click()
        # The run stopped above the slider: it leaves the page (waited for, as the click's rerun may not have
        # started when the app still reads idle).
        page.locator('[data-testid="stSlider"]').wait_for(state="detached", timeout=30_000)
        wait_idle(page)
        stop.click()
        page.get_by_text("Level is").wait_for()
        assert _shown(page) == ("7", "Level is 7")
    screenshot(page, "kept_widget_after_stop")
