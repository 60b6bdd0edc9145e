"""An epsilon change as the user sees it: QuLab's Attack Demo vs the codelab's plain app, in headless Chromium.

Starts both apps on free local ports, presses keys on the Epsilon slider and times from the key press until
the page shows the new adversarial accuracy and Streamlit is idle again. Moves alternate between the ends of the
slider (End, Home), interleaved between the two apps so both see the same machine load. Target: QuLab's median
≤ 1.15× the codelab's.

    .venv/bin/python bench/bench_browser_epsilon.py [--moves 12]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_apps import IDLE, READ_ADVERSARIAL, codelab_app, launch, load_average, qulab_app, serve  # noqa: E402


def open_app(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)
    page.goto(url)
    page.wait_for_selector('[data-testid="stMetric"]')
    page.wait_for_selector(IDLE)
    return page


def time_move(page, key: str) -> tuple[float, float]:
    """Seconds from a key press on the slider until the new accuracy shows, and until the app is idle."""
    before = page.evaluate(READ_ADVERSARIAL)
    start_time = time.perf_counter()
    page.locator('[data-testid="stSlider"]').get_by_role("slider").press(key)
    page.wait_for_function(f"b => ({READ_ADVERSARIAL})() !== b", arg=before)
    shown = time.perf_counter() - start_time
    page.wait_for_selector(IDLE)
    return shown, time.perf_counter() - start_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=12)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    apps = [qulab_app(), codelab_app()]
    with contextlib.ExitStack() as stack, sync_playwright() as playwright:
        urls = {app.name: stack.enter_context(serve(app)).url + app.attack_demo_path for app in apps}
        browser = launch(playwright)
        pages = {name: open_app(browser, url) for name, url in urls.items()}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in pages}
        for i in range(args.moves):
            for name, page in pages.items():
                results[name].append(time_move(page, "End" if i % 2 == 0 else "Home"))
        browser.close()
    medians = {}
    for name, samples in results.items():
        shown, idle = ([s[k] for s in samples] for k in (0, 1))
        medians[name] = statistics.median(shown), statistics.median(idle)
        print(f"{name:8s}: new accuracy shown after median {medians[name][0] * 1000:5.0f} ms "
              f"(max {max(shown) * 1000:5.0f}), app idle after median {medians[name][1] * 1000:5.0f} ms, "
              f"{len(samples)} slider moves")
    (q_shown, q_idle), (c_shown, c_idle) = medians["QuLab"], medians["codelab"]
    print(f"ratio QuLab / codelab (median): accuracy shown {q_shown / c_shown:.2f}x (target <= 1.15x), "
          f"idle {q_idle / c_idle:.2f}x   (load {load_average()})")


if __name__ == "__main__":
    main()
