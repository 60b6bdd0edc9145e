"""Runs: every saved evaluation, filtered, compared side by side, reported and deleted."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qulab.app.downloads import report_download, table_downloads
from qulab.app.widgets import kept_widget
from qulab.figures.runs import (
    build_runs_accuracy_figure,
    build_runs_curve_figure,
    build_runs_privacy_figure,
    run_label,
)
from qulab.reports.tables import FILTERS, comparison_table, filter_choices, filter_runs, number_columns, runs_table
from qulab.store import RunStore, StoreError

CHOSEN_KEY = "runs_chosen"
CONFIRM_KEY = "runs_confirm_delete"  # the ids a pressed Delete asks to confirm
DELETED_KEY = "runs_deleted"  # how many the last confirmed delete removed, said once
NUMBER_HELP = {
    "adversarial_accuracy": "Accuracy on the attacked test points (a curve's at its largest budget).",
    "attack_success_rate": "Share of the attacked points whose prediction the attack changed (evasion), or of the "
                           "triggered points sent to the target class (a backdoor).",
    "poisoned_accuracy": "Clean test accuracy of the model trained on the poisoned training set.",
    "defended_accuracy": "Clean test accuracy after the defence removed what it flagged and the model was retrained.",
    "auc": "Area under the membership attack's ROC curve (0.5: it cannot tell members from non-members).",
    "advantage": "The membership attack's largest TPR − FPR (0: no better than a guess).",
    "agreement": "Share of test points where the stolen model predicts what the target predicts.",
    "attack_accuracy": "How often attribute inference guesses the sensitive value right.",
    "baseline_accuracy": "How often a guess from the other columns alone (no model) gets it right; the leakage is "
                         "the attack's accuracy above it.",
    "epsilon": "The privacy budget the differentially private model was trained to (its accountant's).",
}


def keep_known(key: str, options: list) -> None:
    """Drop from a multiselect's state the values no longer offered (runs deleted, filters narrowed)."""
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]


def delete_confirmed(store: RunStore, ids: list[str]) -> None:
    st.session_state[DELETED_KEY] = store.delete(ids)
    st.session_state[CONFIRM_KEY] = None
    st.session_state[CHOSEN_KEY] = [i for i in st.session_state.get(CHOSEN_KEY, []) if i not in ids]


st.title("Runs")
st.markdown("Every evaluation is saved in the run store — from the lab pages, `qulab evaluate`, `curve`, `poison`, "
            "`privacy` and sweeps. Filter them, compare two or more side by side, download a report, or delete them.")

try:
    store = RunStore()
    runs = store.list()
except StoreError as error:
    st.error(str(error), icon=":material/error:")
    st.stop()

deleted = st.session_state.pop(DELETED_KEY, None)
if deleted is not None:
    st.success(f"Deleted {deleted} run{'s' if deleted != 1 else ''}.", icon=":material/delete:")
if not runs:
    st.info(f"No runs in {store.path} yet. Run an attack on the **Attack Lab** or `qulab evaluate` in a terminal, "
            "and it appears here.", icon=":material/inbox:")
    st.stop()

st.subheader("Saved runs", divider="gray")
choices = filter_choices(runs)
wanted = {}
for column, (name, label) in zip(st.columns(len(FILTERS)), FILTERS, strict=True):
    keep_known(f"runs_filter_{name}", choices[name])
    wanted[name] = column.multiselect(label, choices[name], key=f"runs_filter_{name}", placeholder="all",
                                      format_func=lambda v: "none" if v is None else str(v),
                                      help=f"Show only runs with these values; empty shows every {label.lower()}.")
shown = filter_runs(runs, wanted)
table = runs_table(shown)
frame = pd.DataFrame(table.records(), columns=table.columns).assign(id=[run.id[:12] for run in shown])
st.dataframe(frame, hide_index=True, key="runs_table", column_config={
    "id": st.column_config.TextColumn("id", help="The start of the run's id (the SHA-256 of its experiment)."),
    "eps": st.column_config.NumberColumn("eps", format="%.4g", help="The budget (a curve's largest)."),
    **{header: st.column_config.NumberColumn(header, format="%.3f", help=NUMBER_HELP.get(key))
       for key, header in number_columns(shown) if not key.startswith("n_")}})
