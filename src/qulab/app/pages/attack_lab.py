"""Attack Lab: any model from the registry against any attack it supports, on the data chosen on Data Sets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from qulab.app import own_model, saving
from qulab.app import state as dc
from qulab.app import widgets as lw
from qulab.app.downloads import saved_report_download
from qulab.app.running import bounded, held
from qulab.app.widgets import param_widget
from qulab.core.experiment import freeze
from qulab.core.registry import InvalidInput
from qulab.core.wording import accuracy_text, number_text
from qulab.evaluation.lab import PILOT_POINTS, confidences, decision_plane, eps_range, gallery_indices
from qulab.figures.evasion import build_decision_map, build_image_gallery
from qulab.threats.evasion.attacks import ATTACKS

RUNS_KEY = "qulab.evaluation.lab.runs"  # (scenario, n) pairs this session has run: shown without a pilot
MAX_REMEMBERED_RUNS = 128
LINK_APPLIED_KEY = "qulab.evaluation.lab.link_applied"  # the link's attack is set once per session

st.title("Attack Lab")
st.markdown("Pick a model and an attack from QuLab's registries, set the budget, and see how much of the test "
            "set survives. Attacks the model cannot support are marked *(unavailable)*, with the reason.")

lab = lw.data_in_use()
if lab is None:
    st.stop()

# A link that names a model or an attack (?model=torch_mlp&attack=pgd&norm=2&eps=0.5&attack.max_iter=10) sets the
# page's first choices; its budget and attack settings are the widgets' starting values while that attack is shown.
link = dc.link()  # its model is set by the model picker
if link is not None and not st.session_state.get(LINK_APPLIED_KEY):
    st.session_state[LINK_APPLIED_KEY] = True
    if "attack" in link.named:
        st.session_state["al_attack"] = link.scenario.attack
        st.session_state[f"al_norm_{link.scenario.attack}"] = link.scenario.norm

model_col, attack_col = st.columns(2, gap="large")
with model_col:
    st.subheader("Model", divider="gray")
    model_spec, model_params = own_model.model_choice(lab, "al")
    n = lw.sample_size(lab, "al_sample")

reasons = lw.attack_reasons(model_spec, lab)
with attack_col:
    st.subheader("Attack", divider="gray")
    attack_name = lw.kept_widget(lambda k: st.selectbox(
        "Attack", ATTACKS.names(), key=k,
        format_func=lambda a: ATTACKS.get(a).label + (" (unavailable)" if reasons[a] else ""),
        help="ART's evasion attacks; the tags below show each one's threat model."),
        "al_attack", ATTACKS.names()[0], lambda a: lw.available_after_model_change(a, model_spec, reasons, "al"))
    spec = ATTACKS.get(attack_name)
    st.caption(spec.description)
    st.markdown(lw.threat_tags(spec))
    if spec.reference:
        st.caption(f"Reference: {spec.reference}")

if reasons[attack_name]:  # the address still names the pair, so a copied link opens on the same message
    dc.sync_link(lab.scenario(model=model_spec.name, model_params=freeze(model_params), attack=attack_name))
    st.info(f"**{spec.label} is unavailable here.** {reasons[attack_name]}", icon=":material/block:")
    st.stop()

with attack_col:
    norm = lw.norm_picker(spec.norms, f"al_norm_{attack_name}",
                          help="The norm the budget is measured in; only the norms this attack supports.")
    linked = link.scenario if link is not None and "attack" in link.named else None
    start = linked.eps if linked is not None and linked.norm == norm else None
    high = eps_range(norm, lab.split.X_test.shape[1]).high
    if start is not None and start > high:
        st.error(f"The link's budget {start:g} is beyond this page's {lw.norm_label(norm)} range (at most "
                 f"{high:g}); the slider starts at its default.", icon=":material/link_off:")
        start = None
    eps = lw.eps_slider(lab, norm, "al_eps", start=start)
    if spec.minimal:
        st.caption("A minimal attack looks for the smallest change that flips the prediction; it counts as a "
                   "success only when that change is within epsilon, and a point whose change is larger keeps "
                   "its clean value (perturbation 0).")
    attack_params = {}
    if spec.params:
        with st.expander("Attack settings", expanded=False):
            given = dict(linked.attack_params) if linked is not None and linked.attack == attack_name else {}
            for param in spec.params:
                attack_params[param.name] = param_widget(replace(param, default=given.get(param.name, param.default)),
                                                         key=f"al_{attack_name}_{param.name}")

try:  # checked like every experiment, so a refusal shows as its sentence and never runs
    scenario = lab.scenario(model=model_spec.name, model_params=freeze(model_params), attack=attack_name,
                            eps=eps, norm=norm, attack_params=freeze(attack_params)).validate()
except InvalidInput as error:
    st.error(lw.md(str(error)), icon=":material/error:")
    st.stop()
dc.sync_link(scenario)
trained = lw.fitted(lab, scenario)
if trained is None:
    st.stop()
split, model = trained

runs: dict = st.session_state.setdefault(RUNS_KEY, {})
key = (scenario, n)
estimate = None
prompt = st.empty()  # the timing, the estimate and the button, gone once the run starts
if key not in runs and n > 3 * PILOT_POINTS:
    with prompt.container():
        estimate = bounded(st.empty(), "al_pilot", lambda progress: lw.estimate_run(scenario, n, lab.data, progress),
                           experiment=key, label=f"Timing {spec.label} on a few points…",
                           what=f"Timing {spec.label} on a few points", hint="fewer iterations are faster")
        timed = f": about {estimate:.1f} s for {n} points" if estimate is not None else ""
        st.status(f"Timed {spec.label} on a few points{timed}", state="complete", expanded=False)
        if estimate is None:  # the pilot failed: the full run would fail the same way, only later
            st.error(lw.lab_run(scenario, PILOT_POINTS, lab.data).error, icon=":material/error:")
            st.stop()
        if estimate > lw.AUTO_RUN_SECONDS and not held("al_run", key):
            st.info(f"{spec.label} on {n} test points should take about **{estimate:.0f} s** (from earlier runs "
                    "of the same kind, else timed on a few points, scaled to the points). Fewer test points or "
                    "fewer iterations make it faster.", icon=":material/timer:")
            if not st.button(f"Run {spec.label} on {n} points", type="primary", key="al_run"):
                st.stop()
prompt.empty()

about = f", about {estimate:.0f} s" if estimate is not None and estimate >= 1 else ""
run = bounded(st.empty(), "al_run", lambda progress: lw.timed_lab_run(scenario, n, lab.data, progress),
              experiment=key, label=f"Running {spec.label} on {n} test points{about}…",
              words=lambda text: f"{text} ({n} test points{about})", what=f"{spec.label} on {n} test points",
              hint="fewer test points or fewer iterations are faster")
runs[key] = True  # finished: shown again without a pilot (a stopped run asks for its button again)
while len(runs) > MAX_REMEMBERED_RUNS:
    del runs[next(iter(runs))]
if run.outcome is not None:
    estimated = f" (estimated {estimate:.2f} s)" if estimate is not None else ""
    st.status(f"{spec.label} on {n} test points took {run.outcome.seconds:.2f} s{estimated}", state="complete",
              expanded=False)
else:
    st.status(f"{spec.label} failed", state="error", expanded=False)

if run.outcome is None:
    st.error(run.error, icon=":material/error:")
    st.stop()

outcome = run.outcome
saved = saving.save_attack(scenario, split, model, outcome)
summary = outcome.summary()
st.subheader("Results", divider="gray")
for note in outcome.notes:
    st.warning(note, icon=":material/info:")
cols = st.columns(4)
cols[0].metric("Clean accuracy", accuracy_text(summary['clean_accuracy']), help="Accuracy on the attacked test points "
               "before the attack.")
cols[1].metric("Adversarial accuracy", accuracy_text(summary['adversarial_accuracy']),
               delta=f"{summary['adversarial_accuracy'] - summary['clean_accuracy']:+.3f}",
               help="Accuracy on the same points after the attack.")
cols[2].metric("Attack success rate", accuracy_text(summary['attack_success_rate']),
               help="Share of correctly classified points that the attack turned into errors.")
cols[3].metric("Predictions flipped", f"{summary['flipped']} of {summary['n_test']}")
cols = st.columns(5)
cols[0].metric("Median L∞ perturbation", number_text(summary['median_linf']))
cols[1].metric("Max L∞ perturbation", number_text(summary['max_linf']))
cols[2].metric("Median L2 perturbation", number_text(summary['median_l2']))
cols[3].metric("Max L2 perturbation", number_text(summary['max_l2']))
cols[4].metric("Attack time", f"{summary['seconds']:.2f} s")
st.caption(f"{n} of {len(split.y_test)} test points attacked, against their true labels, with "
           f"{spec.label} at eps = {eps:g} ({lw.norm_label(norm)}). The perturbation sizes include points the "
           "attack left unchanged (size 0).")
saved_report_download(saved, "al_report")

plane = decision_plane(model.predict, split.X_train, outcome.X_test, outcome.X_adv, split.feature_names,
                       split.clip_values)
st.plotly_chart(build_decision_map(plane, outcome.pred_clean, outcome.pred_adv, split.class_names),
                width="stretch", key="al_map")
st.caption(f"The plane is {plane.description}. The background colour is the class the model predicts there; "
           "circles are clean test points, crosses their adversarial versions (colour = predicted class), "
           "dark segments mark points whose prediction the attack changed (at most 150 points shown).")

if split.image_shape is not None:
    idx = gallery_indices(outcome.pred_clean, outcome.pred_adv, outcome.y_test)
    names = [str(c) for c in split.class_names]
    st.plotly_chart(build_image_gallery(
        outcome.X_test[idx], outcome.X_adv[idx], split.image_shape,
        [names[k] for k in outcome.pred_clean[idx]], [names[k] for k in outcome.pred_adv[idx]],
        [names[k] for k in outcome.y_test[idx]], confidences(model.estimator, outcome.X_test[idx]),
        confidences(model.estimator, outcome.X_adv[idx]), split.clip_values), width="stretch", key="al_gallery")
    fooled = (outcome.pred_clean[idx] == outcome.y_test[idx]) & (outcome.pred_adv[idx] != outcome.y_test[idx])
    shown = int(np.sum(fooled))
    st.caption(f"{shown} of these {len(idx)} examples were fooled. The middle row shows the change on its own "
               "colour scale (± its largest value), so even small perturbations are visible; the titles give the "
               "predicted class" + (" and the model's confidence." if confidences(model.estimator, outcome.X_test[:1])
                                    is not None else "; this model gives no probabilities."))
