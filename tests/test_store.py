"""The run store: ids from the experiment alone, round trips, filters, refusing foreign or corrupt files without
touching them, and concurrent writers losing nothing."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from qulab.core.experiment import Scenario, freeze
from qulab.core.registry import InvalidInput
from qulab.store import Run, RunStore, StoreError, default_path, run_for, run_id

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _run(n: int, kind: str = "evasion", **experiment) -> Run:
    experiment = {"dataset": "iris", "n": n, **experiment}
    return Run(id=run_id(kind, experiment), kind=kind, experiment=experiment,
               results={"clean_accuracy": n / 100}, versions={"qulab": "0.1.0"}, timings={"seconds": 0.5},
               created=f"2026-12-02T10:00:{n % 60:02d}.000+00:00")


def test_the_id_is_sha256_of_the_canonical_kind_and_experiment():
    written = '{"experiment":{"a":[1,2.5],"b":"x"},"kind":"poisoning"}'  # by hand: sorted keys, no spaces
    assert run_id("poisoning", {"b": "x", "a": [1, 2.5]}) == hashlib.sha256(written.encode()).hexdigest()
    assert run_id("privacy", {"b": "x", "a": [1, 2.5]}) != run_id("poisoning", {"b": "x", "a": [1, 2.5]})


def test_a_scenario_has_one_id_whether_defaults_are_named_or_not():
    """The CLI names only the parameters given, the pages name all of them: the same experiment, one id."""
    bare = Scenario(dataset="moons", model="logistic_regression", attack="pgd", eps=0.1)
    named = Scenario(dataset="moons", model="logistic_regression", attack="pgd", eps=0.1,
                     dataset_params=freeze({"noise": 0.2}), model_params=freeze({"C": 1.0}))  # the defaults
    assert run_for(bare, {}).id == run_for(named, {}).id
    assert run_for(bare, {}).experiment["dataset_params"] == {"n_samples": 500, "noise": 0.2}
    assert run_for(bare, {}).id != run_for(bare.with_eps(0.2), {}).id
    assert run_for(bare, {}).kind == "evasion"
    assert run_for(bare, {}, extra={"eps_grid": [0, 0.1]}).id != run_for(bare, {}).id
    defended = Scenario(dataset="moons", attack="fgm", defence="gaussian_noise")
    assert run_for(defended, {}).kind == "defence"


def test_run_for_takes_any_value_with_to_dict_and_a_kind():
    class Poisoning:
        kind = "poisoning"

        def to_dict(self):
            return {"dataset": "iris", "rate": 0.1}

    run = run_for(Poisoning(), {"asr": 0.9}, {"seconds": 2})
    assert run.kind == "poisoning" and run.experiment == {"dataset": "iris", "rate": 0.1}
    assert run.id == run_id("poisoning", {"rate": 0.1, "dataset": "iris"})
    assert set(run.versions) == {"qulab", "art", "sklearn", "numpy", "torch"}
    assert run.versions["numpy"] == __import__("numpy").__version__
    assert run.timings == {"seconds": 2.0} and run.error is None and run.created.endswith("+00:00")
    with pytest.raises(InvalidInput, match="clash"):
        run_for(Poisoning(), {}, extra={"rate": 0.2})


def test_put_get_list_delete_round_trip(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite3")
    runs = [_run(n) for n in range(5)] + [_run(9, kind="privacy", dataset="moons")]
    for run in runs:
        store.put(run)
    assert store.get(runs[2].id) == runs[2] and store.has(runs[2].id) and not store.has("0" * 64)
    assert store.get("0" * 64) is None
    assert [r.experiment["n"] for r in store.list()] == [9, 4, 3, 2, 1, 0]  # newest first
    assert [r.id for r in store.list(kind="privacy")] == [runs[5].id]
    assert [r.experiment["n"] for r in store.list(dataset="iris", n=3)] == [3]
    assert len(store) == 6 and store.resolve(runs[1].id[:12]) == runs[1].id
    failed = Run(**{**runs[0].to_dict(), "results": {}, "error": "It broke."})
    store.put(failed)  # the same id replaces the run
    assert len(store) == 6 and store.get(runs[0].id).error == "It broke."
    assert [r.id for r in store.list(failed=True)] == [runs[0].id]
    assert store.done(r.id for r in runs) == {r.id for r in runs[1:]}
    assert store.delete([runs[0].id, runs[1].id, "f" * 64]) == 2
    assert len(store) == 4 and RunStore(store.path).get(runs[2].id) == runs[2]  # another opening reads the same
    with pytest.raises(InvalidInput, match="No run"):
        store.resolve("abc")


def test_the_default_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("QULAB_STORE", str(tmp_path / "x.sqlite3"))
    assert default_path() == tmp_path / "x.sqlite3" and RunStore().path == tmp_path / "x.sqlite3"
    monkeypatch.delenv("QULAB_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "qulab" / "runs.sqlite3"


def _foreign_db(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE contacts (name TEXT)")
        db.execute("INSERT INTO contacts VALUES ('Ada')")
    db.close()


def _ours_then_damaged(path: Path) -> None:
    """A QuLab store whose pages after the header are overwritten with junk."""
    store = RunStore(path)
    for n in range(50):
        store.put(_run(n))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[100:] = b"\xde\xad\xbe\xef" * ((len(data) - 100) // 4) + b"\x00" * ((len(data) - 100) % 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p.write_text("name,age\nAda,36\n"), "not a SQLite database"),
    (lambda p: p.write_bytes(os.urandom(5000)), "not a SQLite database"),
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\x00" * 10), "not a SQLite database"),
    (_foreign_db, "another program's SQLite database"),
    (_ours_then_damaged, "cannot be (opened|used)"),
], ids=["csv", "random", "truncated", "foreign", "damaged"])
def test_a_foreign_or_corrupt_file_is_refused_and_left_byte_identical(tmp_path, make, fragment):
    path = tmp_path / "runs.sqlite3"
    make(path)
    before = path.read_bytes()
    siblings = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreError, match=fragment) as refused:
        store = RunStore(path)
        store.put(_run(1))  # a damaged store may only show it on use
        store.list()
    message = str(refused.value)
    assert message.count(". ") <= 1 and "\n" not in message and str(path) in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings or make is _ours_then_damaged


def test_an_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "runs.sqlite3"
    path.touch()
    RunStore(path).put(_run(1))
    assert len(RunStore(path)) == 1


WRITER = """
import sys
from qulab.store import Run, RunStore, run_id
store = RunStore(sys.argv[1])
for n in range(int(sys.argv[2]), int(sys.argv[3])):
    experiment = {"n": n}
    store.put(Run(run_id("evasion", experiment), "evasion", experiment, {"n": n}, {}, {}, "2026-12-02T10:00:00"))
"""


def test_two_processes_and_threads_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "runs.sqlite3"
    env = {**os.environ, "PYTHONPATH": SRC}
    # Both processes start on a missing file: creating it is part of the race.
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(lo), str(lo + 150)], env=env)
               for lo in (0, 150)]
    store = RunStore(path)
    threads = [threading.Thread(target=lambda lo=lo: [store.put(_run(n)) for n in range(lo, lo + 50)])
               for lo in (1000, 1050)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    runs = store.list()
    assert len(runs) == 400
    assert sorted(r.experiment["n"] for r in runs) == [*range(300), *range(1000, 1100)]
    assert all(r.results == {"n": r.experiment["n"]} for r in runs if r.experiment["n"] < 300)
    assert json.loads(json.dumps(runs[0].to_dict())) == runs[0].to_dict()
