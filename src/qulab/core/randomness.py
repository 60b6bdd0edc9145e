"""The one place that sets process-global state: the random generators and torch's thread count.

QuLab's own code draws from generators made from a run's seed (``np.random.default_rng(seed)``, a
``torch.Generator`` per estimator). ART does not: HopSkipJump, Boundary, Square, ZOO and random starts draw from
NumPy's global generator, Universal Perturbation and Square from Python's ``random``, and noise on tensors from
torch's. Streamlit serves every session from a thread of one process, so those globals are shared by every user.
:func:`seeded` makes them safe: it holds one process-wide lock while it seeds them, runs the block and restores
them, so a run's global draws come from its own seed alone. Only runs that draw globally take the lock
(:func:`seeded_if_random`; a defence's ``global_draws``); deterministic attacks and defences run side by side.
``bench/bench_randomness.py`` measured the lock against worker processes (see its docstring for why the lock was
kept). :func:`torch_generator` makes the per-estimator generators, and :data:`one_torch_thread` guards torch's
process-wide thread count the same way.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import numpy as np

# Re-entrant: a random defence's run is seeded as a whole and calls code that seeds its own attack runs.
_GLOBAL_GENERATORS = threading.RLock()


class DrawsGlobally(Protocol):
    """What :func:`seeded_if_random` needs to know about an attack (``AttackSpec`` satisfies it)."""

    def draws_globally(self, params: Mapping[str, Any]) -> bool: ...


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed NumPy's, Python's and torch's global generators for the block, holding the process-wide lock, then
    restore them.

    Other threads' seeded blocks wait, so their draws never interleave with this one's. Inside the block, never
    wait on something another thread computes under ``seeded`` (e.g. a cache entry in flight): it would wait for
    this lock.
    """
    with _GLOBAL_GENERATORS:
        numpy_state, python_state = np.random.get_state(), random.getstate()
        np.random.seed(seed % 2**32)
        random.seed(seed)
        try:
            with contextlib.ExitStack() as stack:
                try:
                    import torch
                except ImportError:  # pragma: no cover - torch comes with the lab's extras
                    torch = None
                if torch is not None:
                    stack.enter_context(torch.random.fork_rng(devices=[]))
                    torch.manual_seed(seed)
                yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)


def seeded_if_random(spec: DrawsGlobally, params: Mapping[str, Any], seed: int) -> contextlib.AbstractContextManager:
    """:func:`seeded` for an attack that draws from the global generators with these params; no lock otherwise,
    so deterministic attacks (FGM, DeepFool, Carlini–Wagner, PGD without random starts…) do not wait for others."""
    return seeded(seed) if spec.draws_globally(params) else contextlib.nullcontext()


def seeded_random_state(seed: Any = None) -> np.random.RandomState:
    """``np.random.RandomState`` as ART's HopSkipJump and Boundary see it.

    They draw their starting points from ``np.random.RandomState()``, seeded by the OS, so no seed reached them; an
    unseeded RandomState made here takes its seed from NumPy's global generator, which :func:`seeded` sets under
    its lock. An explicit seed is passed through.
    """
    return np.random.RandomState(np.random.randint(2**31 - 1) if seed is None else seed)


def torch_generator(seed: int) -> Any:
    """A torch generator of the run's own, seeded with ``seed``: draws from it never touch torch's global one."""
    import torch

    return torch.Generator().manual_seed(seed)


class _OneTorchThread:
    """Run torch on one intra-op thread while any thread of the process is inside (re-entrant, shared).

    Why: QuLab's nets are tiny, so extra threads only add sync overhead, and on a busy 2-core host
    oversubscription is brutal (measured: a 10-epoch digits CNN fit took 29 s on 2 threads vs 1.1 s on 1).
    torch's thread count is process-wide, so a plain set-and-restore per call would let one session restore
    the count while another is still computing; the count is restored when the last user leaves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._previous = 1

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        import torch

        with self._lock:
            if self._users == 0:
                self._previous = torch.get_num_threads()
                torch.set_num_threads(1)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    torch.set_num_threads(self._previous)


one_torch_thread = _OneTorchThread()
