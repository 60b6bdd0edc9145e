"""Server memory over many epsilon changes in one browser session: QuLab's Attack Demo (`make run`'s server) next to
the codelab's plain app, in the same run.

Starts both servers on free local ports and walks each app's Epsilon slider with the arrow keys across its whole
range (0 to 0.5 by 0.01) and back, again and again, interleaving the two apps so both see the same machine load.
Prints each server's resident memory (RSS, all its processes) every --every changes. Bounded memory: after the
first pass (the caches filled) the RSS stops growing. tests/browser/test_memory_browser.py checks 100 changes.

    .venv/bin/python bench/bench_memory.py [--changes 500] [--every 50]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from pathlib import Path

import psutil
from playwright.sync_api import TimeoutError as PlaywrightTimeout

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_apps import IDLE, codelab_app, launch, load_average, qulab_app, serve  # noqa: E402

STEPS = 50  # slider positions from 0 to 0.5
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'


def server_rss_mb(pgid: int) -> float:
    """Resident memory of every process in the server's process group, in MB."""
    total = 0
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == pgid:
                total += process.memory_info().rss
    return total / 2**20


def key_for(change: int) -> str:
    """From the default 0.10 up to 0.50, then down to 0 and up to 0.50, and so on."""
    position = (10 + change) % (2 * STEPS)  # position before this change, folded: 0..49 up, 50..99 down
    return "ArrowRight" if position < STEPS else "ArrowLeft"


def open_demo(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)
    page.goto(url)
    page.wait_for_selector('[data-testid="stMetric"]')
    page.wait_for_selector(IDLE)
    return page


def change(page, key: str, eps: float, shows_eps: bool) -> float:
    """Press the key and wait for the rerun: until the page shows the new budget where it says it (QuLab), else
    until the slider shows it and the rerun has started and ended (the codelab's app prints no budget)."""
    eps = round(eps + (0.01 if key == "ArrowRight" else -0.01), 2)
    slider = page.locator('[data-testid="stSlider"]')
    slider.get_by_role("slider").press(key)
    if shows_eps:
        page.get_by_text(re.compile(rf"epsilon = {eps:.2f}")).first.wait_for()
    else:
        slider.get_by_text(f"{eps:.2f}").first.wait_for()
        with contextlib.suppress(PlaywrightTimeout):  # a rerun quicker than a frame is already over
            page.wait_for_selector(RUNNING, timeout=2000)
    page.wait_for_selector(IDLE)
    return eps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    apps = [qulab_app(), codelab_app()]
    with contextlib.ExitStack() as stack, sync_playwright() as playwright:
        servers = {app.name: stack.enter_context(serve(app)) for app in apps}
        browser = launch(playwright)
        pages = {app.name: open_demo(browser, servers[app.name].url + app.attack_demo_path) for app in apps}
        eps = dict.fromkeys(pages, 0.1)
        start = {name: server_rss_mb(server.pgid) for name, server in servers.items()}
        print(f"{'changes':>8}  " + "  ".join(f"{name + ' RSS MB':>14}" for name in pages))
        print(f"{0:8d}  " + "  ".join(f"{start[name]:14.1f}" for name in pages), flush=True)
        for number in range(1, args.changes + 1):
            for name, page in pages.items():
                eps[name] = change(page, key_for(number - 1), eps[name], shows_eps=name == "QuLab")
            if number % args.every == 0 or number == args.changes:
                rss = {name: server_rss_mb(server.pgid) for name, server in servers.items()}
                print(f"{number:8d}  " + "  ".join(f"{rss[name]:14.1f}" for name in pages), flush=True)
        browser.close()
    print(f"(load {load_average()})")


if __name__ == "__main__":
    main()
