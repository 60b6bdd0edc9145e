"""The sidebar navigation is on screen from the first paint of every page, and while a page is still computing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import streamlit_server, wait_idle

# The real router with one page that blocks until the test creates the release file.
SLOW_APP = """
import time
from pathlib import Path

import streamlit as st

from qulab.app import router

RELEASE = Path({release!r})


def slow_page():
    st.title("Slow page")
    while not RELEASE.exists():
        time.sleep(0.05)
    st.write("Finished computing")


router.sections = lambda: {{"Test": [st.Page(slow_page, title="Slow page", default=True)]}}
router.main()
"""

# Records, from the first DOM change on, when the sidebar's title and the page's heading first appear. (The
# links themselves are Streamlit's lazily loaded PageLink component: on a cold browser cache they can render a
# moment after the heading even though the server sent them first, so the test waits for them instead.)
FIRST_SEEN = """
window.__firstSeen = {};
new MutationObserver(() => {
    const now = performance.now();
    const seen = window.__firstSeen;
    if (seen.sidebar === undefined && document.querySelector('[data-testid="stSidebar"] h1')) seen.sidebar = now;
    if (seen.heading === undefined && document.querySelector('[data-testid="stMain"] h1')) seen.heading = now;
}).observe(document, {childList: true, subtree: true});
"""

# Every page of the router, by the path its link opens.
PAGE_PATHS = ["", "attack_demo", "data-sets", "attack-lab", "robustness", "defences", "privacy"]


@pytest.fixture
def slow_app(tmp_path) -> Iterator[tuple[str, Path]]:
    release = tmp_path / "release"
    script = tmp_path / "slow_app.py"
    script.write_text(SLOW_APP.format(release=str(release)))
    with streamlit_server(script) as url:
        yield url, release


def test_navigation_is_visible_while_the_page_computes(page, slow_app):
    url, release = slow_app
    page.goto(url)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("QuLab", exact=True).wait_for()
    sidebar.get_by_role("link", name="Slow page").wait_for()
    page.get_by_role("heading", name="Slow page").wait_for()
    # The page is still blocked: running, and its result not drawn, yet the navigation is there.
    assert page.locator('[data-testid="stApp"][data-test-script-state="running"]').count() == 1
    assert page.get_by_text("Finished computing").count() == 0
    release.touch()
    page.get_by_text("Finished computing").wait_for()
    wait_idle(page)
    assert sidebar.get_by_role("link", name="Slow page").is_visible()


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_sidebar_is_drawn_no_later_than_the_page_heading(page, app_url, path):
    page.add_init_script(FIRST_SEEN)
    page.goto(f"{app_url}/{path}")
    page.locator('[data-testid="stMain"] h1').first.wait_for()
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text("An interactive lab for adversarial machine learning").count() == 1
    for name in ("Data Overview", "Attack Demo", "Data Sets", "Attack Lab", "Robustness", "Defences", "Privacy"):
        sidebar.get_by_role("link", name=re.compile(name)).wait_for()
    seen = page.evaluate("window.__firstSeen")
    assert seen["sidebar"] <= seen["heading"], seen
