"""Long work with a time budget: ``--timeout SECONDS`` on the CLI's computing commands.

The work runs in a child process (the ``spawn`` start method: a fresh interpreter, no copied locks or threads) in a
process group of its own, and the whole group is killed at the deadline, so an attack deep inside ART or a model
file's own process really stops rather than being checked after the fact. The child sends back the command's
result (a plain dict) or its error; nothing half-done reaches the caller, so nothing half-done is saved. Without a
budget the work runs in this process, exactly as before.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import time
from collections.abc import Callable
from typing import Any

MAX_TIMEOUT = 7 * 24 * 3600.0  # a week: above it a budget means nothing, and the OS's wait limits come near


class WorkStopped(Exception):
    """The work ran out of its time budget and was stopped; the message is the one line the user sees."""


class ChildTraceback(Exception):
    """Where an error raised in the child came from: its traceback there, shown as the cause of the error here."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a number of seconds such as 60, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    if value > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"is at most {MAX_TIMEOUT:g} seconds (a week), not {text!r}")
    return value


def stopped_message(what: str, seconds: float, budget: str, hint: str, larger: str) -> str:
    """The one line a run stopped at its time budget ends with, the same on the CLI and in the app: ``budget``
    names the limit (``--timeout``), ``hint`` how to make the work cheaper, ``larger`` how to give it more time."""
    cheaper = f"{hint}, or " if hint else ""
    return f"{what} stopped after {seconds:g} s ({budget}); {cheaper}{larger}. Nothing was saved."


def add_timeout_option(parser: argparse.ArgumentParser) -> None:
    """``--timeout SECONDS`` on a command that computes: the same flag, parsing and help everywhere."""
    parser.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                        help="stop the work after this many seconds (it runs in a child process that is ended at "
                             "the deadline); nothing is saved for a stopped run. Default: no limit")


def run_bounded(work: Callable[..., dict[str, Any]], args: tuple[Any, ...], seconds: float | None, what: str,
                hint: str) -> dict[str, Any]:
    """``work(*args)``, stopped after ``seconds`` (None: no limit, run here). ``work`` and ``args`` must pickle
    (``work`` a module-level function); ``what`` names the work and ``hint`` says how to make it cheaper, for the
    message of the WorkStopped raised at the deadline. The child's own error is raised here as it was there."""
    if seconds is None:
        return work(*args)
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, args, sender), name=f"qulab {what}", daemon=True)
    started = time.monotonic()
    child.start()
    sender.close()  # the child holds the only sending end: its death is an end of file here
    answered = False
    try:
        if not receiver.poll(max(0.0, seconds - (time.monotonic() - started))):
            raise WorkStopped(stopped_message(what, seconds, "--timeout", hint, "give a larger --timeout"))
        try:
            kind, payload = receiver.recv()
        except EOFError:
            child.join()
            raise RuntimeError(f"the process computing {what} ended without an answer (exit code "
                               f"{child.exitcode})") from None
        answered = True
    finally:
        receiver.close()
        _end(child, grace=10.0 if answered else 0.0)
    if kind == "error":
        error, child_traceback = payload
        raise error from ChildTraceback(child_traceback)
    return payload


def _end(child: Any, grace: float) -> None:
    """End the child and whatever it started and left running (its process group), after ``grace`` seconds to
    exit by itself (none when it is being stopped)."""
    child.join(timeout=grace)
    for stop in (lambda: os.killpg(child.pid, signal.SIGKILL), child.kill):
        with contextlib.suppress(ProcessLookupError):  # gone already, or no group yet (stopped while starting)
            stop()
    child.join()


def _child(work: Callable[..., dict[str, Any]], args: tuple[Any, ...], sender: Any) -> None:
    """In the child: lead a process group of its own (so the deadline ends whatever the work starts), do the work
    and send ``("result", dict)`` or ``("error", (exception, its traceback as text))``."""
    import pickle
    import traceback

    os.setpgid(0, 0)
    try:
        outcome: tuple[str, Any] = ("result", work(*args))
    except BaseException as error:  # noqa: BLE001 (every error goes back to the caller, who decides)
        child_traceback = "".join(traceback.format_exception(error)).rstrip()
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:  # noqa: BLE001 (an exception that does not travel travels as its text)
            error = RuntimeError(f"{type(error).__name__}: {error}")
        outcome = ("error", (error, child_traceback))
    sender.send(outcome)
    sender.close()
