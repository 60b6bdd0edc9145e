"""`qulab report RUN… -o report.html`: stored runs into one self-contained HTML file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qulab.core.registry import InvalidInput


def add_parser(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="one self-contained HTML report (figures, numbers, how to "
                                                "reproduce) on stored runs")
    report.add_argument("ids", nargs="+", metavar="RUN", help="run ids or their unique beginnings (`qulab runs list`)")
    report.add_argument("-o", "--output", default="report.html", metavar="FILE",
                        help="where to write the report (default: report.html; - for stdout)")
    report.add_argument("--title", default="QuLab report", help="the report's heading")
    report.add_argument("--store", metavar="PATH", help="run store file (default: $QULAB_STORE, else "
                                                        "~/.local/share/qulab/runs.sqlite3)")


def run(args: argparse.Namespace) -> int:
    from qulab.reports import report_html
    from qulab.store import RunStore

    store = RunStore(args.store)
    ids = list(dict.fromkeys(store.resolve(prefix) for prefix in args.ids))  # once each, in the order given
    runs = [store.get(run_id) for run_id in ids]
    if any(run is None for run in runs):  # deleted between resolve and get
        raise InvalidInput("A run was deleted while the report was made; run the command again.")
    text = report_html(runs, title=args.title)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.output)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"Cannot write the report to {path} ({error.strerror}).") from None
    print(f"wrote {path}: {len(runs)} run{'s' if len(runs) != 1 else ''}, {len(text) / 1e6:.1f} MB "
          "(opens without a network)")
    return 0
