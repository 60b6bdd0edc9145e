"""Robustness: accuracy-vs-epsilon curves of several attacks on one model, beside the exact curve for linear models."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from qulab.app import saving
from qulab.app import state as dc
from qulab.app import widgets as lw
from qulab.app.downloads import saved_report_download, table_downloads
from qulab.app.running import Run, bounded, held
from qulab.core.experiment import NORMS, freeze
from qulab.core.wording import sentence_start
from qulab.evaluation.curves import Curve, attack_curve, eps_grid, exact_curve, exact_distances, gap_table
from qulab.evaluation.lab import PILOT_POINTS, eps_range
from qulab.evaluation.pipeline import subsample
from qulab.figures.evasion import build_distance_histogram, build_robustness_figure
from qulab.reports import Table
from qulab.threats.evasion.attacks import ATTACKS

DEFAULT_ATTACKS = ("fgm", "pgd", "deepfool", "decision_tree")  # quick ones, preselected when available

st.title("Robustness")
st.markdown("How fast does accuracy fall as the attacker's budget grows? Each curve is one attack (with its "
            "default settings) run over a grid of epsilons on the same test points; for linear models the "
            "**exact** curve, computed in closed form, shows the best any attack could do.")

lab = lw.data_in_use()
if lab is None:
    st.stop()

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Model", divider="gray")
    model_spec, model_params = lw.model_picker(lab, "rb")
    n = lw.sample_size(lab, "rb_sample")
with right:
    st.subheader("Attacks and budget", divider="gray")
    norm = lw.norm_picker(NORMS, "rb_norm",
                          help="The norm every curve's budget is measured in; only attacks that support it are "
                               "offered.", url="norm")
    r = eps_range(norm, lab.split.X_test.shape[1])
    eps_max = lw.kept_widget(lambda k: st.slider(f"Largest epsilon ({lw.norm_label(norm)})", r.step, r.high,
                                                 step=r.step, key=k, help="The right end of the epsilon grid."),
                             f"rb_eps_max_{norm}", r.high, lambda v: min(max(float(v), r.step), r.high),
                             dc.UrlKey("eps_max", lw.url_text, float))
    steps = lw.kept_widget(lambda k: st.slider("Grid steps", 2, 41, key=k,
                                               help="Epsilons from 0 to the largest, evenly spaced."),
                           "rb_steps", 11, lambda v: min(max(int(v), 2), 41), dc.UrlKey("steps", str, int))
    reasons = lw.attack_reasons(model_spec, lab)
    compatible = [a.name for a in ATTACKS if not reasons[a.name] and norm in a.norms]
    chosen = lw.kept_widget(lambda k: st.multiselect(
        "Attacks", compatible, format_func=lambda a: ATTACKS.get(a).label, key=k,
        help="The attacks that can run on this model in this norm."),
        f"rb_attacks_{model_spec.name}_{norm}", [a for a in DEFAULT_ATTACKS if a in compatible],
        lambda picked: [a for a in picked if a in compatible],
        dc.UrlKey("attacks", ",".join, lambda text: [a for a in text.split(",") if a]))
    left_out = [(a, reasons[a.name] or f"it does not measure its budget in {lw.norm_label(norm)} "
                 f"(it supports {', '.join(map(lw.norm_label, a.norms))})")
                for a in ATTACKS if a.name not in compatible]
    if left_out:
        with st.expander(f"Not offered here ({len(left_out)})"):
            st.markdown("\n".join(f"- **{a.label}**: {reason}" for a, reason in left_out))

base = lab.scenario(model=model_spec.name, model_params=freeze(model_params), eps=eps_max, norm=norm)
dc.sync_link(base, ("model",))  # the address names the model, so a copied link reproduces the page
with lw.refusal_shown():  # every curve's experiment is checked before any fit or attack
    scenarios = {a: lab.scenario(model=model_spec.name, model_params=freeze(model_params), attack=a, eps=eps_max,
                                 norm=norm).validate() for a in chosen}
trained = lw.fitted(lab, base)
if trained is None:
    st.stop()
split, model = trained
sample = subsample(split, n, base.seed)
grid = eps_grid(eps_max, steps)
keys = {a: (s, n, float(eps_max), int(steps)) for a, s in scenarios.items()}
pending = [a for a in chosen if keys[a] not in lw.CURVES]
experiment = tuple(keys.values())  # what a Stop holds: other settings are another run

work = dict.fromkeys(pending, 1.0)  # each curve's share of the progress bar: its estimated seconds when timed
estimate = None
if pending and n > 3 * PILOT_POINTS:
    prompt = st.empty()  # the timing, the estimate and the button, gone once the curves are computed
    with prompt.container():
        work = bounded(st.empty(), "rb_pilot", lambda progress: {
            a: lw.estimate_curve(scenarios[a], n, steps, lab.data, progress) or 0.0 for a in pending},
            experiment=experiment, label=f"Timing {len(pending)} attack(s) on a few points…",
            what="Timing the attacks on a few points",
            hint="fewer attacks are faster")
        estimate = sum(work.values())
        st.status(f"Timed {len(pending)} attack(s): about {estimate:.0f} s in all", state="complete", expanded=False)
        if estimate > lw.AUTO_RUN_SECONDS and not held("rb_run", experiment):
            st.info(f"The {len(pending)} curve(s) not computed yet should take about **{estimate:.0f} s** on {n} "
                    "test points (from earlier curves of the same kind, else timed on a pilot run and scaled up). "
                    "Fewer points, attacks or grid steps make it faster.", icon=":material/timer:")
            if not st.button("Compute the curves", type="primary", key="rb_run"):
                st.stop()
    prompt.empty()
    if sum(work.values()) <= 0:  # nothing timed: equal shares
        work = dict.fromkeys(pending, 1.0)


def curve_or_failure(attack: str, progress=None, waiting=None) -> Curve | str:
    """The attack's cached curve, or why it failed (failures are not cached: the curve raises inside)."""
    try:
        curve = lw.CURVES.get_or_compute(keys[attack],
                                         lambda: attack_curve(scenarios[attack], sample, model, grid, progress),
                                         waiting=waiting)
    except Exception as error:  # noqa: BLE001 — one failing attack must leave the other curves
        return lw.failure(ATTACKS.get(attack), error)
    lw.record_curve(scenarios[attack], n, steps, curve.seconds)
    return curve


