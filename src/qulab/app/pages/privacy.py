"""Privacy: what a trained model gives away about its training rows, and what the mitigations buy back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import streamlit as st

from qulab.app import own_model
from qulab.app import state as dc
from qulab.app import widgets as lw
from qulab.app.caches import PRIVACY_COMPARISONS, PRIVACY_OUTCOMES, PRIVACY_TARGETS
from qulab.app.running import Run, bounded, cached, held
from qulab.app.saving import save_privacy
from qulab.app.widgets import param_widget
from qulab.core.experiment import freeze
from qulab.core.registry import InvalidInput
from qulab.core.threat import WHITE_BOX
from qulab.core.wording import accuracy_text, number_text
from qulab.figures.privacy import (
    build_accuracy_vs_epsilon,
    build_advantage_vs_epsilon,
    build_gap_vs_advantage,
    build_roc,
)
from qulab.models.registry import MODELS
from qulab.threats.privacy.attacks import MEMBERSHIP, PRIVACY_ATTACKS, PrivacyAttackSpec
from qulab.threats.privacy.experiment import PrivacyScenario
from qulab.threats.privacy.mitigations import PRIVACY_DEFENCES, dp_bound
from qulab.threats.privacy.run import (
    PrivacyOutcome,
    attack_reason,
    attack_target,
    build_target,
    check_data,
    dp_sweep,
    family_sweep,
    regularised_comparison,
    regulariser_for,
    sweep_defence,
)

NO_DEFENCE = "none"
DP_GRID = (0.5, 1.0, 2.0, 4.0, 8.0)
# The page's address keys (parameters under "<key>.<parameter>"): its own, since the other Lab pages read "model",
# "attack" and "defence" as an evasion experiment's (and refuse a model without gradients for their default attack).
MODEL_URL, ATTACK_URL, DEFENCE_URL = "target_model", "privacy_attack", "mitigation"


def threat_tags(spec: PrivacyAttackSpec) -> str:
    """The attack's threat model as small badges: knowledge, what it reads, class and stage."""
    knowledge = "blue" if spec.knowledge == WHITE_BOX else "orange"
    return " ".join([f":{knowledge}-badge[{spec.knowledge}]", f":violet-badge[needs {spec.access}]",
                     f":red-badge[NIST {spec.threat.nist_class}]", f":gray-badge[at {spec.threat.stage}]"])


def only_current_params(owner: str, params: dict[str, Any]) -> None:
    """Drop from the address the parameters under ``owner`` that the shown entry does not have (another model's,
    attack's or mitigation's), so a copied link names only what the page shows."""
    for key in [key for key in st.query_params if key.startswith(owner + ".")
                and key.partition(".")[2] not in params]:
        del st.query_params[key]


def outcome_metrics(outcome: PrivacyOutcome, container: Any = st) -> None:
    """The model's accuracies, the attack's own metrics and, under DP, ε and the bound."""
    gap = outcome.generalisation_gap
    cols = container.columns(3)
    cols[0].metric("Training accuracy", accuracy_text(outcome.train_accuracy), help="Accuracy on the members.")
    cols[1].metric("Test accuracy", accuracy_text(outcome.test_accuracy), help="Accuracy on the non-members.")
    cols[2].metric("Generalisation gap", accuracy_text(gap), help="Training − test accuracy: what the gap attack "
                   "turns into membership advantage.")
    shown = outcome.result.metrics()
    for row in range(0, len(shown), 4):
        cols = container.columns(4)
        for col, metric in zip(cols, shown[row:row + 4], strict=False):
            col.metric(metric.label, metric.value, help=metric.help)
    if outcome.epsilon is not None:
        accountant = PRIVACY_DEFENCES.get(outcome.scenario.defence).accountant
        cols = container.columns(3)
        cols[0].metric("ε (accountant)", number_text(outcome.epsilon), help=f"What {accountant} reports for this "
                       "training run.")
        cols[1].metric("δ", f"{outcome.delta:g}")
        cols[2].metric("Advantage bound", accuracy_text(outcome.bound), help="(e^ε − 1 + 2δ)/(e^ε + 1): no "
                       "membership attack on an (ε, δ)-DP model can do better.")


