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
