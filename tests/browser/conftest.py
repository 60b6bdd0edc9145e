"""Start the real app on a free local port and drive it with the system Chromium.

Where no Chromium is installed the browser tests are skipped with a one-line reason, except under CI
(CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("QULAB_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in item.nodeid:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (install the 'chromium' package)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return str(CHROMIUM)


@contextlib.contextmanager
def streamlit_server(script: Path) -> Iterator[str]:
    """A Streamlit server for ``script`` on a free local port, from the repository root; its URL once healthy."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        server.kill()
        pytest.fail(f"the app did not start: {server.stderr.read().decode()[-2000:]}")
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a long attack still running in the server under load
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def app_url(chromium_path):
    with streamlit_server(ROOT / "streamlit_app.py") as url:
        yield url


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def wait_idle(page, seconds: float = 60) -> None:
    """Wait until Streamlit has finished the current run (no running indicator, app rendered)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=seconds * 1000)


def metric(page, label: str) -> str:
    """The value shown in the metric labelled exactly ``label``."""
    box = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True)).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def choose(page, label: str, option: str, seconds: float = 300) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` and wait for the run it causes to finish (the results
    of the previous choice stay on screen until then; every choice the pages offer goes into the address)."""
    box = page.locator('[data-testid="stSelectbox"]', has=page.get_by_text(label, exact=True)).first
    if box.get_by_role("combobox").input_value() == option:
        wait_idle(page, seconds)  # already chosen: no run to wait for
        return

    def pick() -> None:
        box.click()
        page.get_by_role("option", name=option, exact=True).click()

    changes_address(page, pick, seconds)


def changes_address(page, action, seconds: float = 300) -> None:
    """Do ``action`` (a click that changes a choice) and wait for the run it causes to finish: the address
    changing is the sign that the run has begun (right after the click the app can still read idle)."""
    before = page.url
    action()
    page.wait_for_function("before => window.location.href !== before", arg=before, timeout=seconds * 1000)
    wait_idle(page, seconds)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