st.caption(f"{len(shown)} of {len(runs)} runs in {store.path}, newest first.")
table_downloads(table, "runs_list")

st.subheader("Compare, report, delete", divider="gray")
by_id = {run.id: run for run in shown}
keep_known(CHOSEN_KEY, list(by_id))
chosen = [by_id[i] for i in st.multiselect(
    "Runs", list(by_id), key=CHOSEN_KEY, format_func=lambda i: f"{run_label(by_id[i])} · {by_id[i].kind}",
    placeholder="Choose runs from the list above",
    help="Two or more are compared side by side; any number go into a report or can be deleted.")]
if not chosen:
    st.info("Choose runs above to compare them, download a report on them, or delete them.",
            icon=":material/checklist:")
    st.stop()

comparison = comparison_table(chosen)
if len(chosen) > 1:
    only_differs = kept_widget(lambda k: st.toggle("Only the rows where the runs differ", key=k),
                               "runs_only_differs", True)  # kept: drawn as the page uses it after a stop above it
    frame = pd.DataFrame(comparison.records(), columns=comparison.columns)
    if only_differs:
        frame = frame[frame["differs"]]
    # One text column per run (a row of numbers beside rows of words would not go into one typed column): numbers
    # to 4 significant digits here, in full in the downloads.
    runs_columns = list(comparison.columns[1:-1])
    frame[runs_columns] = frame[runs_columns].map(
        lambda v: f"{v:.4g}" if isinstance(v, float) else "" if v is None else str(v))
    st.dataframe(frame, hide_index=True, key="runs_comparison", height=35 * (len(frame) + 1) + 3,
                 column_config={"differs": st.column_config.CheckboxColumn(
                     "differs", help="Whether the runs differ in this row.")})
    table_downloads(comparison, "runs_comparison_downloads")
curves_figure, bars_figure = build_runs_curve_figure(chosen), build_runs_accuracy_figure(chosen)
privacy_figure = build_runs_privacy_figure(chosen)
if curves_figure.data:
    st.plotly_chart(curves_figure, width="stretch", key="runs_curves")
    st.caption("Each run's accuracy against the budget: a curve where the run has one (a defence's defended curve, "
               "its undefended one dotted; a linear model's exact curve dashed), else its clean accuracy at 0 and its "
               "adversarial accuracy at its budget.")
if bars_figure.data:
    st.plotly_chart(bars_figure, width="stretch", key="runs_bars")
    st.caption("Accuracy under the attack is the adversarial accuracy for an evasion run and the clean test accuracy "
               "of the model trained on the poisoned set for a poisoning run.")
if privacy_figure.data:
    st.plotly_chart(privacy_figure, width="stretch", key="runs_privacy")
    st.caption("Each privacy attack's own numbers: AUC and advantage for membership inference, agreement for "
               "extraction, the attack's accuracy against the baseline's for attribute inference.")
if not (curves_figure.data or bars_figure.data or privacy_figure.data):
    st.info("None of these runs has numbers to draw: a failed run keeps only its error.", icon=":material/info:")

report_col, delete_col = st.columns(2)
report_download(chosen, "runs_report", report_col)
ids = [run.id for run in chosen]
if st.session_state.get(CONFIRM_KEY) != ids:
    if delete_col.button(f"Delete {len(ids)} run{'s' if len(ids) != 1 else ''}…", key="runs_delete",
                         icon=":material/delete:", help="Asks to confirm before anything is deleted."):
        st.session_state[CONFIRM_KEY] = ids
        st.rerun()
else:
    delete_col.warning(f"Delete {len(ids)} run{'s' if len(ids) != 1 else ''} from {store.path}? This cannot be "
                       "undone; the same experiment would be computed again when next asked for.",
                       icon=":material/warning:")
    yes, no = delete_col.columns(2)
    yes.button("Yes, delete", type="primary", key="runs_delete_yes", on_click=delete_confirmed, args=(store, ids))
    no.button("Cancel", key="runs_delete_no", on_click=lambda: st.session_state.update({CONFIRM_KEY: None}))
