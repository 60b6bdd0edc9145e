"""One explicit seed for the random draws of an attack or a defence.

ART draws from the global generators (NumPy's for HopSkipJump, Boundary, Square and noise; Python's ``random`` for
UniversalPerturbation's order; torch's for noise on tensors), so a scenario's seed has to reach them all for its
numbers to be reproducible. The previous states are restored afterwards, so nothing else is disturbed.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed NumPy's, Python's and torch's global generators for the block, then restore them."""
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
