"""Run-time estimates that learn from measured runs: seconds per test point, per kind of run (attack, model and
settings), so the second estimate of a kind is the first one's measured time scaled to the new number of points.

The record is per process and shared by all sessions: it holds timings of this machine, not anyone's choices,
so one user's run making another's estimate better is the point. A lock guards it (Streamlit serves sessions
on threads) and it keeps only the most recent kinds, so it cannot grow without bound. No Streamlit here."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

MAX_KINDS = 256  # kinds of run remembered; the oldest is forgotten first


class MeasuredTimes:
    """The last measured seconds per point for each kind of run, bounded to ``max_kinds`` kinds."""

    def __init__(self, max_kinds: int = MAX_KINDS) -> None:
        if max_kinds < 1:
            raise ValueError(f"max_kinds must be at least 1, got {max_kinds}")
        self._max_kinds = max_kinds
        self._per_point: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, kind: Hashable, points: int, seconds: float) -> None:
        """Remember that a run of this kind took ``seconds`` on ``points`` points (the latest run replaces older
        ones: the machine's load changes, and the latest says most about the next)."""
        if points < 1 or seconds < 0:
            raise ValueError(f"a measured run needs at least 1 point and a time of at least 0 s, got {points} "
                             f"points in {seconds} s")
        with self._lock:
            self._per_point[kind] = seconds / points
            self._per_point.move_to_end(kind)
            while len(self._per_point) > self._max_kinds:
                self._per_point.popitem(last=False)

    def estimate(self, kind: Hashable, points: int) -> float | None:
        """Seconds a run of this kind should take on ``points`` points, or None when none was measured."""
        with self._lock:
            per_point = self._per_point.get(kind)
        return None if per_point is None else per_point * points

    def __len__(self) -> int:
        with self._lock:
            return len(self._per_point)


MEASURED = MeasuredTimes()
