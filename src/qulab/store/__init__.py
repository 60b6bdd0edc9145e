"""The run store: every evaluation saved as its experiment, results, library versions and timings.

    from qulab.store import RunStore, run_for
    store = RunStore()                      # $QULAB_STORE, else ~/.local/share/qulab/runs.sqlite3
    run = run_for(scenario, results, {"seconds": 1.2})
    store.put(run); store.get(run.id); store.list(kind="evasion", dataset="iris")

A run's id is the SHA-256 of its kind and experiment (canonical JSON), so the same experiment is recognised and
not computed twice. Sweeps over grids of experiments on Dask live in :mod:`qulab.store.sweep`.
"""

from qulab.store.run import Run, canonical_json, id_for, library_versions, run_for, run_id
from qulab.store.sqlite import ENV_VAR, RunStore, StoreError, default_path

__all__ = ["ENV_VAR", "Run", "RunStore", "StoreError", "canonical_json", "default_path", "id_for",
           "library_versions", "run_for", "run_id"]
