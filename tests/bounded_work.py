"""Work for `run_bounded` tests, in a module of its own so the child process imports next to nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from qulab.core.registry import InvalidInput


def start_sleeper_and_wait(pid_file: str) -> dict:
    """Work that starts a process of its own and never finishes."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(pid_file).write_text(f"{os.getpid()} {sleeper.pid}")
    while True:
        time.sleep(0.05)


def refuse(text: str) -> dict:
    raise InvalidInput(text)


def answer(value: int) -> dict:
    return {"value": value, "pid": os.getpid()}
