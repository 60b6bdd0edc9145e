"""The Privacy page under AppTest, opened on a built-in data set with its widgets preset (for the page tests)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from qulab.app import state as dc

PAGE = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages" / "privacy.py"


def opened_privacy_page(data: str = "iris", timeout: float = 300, **widgets: str) -> AppTest:
    """The page run once on ``data`` (min-max scaled, half of it held out), each ``pv_<name>`` widget set first."""
    app = AppTest.from_file(str(PAGE), default_timeout=timeout)
    app.session_state[dc.CHOICE_KEY] = dc.builtin_choice(data, scaling="minmax", test_size=0.5)
    for name, value in widgets.items():
        app.session_state[f"pv_{name}"] = value
    return app.run()
