"""An epsilon change as the user sees it: QuLab's Attack Demo vs the codelab's way, in headless Chromium.

Starts both apps on free local ports, presses keys on the Epsilon slider and times from the key press
until the page shows the new adversarial accuracy and Streamlit is idle again. Alternating moves between
eps values that were already visited (QuLab answers from its cache) and new ones.

    .venv/bin/python bench/bench_browser_epsilon.py [--moves 12]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _free_port  # noqa: E402

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
READ_METRIC = """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
    .find(m => m.innerText.includes('Adversarial accuracy'))
    .querySelector('[data-testid="stMetricValue"]').innerText"""


def start(script: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    return server, f"http://127.0.0.1:{port}"


def open_app(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)
    page.goto(url)
    page.wait_for_selector('[data-testid="stMetric"]')
    page.wait_for_selector(IDLE)
    return page


def time_move(page, key: str) -> tuple[float, float]:
    """Seconds from a key press on the slider until the new accuracy shows, and until the app is idle."""
    before = page.evaluate(READ_METRIC)
    start_time = time.perf_counter()
    page.locator('[data-testid="stSlider"]').get_by_role("slider").press(key)
    page.wait_for_function(f"b => ({READ_METRIC})() !== b", arg=before)
    shown = time.perf_counter() - start_time
    page.wait_for_selector(IDLE)
    return shown, time.perf_counter() - start_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=12)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    servers = {name: start(script) for name, script in {
        "QuLab Attack Demo": ROOT / "streamlit_app.py",
        "codelab way": ROOT / "bench" / "codelab_reference_app.py"}.items()}
    paths = {"QuLab Attack Demo": "/attack_demo", "codelab way": "/"}
    try:
        time.sleep(6)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            pages = {name: open_app(browser, url + paths[name]) for name, (_, url) in servers.items()}
            results = {name: [] for name in pages}
            for i in range(args.moves):  # interleaved, so both see the same machine load
                for name, page in pages.items():
                    results[name].append(time_move(page, "End" if i % 2 == 0 else "Home"))
            browser.close()
    finally:
        for server, _ in servers.values():
            server.terminate()
    medians = {}
    for name, samples in results.items():
        shown, idle = ([s[k] for s in samples] for k in (0, 1))
        medians[name] = statistics.median(shown), statistics.median(idle)
        print(f"{name:18s}: new accuracy shown after median {medians[name][0] * 1000:6.0f} ms "
              f"(max {max(shown) * 1000:6.0f}), app idle after median {medians[name][1] * 1000:6.0f} ms, "
              f"{len(samples)} slider moves")
    (q_shown, q_idle), (c_shown, c_idle) = medians.values()
    print(f"ratio codelab / QuLab (median): accuracy shown {c_shown / q_shown:.2f}x, idle {c_idle / q_idle:.2f}x")


if __name__ == "__main__":
    main()
