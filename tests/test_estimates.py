"""The learning estimator: scaled by points, bounded, and safe under concurrent records."""

import threading

import pytest

from qulab.evaluation.estimates import MeasuredTimes


def test_a_recorded_time_is_scaled_by_points():
    times = MeasuredTimes()
    times.record(("fgm", "logistic"), 100, 2.0)
    assert times.estimate(("fgm", "logistic"), 200) == pytest.approx(4.0)
    assert times.estimate(("fgm", "logistic"), 50) == pytest.approx(1.0)


def test_nothing_measured_gives_none_and_kinds_stay_apart():
    times = MeasuredTimes()
    times.record(("fgm", "logistic"), 10, 1.0)
    assert times.estimate(("pgd", "logistic"), 10) is None
    assert times.estimate(("fgm", "tree"), 10) is None


def test_the_latest_measurement_replaces_older_ones():
    times = MeasuredTimes()
    times.record("k", 10, 1.0)
    times.record("k", 20, 6.0)
    assert times.estimate("k", 10) == pytest.approx(3.0)


def test_bounded_forgets_the_oldest_kind():
    times = MeasuredTimes(max_kinds=3)
    for i in range(5):
        times.record(i, 1, float(i))
    assert len(times) == 3
    assert times.estimate(0, 1) is None and times.estimate(1, 1) is None
    assert times.estimate(4, 2) == pytest.approx(8.0)


def test_a_recorded_kind_is_kept_over_older_ones():
    times = MeasuredTimes(max_kinds=2)
    times.record("a", 1, 1.0)
    times.record("b", 1, 1.0)
    times.record("a", 1, 2.0)  # "a" is now the most recent
    times.record("c", 1, 1.0)
    assert times.estimate("b", 1) is None
    assert times.estimate("a", 1) == pytest.approx(2.0)


@pytest.mark.parametrize("points, seconds", [(0, 1.0), (5, -1.0)])
def test_an_impossible_measurement_is_refused(points, seconds):
    with pytest.raises(ValueError):
        MeasuredTimes().record("k", points, seconds)


def test_concurrent_records_keep_the_bound_and_every_value_consistent():
    times = MeasuredTimes(max_kinds=50)
    start = threading.Barrier(8)

    def worker(w: int) -> None:
        start.wait()
        for i in range(500):
            times.record((w, i % 80), 4, 4.0 * (i % 80))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(times) == 50
    for w in range(8):
        for k in range(80):
            got = times.estimate((w, k), 1)
            assert got is None or got == pytest.approx(float(k))


def test_a_defence_evaluation_teaches_the_estimate_of_its_kind_scaled_by_rows():
    """The Defences page's estimate: a rough first guess, then the measured sides of an evaluation of the same
    kind (another eps, another seed), each scaled by the rows of data; the undefended side counted only when it
    is still to compute."""
    from dataclasses import replace

    from qulab.core.experiment import Scenario
    from qulab.defences import (
        estimate_seconds,
        evaluate_defence,
        learned_estimate,
        record_times,
        undefended_baseline,
    )

    times = MeasuredTimes()
    scenario = Scenario(dataset="moons", dataset_params=(("n_samples", 200),), scaling="minmax",
                        model="logistic_regression",
                        attack="pgd", eps=0.1, attack_params=(("max_iter", 3),))
    params = {"bit_depth": 2}
    guess = learned_estimate(times, scenario, "feature_squeezing", params, 200, 160, with_baseline=True)
    assert guess == pytest.approx(estimate_seconds(scenario, "feature_squeezing", params, n_train=160))

    baseline = undefended_baseline(scenario)
    outcome = evaluate_defence(scenario, "feature_squeezing", params, baseline=baseline)
    assert baseline.seconds > 0 and outcome.seconds > 0
    record_times(times, outcome, baseline, 200)
    other = replace(scenario, eps=0.3, seed=7)  # the same kind: eps and seed do not change the cost per row
    alone = learned_estimate(times, other, "feature_squeezing", params, 400, 320, with_baseline=False)
    assert alone == pytest.approx(2 * outcome.seconds)
    both = learned_estimate(times, other, "feature_squeezing", params, 400, 320, with_baseline=True)
    assert both == pytest.approx(2 * (outcome.seconds + baseline.seconds))
    # Another defence setting is another kind: still the first guess for its defended side.
    assert learned_estimate(times, other, "feature_squeezing", {"bit_depth": 4}, 400, 320, with_baseline=False) \
        != pytest.approx(alone)