st.title("Privacy")
st.markdown("What does a trained model give away about the rows it was trained on? Pick a model, an attack and, "
            "if you like, a mitigation: the **members** are the training rows, the **non-members** the test rows "
            "(set the test share on the Data Sets page; 50 % gives as many of each).")

lab = lw.data_in_use()
if lab is None:
    st.stop()

model_col, attack_col, defence_col = st.columns(3, gap="large")
with model_col:
    st.subheader("Model", divider="gray")
    model_spec, model_params = own_model.model_choice(lab, "pv", url=MODEL_URL)
    if model_spec.from_file:
        st.caption("The members are the training part of the data in use and the non-members its test part (Data "
                   "Sets page): the numbers mean what they say only if the model was trained on exactly those "
                   "training rows.")

with defence_col:
    st.subheader("Mitigation", divider="gray")
    # A model file is attacked as it is released: a mitigation retrains or hardens a model QuLab trains.
    defence_reasons = {} if model_spec.from_file else {d.name: d.unsupported_reason(model_spec)
                                                       for d in PRIVACY_DEFENCES}
    defence_names = [NO_DEFENCE, *defence_reasons]
    if model_spec.from_file:
        st.caption("None: a model file is attacked as it is released, and the mitigations retrain or harden a "
                   "model QuLab trains.")
    defence_name = lw.kept_widget(lambda k: st.selectbox(
        "Mitigation", defence_names, key=k, help="Re-trains or hardens the model; the attack then runs against it.",
        format_func=lambda n: "None" if n == NO_DEFENCE else PRIVACY_DEFENCES.get(n).label
        + (" (unavailable)" if defence_reasons[n] else "")), "pv_defence", NO_DEFENCE,
        lambda n: n if n in defence_names else NO_DEFENCE, dc.UrlKey(DEFENCE_URL))
    defence = None if defence_name == NO_DEFENCE else PRIVACY_DEFENCES.get(defence_name)
    defence_params: dict[str, Any] = {}
    if defence is not None:
        st.caption(f"{defence.description} *Bounds or hides:* {defence.protects}")
        st.caption(f"Reference: {defence.reference}")
        for param in defence.params:
            defence_params[param.name] = param_widget(param, key=f"pv_{defence.name}_{param.name}",
                                                      url=f"{DEFENCE_URL}.{param.name}")

reasons = {a.name: attack_reason(a, model_spec, defence, lab.split) for a in PRIVACY_ATTACKS}
with attack_col:
    st.subheader("Attack", divider="gray")
    attack_name = lw.kept_widget(lambda k: st.selectbox(
        "Attack", PRIVACY_ATTACKS.names(), key=k, help="Privacy attacks from ART and the literature; the tags show "
        "each one's threat model.",
        format_func=lambda a: PRIVACY_ATTACKS.get(a).label + (" (unavailable)" if reasons[a] else "")),
        "pv_attack", PRIVACY_ATTACKS.names()[0],
        lambda a: a if a in reasons else PRIVACY_ATTACKS.names()[0], dc.UrlKey(ATTACK_URL))
    spec = PRIVACY_ATTACKS.get(attack_name)
    st.caption(spec.description)
    st.markdown(threat_tags(spec))
    st.caption(f"Paper: {spec.paper}")
    attack_params: dict[str, Any] = {}
    if spec.params:
        with st.expander("Attack settings", expanded=False):
            for param in spec.params:
                attack_params[param.name] = param_widget(param, key=f"pv_{attack_name}_{param.name}",
                                                         url=f"{ATTACK_URL}.{param.name}")
    unavailable = [(PRIVACY_ATTACKS.get(name).label, reason) for name, reason in reasons.items() if reason]
    if unavailable:
        with st.expander(f"Unavailable here ({len(unavailable)} of {len(reasons)} attacks)", expanded=False):
            st.markdown("\n".join(f"- **{label}**{lw.md(reason[len(label):])}" if reason.startswith(label)
                                   else f"- **{label}**: {lw.md(reason)}" for label, reason in unavailable))
for owner, shown in ((MODEL_URL, model_params), (ATTACK_URL, attack_params), (DEFENCE_URL, defence_params)):
    only_current_params(owner, shown)

if defence is not None and defence_reasons[defence.name]:
    st.info(f"**{defence.label} is unavailable here.** {defence_reasons[defence.name]}", icon=":material/block:")
    st.stop()
