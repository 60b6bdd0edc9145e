"""Download buttons the pages share: any table as CSV and JSON, and a selection of runs as an HTML report.
The files are made when the button is pressed (Streamlit calls the function then), not on every rerun."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from qulab.reports import Table, report_html


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