def pending_curves(progress: Run) -> dict[str, Curve | str]:
    """The curves not computed yet, each moving the bar by its share of the estimated work."""
    computed: dict[str, Curve | str] = {}
    total, done = sum(work.values()), 0.0
    for a in pending:
        def report(fraction: float, text: str, before: float = done, share: float = work[a]) -> None:
            progress(min((before + fraction * share) / total, 1.0), text)

        computed[a] = curve_or_failure(a, report, progress.check)
        done += work[a]
    return computed


computed: dict[str, Curve | str] = {}
if pending:
    started = time.perf_counter()
    computed = bounded(st.empty(), "rb_run", pending_curves, experiment=experiment, label="Computing the curves…",
                       what=f"Computing {len(pending)} curve(s)", hint="fewer points, attacks or grid steps are faster")
    about = f"about {max(1, round(estimate))} s · " if estimate is not None else ""
    st.status(f"{len(pending)} curve(s) computed: {about}took {time.perf_counter() - started:.1f} s",
              state="complete", expanded=False)

results = {a: computed[a] if a in computed else curve_or_failure(a) for a in chosen}
for result in results.values():
    if isinstance(result, str):
        st.error(result, icon=":material/error:")
curves = [c for c in results.values() if isinstance(c, Curve)]
exact = exact_curve(sample, model, grid, norm)
saved = saving.save_curves(scenarios, results, split, sample, model, grid, exact)

if not chosen:
    st.info("Choose one or more attacks above to draw their curves.", icon=":material/touch_app:")
st.plotly_chart(build_robustness_figure(curves, norm, exact), width="stretch", key="rb_curves")

rows = gap_table(curves, exact)
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"How it was computed": st.column_config.TextColumn(width="large")})
    table_downloads(Table.from_frame("robustness-gaps", "Robustness gaps", pd.DataFrame(rows)), "rb_gaps")
    saved_report_download(saved, "rb_report")
st.caption(f"{len(sample.y_test)} of {len(split.y_test)} test points (seed {base.seed}), {steps} epsilons from 0 to "
           f"{eps_max:g}; attacks run against the true labels. Curves are kept, so coming back is instant.")

if exact is not None:
    st.subheader("The exact curve", divider="gray")
    binary = split.n_classes == 2
    st.markdown(
        f"{sentence_start(model_spec.a_name)} is linear, so each test point's smallest perturbation that changes its "
        "prediction has a closed form (its margin divided by the dual norm of the weight difference). The black "
        "dashed curve is therefore the lowest accuracy **any** attack can reach at each epsilon, and an attack's "
        "gap to it is its sub-optimality. "
        + ("This model is binary: FGM with the true labels sits exactly on the exact curve, since on a binary "
           "linear model the loss gradient points straight at the boundary. For multiclass models one-step "
           "attacks show a gap, because FGM follows the gradient of the loss, not the direction to the nearest "
           "boundary." if binary else
           "For binary linear models FGM with the true labels sits exactly on the exact curve, while for this "
           f"{split.n_classes}-class model one-step attacks show a gap, because FGM follows the gradient of the "
           "loss, not the direction to the nearest boundary."))
    if split.clip_values is not None:
        lo, hi = split.clip_values
        st.info(f"The features are clipped to [{lo:g}, {hi:g}] for the attacks, but the exact curve ignores "
                "clipping; where clipping stops a perturbation, attacks can lie above the exact curve for that "
                "reason too.", icon=":material/content_cut:")
    distances = exact_distances(sample, model, norm)
    st.plotly_chart(build_distance_histogram(distances, norm, eps_max), width="stretch", key="rb_hist")
    st.caption("Each correctly classified test point's exact distance to misclassification; the exact curve at "
               "epsilon is the share of test points whose distance exceeds it.")
else:
    st.caption(f"No exact curve: {model_spec.a_name} is not linear, so its minimal perturbations have no "
               "closed form; the lowest curve is only the best attack found so far.")
