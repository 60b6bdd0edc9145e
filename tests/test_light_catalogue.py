"""`qulab list` reads the catalogue as data: no scikit-learn, ART or torch import (each costs seconds cold)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("sklearn", "art", "torch", "diffprivlib", "opacus")

# Runs `list` in a fresh interpreter and reports which heavy packages it loaded, and what it printed.
PROBE = """
import contextlib, io, json, sys
import qulab.cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = qulab.cli.main(["list", "--json"])
print(json.dumps({"code": code, "loaded": sorted(m for m in %r if m in sys.modules), "listing": out.getvalue()}))
"""


def _probe() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,)], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(SRC), "PATH": ""})
    return json.loads(done.stdout)


def test_list_imports_no_heavy_library_and_still_lists_everything():
    result = _probe()
    assert result["code"] == 0
    assert result["loaded"] == []
    listing = json.loads(result["listing"])
    # The light path lists the same catalogue as the registries do once everything is imported.
    from qulab.cli import listing as full_listing

    assert listing == json.loads(json.dumps(full_listing()))


def test_a_listed_model_still_builds_its_estimator():
    """The builders import scikit-learn on use: the registry entry still yields the scikit-learn estimator."""
    from sklearn.linear_model import LogisticRegression

    from qulab.models.registry import MODELS

    estimator = MODELS.get("logistic_regression").build(C=0.5, seed=3)
    assert isinstance(estimator, LogisticRegression)
    assert (estimator.C, estimator.random_state, estimator.max_iter) == (0.5, 3, 5000)
