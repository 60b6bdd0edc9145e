"""What the browser benchmarks share: QuLab and the codelab's plain app on free local ports, headless Chromium.

Both servers run from the repository root, so both read the same .streamlit/config.toml.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("QULAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHART = '[data-testid="stPlotlyChart"]'
READ_ADVERSARIAL = """() => {
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
        .find(m => m.innerText.includes('Adversarial accuracy'));
    return metric ? metric.querySelector('[data-testid="stMetricValue"]').innerText : null;
}"""


@dataclass(frozen=True)
class App:
    """One of the two apps under test: how to start it and where its Attack Demo is."""

    name: str
    command: tuple[str, ...]
    attack_demo_path: str


def qulab_app() -> App:
    """`make run`'s server: `qulab app` (streamlit_app.py's router)."""
    return App("QuLab", (sys.executable, "-m", "qulab.cli", "app"), "/attack_demo")


def codelab_app() -> App:
    """The codelab's plain app: one script, everything recomputed on every rerun."""
    return App("codelab", (sys.executable, "-m", "streamlit", "run", str(ROOT / "bench" / "codelab_reference_app.py"),
                           "--server.headless", "true", "--browser.gatherUsageStats", "false"), "/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    url: str
    pgid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server's processes so far: is the server or the browser the bottleneck?"""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.pgid:  # fields after the name: state ppid pgrp ... utime(11) stime(12)
                    ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def serve(app: App) -> Iterator[Server]:
    """A fresh server process for the app (a cold start), once it answers the health check."""
    port = free_port()
    args = ["--port", str(port), "--address", "127.0.0.1"] if app.name == "QuLab" else \
        ["--server.port", str(port), "--server.address", "127.0.0.1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([*app.command, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app.name} did not start") from None
                time.sleep(0.1)
        yield Server(url, server.pid)
    finally:
        os.killpg(server.pid, 15)  # `qulab app` runs Streamlit as a child: end the group it leads
        server.wait(timeout=20)


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: benchmarks on a shared machine are read with them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation; nan for no samples."""
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q) - 1]
