"""Download buttons the pages share: any table as CSV and JSON, and a selection of runs as an HTML report.
The files are made when the button is pressed (Streamlit calls the function then), not on every rerun."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import streamlit as st

from qulab.reports import Table, report_html
from qulab.store import RunStore


def table_downloads(table: Table, key: str, container: Any = st) -> None:
    """Two small buttons under a table: its rows as CSV and as JSON, named after the table."""
    row = container.container(horizontal=True)
    row.download_button("CSV", table.to_csv, file_name=f"{table.name}.csv", mime="text/csv", key=f"{key}_csv",
                        on_click="ignore", icon=":material/download:", help=f"{table.title}, as a CSV file.")
    row.download_button("JSON", table.to_json, file_name=f"{table.name}.json", mime="application/json",
                        key=f"{key}_json", on_click="ignore", icon=":material/download:",
                        help=f"{table.title}, as a JSON array of rows.")


def report_download(runs: Sequence[Any], key: str, container: Any = st) -> None:
    """One button: the runs as one self-contained HTML report (figures, numbers, how to reproduce; no network)."""
    runs = list(runs)
    container.download_button(
        f"Report on {len(runs)} run{'s' if len(runs) != 1 else ''} (HTML)", lambda: report_html(runs),
        file_name="qulab-report.html", mime="text/html", key=key, on_click="ignore", type="primary",
        icon=":material/description:",
        help="One HTML file with the interactive figures, the numbers, the experiments, library versions and "
             "seeds, and the `qulab` command that computes each run again. It opens without a network.")


def saved_report_download(run_ids: Sequence[str], key: str, container: Any = st) -> None:
    """The report on the runs a page has just saved (by id), read from the store when the button is pressed;
    nothing when none was saved (the page has said why)."""
    ids = list(run_ids)
    if not ids:
        return
    container.download_button(
        "Report (HTML)" if len(ids) == 1 else f"Report on these {len(ids)} runs (HTML)", partial(stored_report, ids),
        file_name="qulab-report.html", mime="text/html", key=key, on_click="ignore", icon=":material/description:",
        help="This result as one HTML file: the interactive figures, the numbers, the experiment, library versions "
             "and seed, and the `qulab` command that computes it again. It opens without a network; the run is "
             "also on the Runs page.")


def stored_report(run_ids: Sequence[str]) -> str:
    """The report on stored runs by id (one deleted meanwhile is left out)."""
    store = RunStore()
    return report_html([run for run in map(store.get, run_ids) if run is not None])
