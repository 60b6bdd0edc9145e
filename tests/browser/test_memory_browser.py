"""Memory stays bounded: 100 epsilon changes on the Attack Demo in one browser session, the server's resident memory
read after a 10-change warm-up and at the end. A bigger run, QuLab next to the codelab's app: bench/bench_memory.py.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import psutil

from .conftest import screenshot, wait_idle

CHANGES, WARM_UP = 100, 10
# The caches are bounded (max_entries): growth after the warm-up is allocator noise. A leak of more than about
# 1.1 MB per change (a figure or a data set kept per rerun) fails this bound.
MAX_GROWTH_MB = 100


def server_process(app_url: str) -> psutil.Process:
    """The Streamlit server the session fixture started (a child of this process, found by its port)."""
    port = str(urlparse(app_url).port)
    (server,) = [process for process in psutil.Process().children(recursive=True)
                 if "streamlit" in " ".join(process.cmdline()) and port in process.cmdline()]
    return server


def rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def keys() -> list[str]:
    """From the default 0.10: up to 0.50, down to 0.00 and up again: every one of the 51 budgets, some twice."""
    return (["ArrowRight"] * 40 + ["ArrowLeft"] * 50 + ["ArrowRight"] * 10)[:CHANGES]


def change_epsilon(page, key: str, eps: float) -> float:
    """Press a key on the slider (at ``eps``) and wait until the page shows the next budget and Streamlit is idle."""
    eps = round(eps + (0.01 if key == "ArrowRight" else -0.01), 2)
    page.locator('[data-testid="stSlider"]').get_by_role("slider").press(key)
    page.get_by_text(re.compile(rf"\(epsilon = {eps:.2f}, L∞\)")).wait_for()
    wait_idle(page)
    return eps


def test_server_memory_stays_bounded_over_100_epsilon_changes(page, app_url) -> None:
    server = server_process(app_url)
    page.goto(f"{app_url}/attack_demo")
    page.locator('[data-testid="stMetric"]', has_text="Adversarial accuracy").wait_for()
    wait_idle(page)
    eps, seen = 0.1, set()
    for number, key in enumerate(keys(), 1):
        eps = change_epsilon(page, key, eps)
        seen.add(eps)
        if number == WARM_UP:
            warm = rss_mb(server)
    end = rss_mb(server)
    print(f"server RSS after {WARM_UP} changes {warm:.1f} MB, after {CHANGES} changes {end:.1f} MB "
          f"(growth {end - warm:+.1f} MB, bound {MAX_GROWTH_MB} MB; {len(seen)} different budgets)")
    assert len(seen) == 51 and page.locator('[data-testid="stException"]').count() == 0
    assert end - warm < MAX_GROWTH_MB
    screenshot(page, "attack_demo_after_100_changes")