if reasons[attack_name]:
    st.info(f"**{spec.label} is unavailable here.** {reasons[attack_name]}", icon=":material/block:")
    st.stop()

choice = lab.choice
with lw.refusal_shown():
    scenario = PrivacyScenario(
        dataset=choice.name, dataset_params=choice.params, scaling=choice.scaling, seed=choice.seed,
        test_size=choice.test_size, model=model_spec.name, model_params=freeze(model_params), attack=attack_name,
        attack_params=freeze(attack_params), defence=None if defence is None else defence.name,
        defence_params=freeze(defence_params)).validate()
    check_data(scenario, lab.split)

split = lab.split


def run(scenario: PrivacyScenario) -> PrivacyOutcome:
    """The scenario's outcome, from the page's caches: a target is trained once for all attacks on it."""
    def compute(progress: Run) -> PrivacyOutcome:
        progress(0.05, f"Reading {model_spec.label}" if model_spec.from_file else f"Training {model_spec.a_name}")
        target = PRIVACY_TARGETS.get_or_compute(scenario.target_key, lambda: build_target(scenario, split),
                                                waiting=progress.check)
        attack = PRIVACY_ATTACKS.get(scenario.attack)
        progress(0.4, f"Running {attack.label}")
        return attack_target(scenario, split, target,
                             lambda done, text: progress(0.4 + 0.6 * done, f"{attack.label}: {text}"))

    return bounded(st.empty(), "pv_run", cached(PRIVACY_OUTCOMES, scenario, compute), experiment=scenario,
                   label="Running the experiment",
                   what=PRIVACY_ATTACKS.get(scenario.attack).label, hint="a quicker model or a smaller data set is "
                   "faster")


try:
    outcome = run(scenario)
except InvalidInput as error:
    st.error(lw.md(str(error)), icon=":material/error:")
    st.stop()
except Exception as error:  # noqa: BLE001 — an attack failing on odd data must leave the page working
    st.error(f"{spec.label} failed on this model and data: {lw.md(str(error).strip().splitlines()[0])}",
             icon=":material/error:")
    st.stop()
save_privacy(scenario, outcome)

st.subheader("Results", divider="gray")
outcome_metrics(outcome)
for note in getattr(outcome.result, "notes", ()):
    st.caption(note)
st.caption(f"Attack {outcome.attack_seconds:.2f} s." if model_spec.from_file else
           f"Training {outcome.fit_seconds:.2f} s, attack {outcome.attack_seconds:.2f} s.")
for i, view in enumerate(spec.figures(outcome.result)):
    st.markdown(f"**{view.title}**")
    st.plotly_chart(view.figure, width="stretch", key=f"pv_figure_{i}")
    st.caption(view.caption)

if spec.kind != MEMBERSHIP:
    st.stop()
if model_spec.from_file:
    st.caption("The comparisons (regularised, differentially private, other model families) retrain the model, "
               "which a model file cannot be: they are shown for the models QuLab trains.")
    st.stop()

# ---------------------------------------------------------------------------------------------------------------
# Comparisons: each trains several models, so each waits for its button and is kept once computed

st.subheader("Comparisons", divider="gray")
# Keyed, so the open tab stays open when its button reruns the page (unkeyed, Chromium showed the first tab again).
regularised_tab, dp_tab, family_tab = st.tabs(["As trained vs regularised", "Advantage against ε",
                                               "Gap against advantage, by model family"], key="pv_comparisons")


def comparison(tab: Any, key: tuple, button: str, label: str, compute: Callable[..., Any]) -> Any:
    """The kept result, else a button that computes it under a progress bar naming each step; None until then."""
    run_key = f"pv_{key[0]}"
    if key not in PRIVACY_COMPARISONS and not held(run_key, key) and not tab.button(button, key=f"pv_button_{key[0]}"):
        return None
    with tab:
        try:
            return bounded(st.empty(), run_key, cached(PRIVACY_COMPARISONS, key, compute), experiment=key,
                           label=label,
                           words=lambda text: f"{label}: {text}", what=f"{label} for the comparison",
                           hint="a smaller data set is faster", stop_page=False)
        except InvalidInput as error:
            st.error(lw.md(str(error)), icon=":material/error:")
        except Exception as error:  # noqa: BLE001 — see above
            st.error(f"The comparison failed: {lw.md(str(error).strip().splitlines()[0])}", icon=":material/error:")
    return None


