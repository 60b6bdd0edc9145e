"""Every test saves its runs into a store of its own, never into the user's: a session-wide one for servers and
processes started once (set before any fixture runs), and a fresh one per test on top."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SESSION_STORE = Path(tempfile.mkdtemp(prefix="qulab-test-store-")) / "runs.sqlite3"
os.environ["QULAB_STORE"] = str(_SESSION_STORE)


@pytest.fixture(autouse=True)
def _own_run_store(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("QULAB_STORE", str(tmp_path_factory.mktemp("store") / "runs.sqlite3"))
