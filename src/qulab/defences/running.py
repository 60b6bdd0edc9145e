"""What every defence's run shares: seeding where it draws globally, progress reporting (also through ART's
epoch loops), torch warm-up."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from qulab.core.randomness import seeded
from qulab.defences.spec import Progress


@contextlib.contextmanager
def defence_run(seed: int, draws_globally: bool) -> Iterator[None]:
    """torch on one thread (tiny nets only pay for threads on a shared host; the guard is shared with the models,
    since torch's thread count is process-wide), and the global generators seeded under the process-wide lock
    (:func:`qulab.core.randomness.seeded`) only for a run that draws from them: a deterministic defence does not
    wait for other sessions' random runs, nor they for it."""
    from qulab.core.randomness import one_torch_thread

    with one_torch_thread(), seeded(seed) if draws_globally else contextlib.nullcontext():
        yield


_EPOCH_REPORT = threading.local()  # per thread (one Streamlit session each): where ART's epoch loops report


def _epoch_range(n: int, *_: Any, **__: Any) -> Iterator[int]:
    """Stands in for tqdm's ``trange`` in ART's training loops: reports each epoch to this thread's callback
    (the page's progress bar) instead of printing a bar on stderr, which ART 1.20.1 has no switch for."""
    report = getattr(_EPOCH_REPORT, "callback", None)
    for i in range(n):
        if report is not None:
            report(i, n)
        yield i


def _silent(iterable: Any, *_: Any, **__: Any) -> Any:
    return iterable


def _quiet_art_training() -> None:
    """Route ART's AdversarialTrainer and randomized-smoothing epoch loops through :func:`_epoch_range` (once)."""
    from art.defences.trainer import adversarial_trainer
    from art.estimators.certification.randomized_smoothing import pytorch as smoothing

    adversarial_trainer.trange, adversarial_trainer.tqdm, smoothing.trange = _epoch_range, _silent, _epoch_range


def stage(report: Progress, start: float, end: float, label: str) -> Callable[[int, int], None]:
    """A step reporter for one stage of the evaluation: step i of n moves the progress from start towards end."""
    return lambda i, n: report(start + (end - start) * i / n, f"{label} {i + 1} of {n}")


@contextlib.contextmanager
def epochs_reported(report: Progress, start: float, end: float, label: str) -> Iterator[None]:
    """While ART trains in this thread, each epoch moves the progress from ``start`` towards ``end``."""
    _quiet_art_training()
    _EPOCH_REPORT.callback = stage(report, start, end, f"{label}: epoch")
    try:
        yield
    finally:
        _EPOCH_REPORT.callback = None


_WARM: list[bool] = []


def warm_up_torch() -> None:
    """torch initialises its optimisers lazily (seconds on the first step); do it once, before any timing, so the
    measured training times compare the defences and not the import."""
    if _WARM:
        return
    import torch

    weight = torch.zeros(2, requires_grad=True)
    for optimiser in (torch.optim.Adam([weight]), torch.optim.LBFGS([weight], max_iter=2)):
        def step(opt=optimiser) -> torch.Tensor:
            opt.zero_grad()
            loss = ((weight - 1) ** 2).sum()
            loss.backward()
            return loss
        optimiser.step(step)
    _WARM.append(True)


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[y]
