"""One self-contained HTML file for a set of runs: the figures (Plotly's JavaScript inline, so it opens without a
network), the numbers as tables with CSV and JSON downloads, the experiment, versions and seed, and the command
that computes each run again."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from qulab.core.registry import InvalidInput
from qulab.reports.command import reproduce
from qulab.reports.tables import (
    SHORT_ID,
    Table,
    created_text,
    curve_table,
    experiment_table,
    results_table,
    runs_table,
    versions_table,
)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #222; }
h1 { margin-bottom: .2rem; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .4rem 0 .2rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.downloads { font-size: .85rem; margin-bottom: 1rem; } .downloads a { margin-right: .8rem; }
pre { background: #f4f4f6; padding: .6rem .8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
section.run { border-top: 2px solid #ddd; margin-top: 2rem; } .error { color: #b00020; }
.columns { display: flex; flex-wrap: wrap; gap: 2rem; }
"""


def _cell(value: Any, column: str) -> str:
    if column == "id" and isinstance(value, str):  # the full id is in the title and the downloads
        return f'<td title="{html.escape(value)}"><code>{html.escape(value[:SHORT_ID])}</code></td>'
    if isinstance(value, float):
        return f'<td class="num" title="{value!r}">{value:.4g}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def _data_link(text: str, mime: str, filename: str, label: str) -> str:
    payload = base64.b64encode(text.encode()).decode()
    return f'<a download="{html.escape(filename)}" href="data:{mime};charset=utf-8;base64,{payload}">{label}</a>'


def table_html(table: Table) -> str:
    """The table with its CSV and JSON downloads (data: links, so they work from the file alone)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(_cell(v, c) for v, c in zip(row, table.columns, strict=True)) + "</tr>"
                   for row in table.rows)
    links = (_data_link(table.to_csv(), "text/csv", f"{table.name}.csv", "Download CSV")
             + _data_link(table.to_json(), "application/json", f"{table.name}.json", "Download JSON"))
    return (f'<div class="table" data-table="{html.escape(table.name)}"><h3>{html.escape(table.title)}</h3>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f'<div class="downloads">{links}</div></div>')


def _run_section(run: Any) -> str:
    from qulab.figures.runs import run_label

    experiment = run.experiment or {}
    parts = [f'<section class="run" id="run-{html.escape(run.id)}"><h2>{html.escape(run_label(run))}</h2>',
             f'<p class="meta">Run {html.escape(run.id)} · {html.escape(str(run.kind))} · made '
             f"{html.escape(created_text(run.created))} · seed {html.escape(str(experiment.get('seed')))}</p>"]
    if run.error:
        parts.append(f'<p class="error">This run failed: {html.escape(str(run.error))}</p>')
    command = reproduce(run)
    parts.append("<h3>Reproduce from the command line</h3>")
    if command.argv:
        parts.append("<p>With QuLab installed, this prints the same numbers as JSON (<code>clean_accuracy</code>, "
                     "<code>adversarial_accuracy</code>, …); a run already in your own run store is shown from there "
                     "(<code>qulab runs delete ID</code> first to compute it again):</p>"
                     f'<pre class="command">{html.escape(command.shell)}</pre>')
    if command.caveat:
        parts.append(f'<p class="caveat">{html.escape(command.caveat)}</p>')
    notes = (run.results or {}).get("notes") or []
    if notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>")
    parts.append('<div class="columns">' + table_html(experiment_table(run)) + table_html(results_table(run))
                 + table_html(versions_table(run)) + "</div>")
    curve = curve_table(run)
    if curve is not None:
        parts.append(table_html(curve))
    return "".join(parts) + "</section>"


def report_html(runs: Sequence[Any], title: str = "QuLab report") -> str:
    """The report on ``runs`` (at least one) as one HTML document, readable and interactive offline."""
    from qulab import __version__
    from qulab.figures.runs import build_runs_accuracy_figure, build_runs_curve_figure, build_runs_privacy_figure

    if not runs:
        raise InvalidInput("A report needs at least one run.")
    figures = []
    for div_id, fig in (("figure-curves", build_runs_curve_figure(runs)),
                        ("figure-accuracy", build_runs_accuracy_figure(runs)),
                        ("figure-privacy", build_runs_privacy_figure(runs))):
        if fig.data:  # one look wherever it is made (importing Streamlit changes Plotly's default template)
            fig.update_layout(template="plotly_white")
            figures.append(fig.to_html(full_html=False, include_plotlyjs=not figures, div_id=div_id,
                                       default_width="100%",
                                       config={"displaylogo": False, "responsive": True}))
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    ids = ", ".join(run.id[:SHORT_ID] for run in runs)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f'<p class="meta">{len(runs)} run{"s" if len(runs) != 1 else ""} ({html.escape(ids)}) · made {made} '
            f"with QuLab {__version__} · this file needs no network</p>"
            + table_html(runs_table(runs)) + "".join(figures) + "".join(_run_section(run) for run in runs)
            + "</body></html>")
