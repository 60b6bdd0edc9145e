"""Reports on stored runs: one self-contained HTML file, the command that computes a run again, and tables that
download as CSV and JSON. Library code: no Streamlit here."""

from qulab.reports.command import Reproduction, reproduce
from qulab.reports.html import report_html, table_html
from qulab.reports.tables import (
    Table,
    curve_table,
    experiment_table,
    results_table,
    runs_table,
    versions_table,
)

__all__ = ["Reproduction", "Table", "curve_table", "experiment_table", "report_html", "reproduce", "results_table",
           "runs_table", "table_html", "versions_table"]
