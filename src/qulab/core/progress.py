"""The one shape of a progress report, shared by every long computation and the pages that draw it."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]
"""``progress(fraction_done, what_is_happening)``: called on the computing thread as slow steps finish."""
