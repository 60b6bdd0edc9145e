"""The browser benchmarks run end to end and print summaries whose ratios follow from their own figures.

Slow tier (`make test-slow`): each starts fresh servers of both apps. No timing is asserted; the machine decides.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow
NUMBER = r"([0-9.]+)"


def _bench(chromium_path: str, script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                          timeout=900, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src"),
                                                      "QULAB_CHROMIUM": chromium_path})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_cold_start_bench(chromium_path):
    out = _bench(chromium_path, "bench_cold_start.py", "--rounds", "1")
    q, c, ratio = map(float, re.search(rf"first paint: QuLab {NUMBER} s, codelab {NUMBER} s, ratio {NUMBER}x",
                                       out).groups())
    assert ratio == pytest.approx(q / c, abs=0.006)
    assert re.search(rf"first Attack Demo open, click \({NUMBER} s after complete\) to chart: {NUMBER} s", out)


def test_epsilon_bench(chromium_path):
    out = _bench(chromium_path, "bench_browser_epsilon.py", "--moves", "2")
    shown = {name: float(ms) for name, ms in re.findall(rf"(QuLab|codelab)\s*: new accuracy shown after median\s+"
                                                         rf"{NUMBER} ms", out)}
    ratio = float(re.search(rf"accuracy shown {NUMBER}x", out).group(1))
    assert ratio == pytest.approx(shown["QuLab"] / shown["codelab"], abs=0.05)


def test_load_bench_reports_both_apps(chromium_path):
    out = _bench(chromium_path, "bench_load.py", "--sessions", "2")
    lines = {name: re.search(rf"{name}\s+2 sessions: errors\s+(\d+)", out) for name in ("QuLab", "codelab")}
    assert all(lines.values()), out
    assert int(lines["QuLab"].group(1)) == 0, out  # two users must both get through
