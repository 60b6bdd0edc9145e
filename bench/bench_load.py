"""Many users at once: N browser sessions open Attack Demo together and move its slider, against `make run`'s
server (`qulab app`) and, in turn, the codelab's plain app under the same N.

One headless Chromium, one context (a separate Streamlit session) per user, all started at once on a freshly
started server. A session: open the Attack Demo until its chart, metrics and idle state are on screen, then press
End on the Epsilon slider and wait for the new adversarial accuracy and idle. A session that takes longer than
--timeout at either step, or shows an exception, is an error. Goal: no errors at 10 sessions.

    .venv/bin/python bench/bench_load.py [--sessions 10,20] [--timeout 60]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_apps import (  # noqa: E402
    CHART,
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE,
    READ_ADVERSARIAL,
    App,
    codelab_app,
    load_average,
    percentile,
    qulab_app,
    serve,
)


async def session(browser, url: str, timeout_ms: float) -> dict[str, float | str]:
    """One user's visit; its open and move times in seconds, or the error that ended it."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    result: dict[str, float | str] = {}
    step = "page load"
    try:
        start = time.perf_counter()
        await page.goto(url)
        step = "chart"
        await page.wait_for_selector(CHART)
        await page.wait_for_function(f"() => ({READ_ADVERSARIAL})() !== null")
        step = "idle after open"
        await page.wait_for_selector(IDLE)
        result["open"] = time.perf_counter() - start
        before = await page.evaluate(READ_ADVERSARIAL)
        start = time.perf_counter()
        step = "slider move"
        await page.locator('[data-testid="stSlider"]').get_by_role("slider").press("End")
        await page.wait_for_function(f"b => ({READ_ADVERSARIAL})() !== b", arg=before)
        await page.wait_for_selector(IDLE)
        result["move"] = time.perf_counter() - start
        if await page.locator('[data-testid="stException"]').count():
            result["error"] = "exception shown on the page"
    except Exception as error:  # a timeout or a closed page: counted, reported by kind and step
        result["error"] = f"{type(error).__name__} at {step}"
    finally:
        await context.close()
    return result


async def run(app: App, n: int, timeout_s: float) -> tuple[list[dict[str, float | str]], float, float]:
    """Every session's result, the wall time of the whole run and the server's CPU time during it."""
    from playwright.async_api import async_playwright

    with serve(app) as server:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                       args=CHROMIUM_ARGS)
            cpu, start = server.cpu_seconds(), time.perf_counter()
            results = await asyncio.gather(*(session(browser, server.url + app.attack_demo_path, timeout_s * 1000)
                                             for _ in range(n)))
            wall, cpu = time.perf_counter() - start, server.cpu_seconds() - cpu
            await browser.close()
    return list(results), wall, cpu


def summary(name: str, n: int, results: list[dict[str, float | str]], wall: float, cpu: float) -> str:
    errors = [r["error"] for r in results if "error" in r]
    opens = [r["open"] for r in results if "open" in r]
    moves = [r["move"] for r in results if "move" in r]
    kinds = ", ".join(f"{k} x{errors.count(k)}" for k in sorted(set(errors)))
    return (f"{name:8s} {n:3d} sessions: errors {len(errors):2d}{f' ({kinds})' if kinds else ''}; "
            f"open p50 {percentile(opens, 50):5.2f} s p95 {percentile(opens, 95):5.2f} s; "
            f"slider move p50 {percentile(moves, 50):5.2f} s p95 {percentile(moves, 95):5.2f} s; "
            f"server CPU {cpu:5.1f} s in {wall:5.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default="10,20", help="comma-separated session counts")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a step may take before it is an error")
    args = parser.parse_args()
    for n in (int(part) for part in args.sessions.split(",")):
        for app in (qulab_app(), codelab_app()):
            print(summary(app.name, n, *asyncio.run(run(app, n, args.timeout))) + f"   (load {load_average()})",
                  flush=True)


if __name__ == "__main__":
    main()
