"""Cold start as a new user meets it: QuLab (`qulab app`) against the codelab's plain app, fresh servers each round.

For each app a new server process is started and a new browser context opens its front page. Times are taken
in the browser from navigation start:
  first paint  QuLab: the Data Overview heading and all six sidebar links on screen; codelab: its heading;
  complete     the script has finished and the page is idle.
Then, in QuLab, the user clicks Attack Demo --read seconds after Data Overview is complete (0, the default, is
the worst case for the background warm-up); timed from the click until the Attack Demo chart is on screen.
Targets: first paint ≤ 1.3× the codelab's; Attack Demo chart within 3 s of the click.

    .venv/bin/python bench/bench_cold_start.py [--rounds 3] [--read 0]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_apps import CHART, IDLE, App, codelab_app, launch, load_average, qulab_app, serve  # noqa: E402

NAV_LINKS = 6
# Milliseconds from navigation start until the heading, all sidebar links and (after the heading) the idle state
# first appear.
FIRST_SEEN = """
window.__seen = {};
new MutationObserver(() => {
    const now = performance.now(), seen = window.__seen;
    const mark = (key, found) => { if (seen[key] === undefined && found) seen[key] = now; };
    mark('heading', document.querySelector('[data-testid="stMain"] h1'));
    mark('nav', document.querySelectorAll('[data-testid="stSidebar"] a[href]').length >= NAV_LINKS);
    mark('idle', seen.heading !== undefined && document.querySelector('IDLE'));
}).observe(document, {childList: true, subtree: true, attributes: true});
""".replace("NAV_LINKS", str(NAV_LINKS)).replace("IDLE", IDLE)


def cold_open(browser, app: App, read: float) -> dict[str, float]:
    """Seconds to first paint and to complete on a fresh server; for QuLab also the first Attack Demo open."""
    with serve(app) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.add_init_script(FIRST_SEEN)
        page.goto(server.url)
        page.wait_for_function("() => window.__seen.idle !== undefined && window.__seen.heading !== undefined"
                               + (" && window.__seen.nav !== undefined" if app.name == "QuLab" else ""))
        seen = page.evaluate("window.__seen")
        result = {"first_paint": max(seen["heading"], seen.get("nav", 0.0)) / 1000, "complete": seen["idle"] / 1000}
        if app.name == "QuLab":
            time.sleep(read)
            start = time.perf_counter()
            page.locator('[data-testid="stSidebar"]').get_by_role("link", name=re.compile("Attack Demo")).click()
            page.get_by_role("heading", name="Attack Demo").wait_for()
            result["attack_demo_heading"] = time.perf_counter() - start
            page.locator(CHART).first.wait_for()
            result["attack_demo_chart"] = time.perf_counter() - start
        context.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--read", type=float, default=0.0, help="seconds on Data Overview before the click")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    apps = [qulab_app(), codelab_app()]
    runs: dict[str, list[dict[str, float]]] = {app.name: [] for app in apps}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for i in range(args.rounds):  # alternate which app goes first, so both see the same machine
            for app in apps if i % 2 == 0 else apps[::-1]:
                result = cold_open(browser, app, args.read)
                runs[app.name].append(result)
                print(f"round {i + 1} {app.name:8s}: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.items())
                      + f"   (load {load_average()})", flush=True)
        browser.close()
    median = {name: {k: statistics.median(r[k] for r in results) for k in results[0]}
              for name, results in runs.items()}
    q, c = median["QuLab"], median["codelab"]
    print(f"\nmedians over {args.rounds} rounds (load now {load_average()}):")
    print(f"  first paint: QuLab {q['first_paint']:.2f} s, codelab {c['first_paint']:.2f} s, "
          f"ratio {q['first_paint'] / c['first_paint']:.2f}x (target <= 1.3x)")
    print(f"  complete:    QuLab {q['complete']:.2f} s, codelab {c['complete']:.2f} s, "
          f"ratio {q['complete'] / c['complete']:.2f}x")
    print(f"  first Attack Demo open, click ({args.read:g} s after complete) to chart: {q['attack_demo_chart']:.2f} s "
          f"(max {max(r['attack_demo_chart'] for r in runs['QuLab']):.2f} s; target <= 3 s)")


if __name__ == "__main__":
    main()