plain = replace(scenario, defence=None, defence_params=())
regulariser = regulariser_for(model_spec)
with regularised_tab:
    if regulariser is None:
        st.info(f"{model_spec.label} has no regularisation or early stopping here to compare with.")
    else:
        st.caption(f"The same attack on the model as trained and with {regulariser.label.lower()} "
                   f"({regulariser.description[0].lower() + regulariser.description[1:]})")
        pair = comparison(regularised_tab, ("regularised", plain), f"Compare with {regulariser.label.lower()}",
                          "Training both models", lambda progress: regularised_comparison(plain, split, progress))
        if pair is not None:
            left, right = st.columns(2, gap="large")
            for column, title, shown in ((left, "As trained", pair[0]), (right, regulariser.label, pair[1])):
                with column:
                    st.markdown(f"**{title}**")
                    outcome_metrics(shown, column)
            st.plotly_chart(build_roc({"as trained": pair[0].result.roc, regulariser.label.lower(): pair[1].result.roc},
                                      pair[0].result.n_nonmembers), width="stretch", key="pv_pair_roc")

dp = sweep_defence(scenario)
with dp_tab:
    if dp is None:
        # The reasons of the DP mitigations that are no one model's private version (DP-SGD's names what has one).
        st.info(" ".join(d.unsupported_reason(model_spec) for d in PRIVACY_DEFENCES
                         if d.differentially_private and d.private_version_of is None)
                or f"{model_spec.label} has no differentially private mitigation here.")
    else:
        st.caption(f"{spec.label} against models trained with {dp.label.lower()} at ε "
                   f"{', '.join(f'{e:g}' for e in DP_GRID)} (its other settings as in the Mitigation column when it "
                   "is chosen there; choose another DP mitigation there to sweep that one). Every point must lie "
                   "under the bound: that is what differential privacy promises.")
        base = scenario if scenario.defence == dp.name else plain
        sweep = comparison(dp_tab, ("dp", base), "Sweep ε", "Training DP models",
                           lambda progress: (dp_sweep(base, DP_GRID, split, progress),
                                             attack_target(plain, split, build_target(plain, split))))
        if sweep is not None:
            points, undefended = sweep
            epsilons = [p.epsilon for p in points]
            delta = points[0].delta
            st.plotly_chart(build_advantage_vs_epsilon(epsilons, [p.result.advantage for p in points], delta,
                                                       f"{spec.label}, {dp.label.lower()}", dp.accountant),
                            width="stretch", key="pv_dp_advantage")
            above = [p for p in points if p.result.advantage > dp_bound(p.epsilon, p.delta)]
            st.caption(f"Without DP the advantage is {accuracy_text(undefended.result.advantage)}. "
                       + ("Every measured point lies under the bound." if not above else
                          f"{len(above)} point(s) lie above the bound: the accountant's ε would be wrong."))
            st.plotly_chart(build_accuracy_vs_epsilon(epsilons, [p.train_accuracy for p in points],
                                                      [p.test_accuracy for p in points],
                                                      (undefended.train_accuracy, undefended.test_accuracy),
                                                      dp.accountant),
                            width="stretch", key="pv_dp_accuracy")
            st.caption("Accuracy bought back as ε grows: the price of the guarantee.")

with family_tab:
    st.caption(f"{spec.label} on every model family it runs on, each with its default settings, on these data: "
               "the further a model over-fits (its gap), the more it leaks.")
    families = comparison(family_tab, ("families", plain), "Compare model families", "Training each family",
                          lambda progress: family_sweep(plain, split, progress))
    if families is not None:
        st.plotly_chart(build_gap_vs_advantage([MODELS.get(o.scenario.model).label for o in families],
                                               [o.generalisation_gap for o in families],
                                               [o.result.advantage for o in families]), width="stretch",
                        key="pv_families")
        st.dataframe([{"model": MODELS.get(o.scenario.model).label, "gap": round(o.generalisation_gap, 3),
                       "advantage": round(o.result.advantage, 3), "AUC": round(o.result.auc, 3)}
                      for o in families], hide_index=True)
