"""Sweeps on Dask and the run store's cost per run.

(1) Speed-up: the same grid of cells (each one `qulab evaluate`, PGD on a few hundred test points) run
    (a) one after another in this process, as a shell loop of cells would without the start-up of each process,
    (b) on a LocalCluster of --workers single-threaded worker processes, warm (QuLab and ART imported, as a sweep's
        cluster is after its first cells); the cluster's start-up is printed apart.
    Every cell of (b) must give exactly the numbers of (a). Prints seconds and the speed-up (a)/(b), best and
    median of --rounds (the modes interleaved per round, since a shared host's load drifts).
(2) The store: ms per put, per get, per `has`, and for listing --runs runs, in a fresh SQLite file (WAL, one
    connection per call), with results of the size `qulab evaluate` gives.

    .venv/bin/python bench/bench_sweep.py [--workers 2] [--rounds 2] [--runs 500]

Worker processes import this script again (Dask spawns them), hence the ``__main__`` guard.

Measured 2026-12-02 on the 2-core host while other sessions' tests ran (load average 22-24, so there were no idle
cores to gain): 16 cells, serial best 25.1 s / median 27.5 s, on 2 warm workers best 22.1 s / median 25.9 s, a
speed-up of 1.13x best, 1.06x median, with the same numbers in every cell; the cluster took 19 s to start and
72 s more until both workers had imported QuLab and ART. The store: put 0.32 ms, get 0.18 ms, has 0.05 ms per
run, listing 500 runs 88 ms, 8.7 KiB per run on disk (WAL included). On a busy host a sweep's gain is start-up
amortised, not parallelism; on idle cores the cells run side by side.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

CELLS = [["--data", "moons", "--data-param", "n_samples=1500", "--model", model, "--attack", "pgd",
          "--param", "max_iter=40", "--eps", str(eps), "--seed", str(seed)]
         for model in ("logistic_regression", "linear_svm") for eps in (0.05, 0.1, 0.2, 0.3) for seed in (0, 1)]


def numbers(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.endswith("seconds")}


def serial() -> tuple[float, list[dict]]:
    from qulab.cli import cell_result

    start = time.perf_counter()
    results = [cell_result("evaluate", argv) for argv in CELLS]
    return time.perf_counter() - start, results


def on_dask(client) -> tuple[float, list[dict]]:
    from qulab.cli import cell_result
    from qulab.store.sweep import Job, run_jobs

    results: dict[str, dict] = {}

    def finished(job, result, error):
        if error is not None:
            raise error
        results[job.key] = result

    jobs = [Job(f"{i}-{time.monotonic_ns()}", "evaluate", tuple(argv)) for i, argv in enumerate(CELLS)]
    start = time.perf_counter()
    run_jobs(client, jobs, cell_result, finished)
    seconds = time.perf_counter() - start
    return seconds, [results[job.key] for job in jobs]


def sweep_speedup(workers: int, rounds: int) -> None:
    from qulab.cli import cell_result
    from qulab.store.sweep import dask_client

    cell_result("evaluate", CELLS[0])  # this process warm too
    start = time.perf_counter()
    with dask_client(None, workers) as client:
        up = time.perf_counter() - start
        client.run(cell_result, "evaluate", CELLS[0])  # every worker imports QuLab and ART once
        warm = time.perf_counter() - start - up
        print(f"{len(CELLS)} cells; local cluster of {workers} workers up in {up:.1f} s, warm after {warm:.1f} s more")
        times: dict[str, list[float]] = {"serial": [], "dask": []}
        for _ in range(rounds):
            seconds, expected = serial()
            times["serial"].append(seconds)
            seconds, got = on_dask(client)
            times["dask"].append(seconds)
            assert [numbers(r) for r in got] == [numbers(r) for r in expected], "Dask changed a cell's numbers"
    for mode, values in times.items():
        print(f"  {mode:<7} best {min(values):6.2f} s  median {statistics.median(values):6.2f} s")
    print(f"  speed-up at {workers} workers: best {min(times['serial']) / min(times['dask']):.2f}x, median "
          f"{statistics.median(times['serial']) / statistics.median(times['dask']):.2f}x "
          f"(same numbers in every cell)")


def store_cost(n: int) -> None:
    from qulab.store import RunStore, run_id
    from qulab.store.run import Run, library_versions, now

    result = {"data": "moons", "model": "logistic_regression", "attack": "pgd", "norm": "inf", "scaling": "none",
              "seed": 0, "clip": None, "clean_accuracy": 0.85, "adversarial_accuracy": 0.7,
              "attack_success_rate": 0.17, "flipped": 40, "eps": 0.1, "n_test": 300, "median_linf": 0.1,
              "max_linf": 0.1, "median_l2": 0.14, "max_l2": 0.14, "seconds": 1.2, "notes": [],
              "attack_seconds": 1.0, "fit_seconds": 0.2}
    versions = library_versions()
    runs = []
    for i in range(n):
        experiment = {"dataset": "moons", "model": "logistic_regression", "attack": "pgd", "eps": i / n, "seed": i,
                      "dataset_params": {"n_samples": 1500}, "attack_params": {"max_iter": 40}}
        runs.append(Run(run_id("evasion", experiment), "evasion", experiment, result, versions,
                        {"seconds": 1.2}, now()))
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(Path(folder) / "runs.sqlite3")
        start = time.perf_counter()
        for run in runs:
            store.put(run)
        put = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for run in runs:
            assert store.get(run.id) == run
        get = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for run in runs:
            store.has(run.id)
        has = (time.perf_counter() - start) / n
        start = time.perf_counter()
        listed = store.list()
        listing = time.perf_counter() - start
        assert len(listed) == n
        size = (Path(folder) / "runs.sqlite3").stat().st_size + sum(
            p.stat().st_size for p in Path(folder).glob("runs.sqlite3-*"))
    print(f"store, {n} runs: put {put * 1e3:.2f} ms/run, get {get * 1e3:.2f} ms/run, has {has * 1e3:.2f} ms/run, "
          f"list all {listing * 1e3:.0f} ms ({listing / n * 1e3:.3f} ms/run), {size / n / 1024:.1f} KiB/run on disk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    store_cost(args.runs)
    sweep_speedup(args.workers, args.rounds)


if __name__ == "__main__":
    main()
