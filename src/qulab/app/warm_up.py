"""Pay the Attack Demo's first-use costs in the background, once per server process.

ART (with torch behind it) and scikit-learn take seconds to import cold. ``qulab app`` (what `make run` starts)
calls ``start`` before the server, so they load while it starts. The router calls it on every run too (only the
first call starts the thread), which covers `streamlit run streamlit_app.py`: after the sidebar and before the
page, so the user reads the first page while they load.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _warm() -> None:
    # Library calls only: Streamlit's caches need a session, and the imports are what costs.
    import qulab.app.widgets  # noqa: F401 (the Attack Demo's own imports: the caches, pandas, scikit-learn's PCA)
    from qulab.core.experiment import Scenario
    from qulab.evaluation.pipeline import fit_model, prepare_split, run_attack

    scenario = Scenario()  # the Attack Demo's set-up
    split = prepare_split(scenario)
    run_attack(scenario, split, fit_model(scenario, split))


def start() -> threading.Thread:
    """Start the warm-up unless this process already has; the thread, for tests to join."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_warm, name="qulab-warm-up", daemon=True)
            _thread.start()
        return _thread
