"""Poisoning: the attacker writes into part of the training data; the clean model, the poisoned one, a detector."""

from __future__ import annotations

import numpy as np
import streamlit as st

from qulab.app import state as dc
from qulab.app import widgets as lw
from qulab.app.caches import POISON_CURVES, POISON_OUTCOMES
from qulab.app.running import bounded, cached, held
from qulab.app.saving import save_poisoning, save_rate_curve
from qulab.app.widgets import kept_widget, param_widget
from qulab.core.experiment import freeze
from qulab.core.registry import InvalidInput
from qulab.core.wording import accuracy_text
from qulab.data.projection import view_2d
from qulab.figures.poisoning import build_rate_figure, build_score_figure, build_training_view, build_trigger_gallery
from qulab.threats.poisoning.attacks import POISONING_ATTACKS
from qulab.threats.poisoning.defences import POISONING_DEFENCES
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.poisoning.run import rate_curve, run_poisoning

NO_DEFENCE = "none"
UNTARGETED = -1
MAX_SHOWN = 1500  # training points drawn in the 2-D view
GALLERY = 6

LINK_READ_KEY = "qulab.poisoning.link_read"
# Scenario key → URL key (also as a parameter prefix). The other Lab pages read "model", "attack" and "defence" as
# an evasion experiment (and refuse a model without gradients for their default attack), so this page has its own.
URL_NAMES = {"model": "victim", "attack": "poison", "defence": "detector"}
OWN_KEYS = ("model", "attack", "rate", "target_class", "defence")


def _to_url(key: str) -> str:
    owner, dot, name = key.partition(".")
    return URL_NAMES.get(owner, owner) + dot + name


def _from_url(key: str) -> str:
    owner, dot, name = key.partition(".")
    return {url: own for own, url in URL_NAMES.items()}.get(owner, owner) + dot + name


def _poisoning_key(url_key: str) -> bool:
    return _from_url(url_key).partition(".")[0] in OWN_KEYS


def _apply_link(named: PoisoningScenario, data: str) -> None:
    """Set the widgets' starting values from a linked scenario."""
    state = st.session_state
    state["po_model"] = named.model
    state.update({f"po_{named.model}_{name}": value for name, value in named.model_params})
    state["po_attack"], state["po_rate"] = named.attack, named.rate
    state[f"po_target_{named.attack}_{data}"] = UNTARGETED if named.target_class is None else named.target_class
    state.update({f"po_{named.attack}_{name}": value for name, value in named.attack_params})
    state["po_defence"] = named.defence or NO_DEFENCE
    state.update({f"po_{named.defence}_{name}": value for name, value in named.defence_params})


def _sync_url(scenario: PoisoningScenario) -> None:
    """Write the poisoning part of the experiment into the URL (defaults left out), so a link reproduces it."""
    wanted = {_to_url(key): value for key, value in scenario.query_params().items()
              if key.partition(".")[0] in OWN_KEYS}
    for key in [key for key in st.query_params if _poisoning_key(key) and key not in wanted]:
        del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


st.title("Poisoning")
st.markdown("The attacker controls part of the **training data** (NIST AI 100-2: poisoning, at training time). "
            "Flip labels to wreck accuracy, or plant a **backdoor**: a trigger the model learns to obey while it "
            "stays accurate on clean inputs. Then let a detector look for the poison and retrain without it.")

lab = lw.data_in_use()
if lab is None:
    st.stop()
split = lab.split

# A link names the poisoning part of the experiment as ?victim=decision_tree&poison=backdoor&rate=0.2&target_class=3
# &poison.trigger=pixel&detector=knn_cleaning&detector.k=5 (the data keys are the Data Sets page's). Applied once
# per session, before the widgets are drawn.
if not st.session_state.get(LINK_READ_KEY) and not lab.choice.is_upload:
    st.session_state[LINK_READ_KEY] = True
    query = st.query_params.to_dict()
    linked = {_from_url(key): value for key, value in query.items() if _poisoning_key(key)}
    if linked:
        try:
            named = PoisoningScenario.from_query({**dc.query_from_choice(lab.choice), **linked}, strict=False)
        except InvalidInput as error:
            st.error(f"The link's poisoning settings were not applied: {lw.md(str(error))}",
                     icon=":material/link_off:")
        else:
            _apply_link(named, lab.choice.name)

model_col, attack_col, defence_col = st.columns(3, gap="large")
with model_col:
    st.subheader("Model", divider="gray")
    model_spec, model_params = lw.model_picker(lab, "po")

images = lab.images
reasons = {a.name: a.unsupported_reason(model_spec, split.n_classes, images) for a in POISONING_ATTACKS}
with attack_col:
    st.subheader("Attack", divider="gray")
    attack_name = kept_widget(lambda k: st.selectbox(
        "Poisoning attack", POISONING_ATTACKS.names(), key=k,
        format_func=lambda a: POISONING_ATTACKS.get(a).label + (" (unavailable)" if reasons[a] else ""),
        help="What the attacker does to the training data."), "po_attack", POISONING_ATTACKS.names()[0],
        lambda a: a if a in POISONING_ATTACKS else POISONING_ATTACKS.names()[0])
    attack = POISONING_ATTACKS.get(attack_name)
    st.caption(attack.description)
    threat = attack.threat
    st.markdown(f":{'orange' if threat.knowledge != 'white-box' else 'blue'}-badge[{threat.knowledge}] "
                f":violet-badge[writes into the {' and reads '.join(sorted(threat.access))}] "
                f":gray-badge[stage: {threat.stage}] :red-badge[NIST {threat.nist_class}]")
    st.caption(f"Reference: {attack.reference}")
    rate = float(kept_widget(lambda k: st.slider(
        "Poison rate", 0.0, 1.0, step=0.01, key=k,
        help="The share of the training set the attacker writes into: round(rate × training points) points."),
        "po_rate", 0.1))
    classes = [UNTARGETED, *range(split.n_classes)]  # a selectbox reads None as "nothing chosen"
    chosen = kept_widget(lambda k: st.selectbox(
        "Target class", classes, key=k,
        format_func=lambda c: "none (untargeted)" if c == UNTARGETED else f"{c}: {split.class_names[c]}",
        help="The class a targeted flip or a backdoor aims at: triggered inputs should end up there."),
        f"po_target_{attack_name}_{lab.choice.name}", 0 if attack.needs_target else UNTARGETED,  # per attack, data
        lambda c: c if c in classes and (c != UNTARGETED or not attack.needs_target) else classes[1])
    target = None if chosen == UNTARGETED else int(chosen)
    attack_params = {}
    if attack.params:
        with st.expander("Attack settings"):
            for param in attack.params:
                attack_params[param.name] = param_widget(param, key=f"po_{attack_name}_{param.name}")

with defence_col:
    st.subheader("Defence", divider="gray")
    defence_names = [NO_DEFENCE, *POISONING_DEFENCES.names()]
    defence_name = kept_widget(lambda k: st.selectbox(
        "Detector", defence_names, key=k,
        format_func=lambda d: "No defence" if d == NO_DEFENCE else POISONING_DEFENCES.get(d).label,
        help="Flags suspect training points; the model is retrained without them."), "po_defence", NO_DEFENCE,
        lambda d: d if d in defence_names else NO_DEFENCE)
    defence = None if defence_name == NO_DEFENCE else POISONING_DEFENCES.get(defence_name)
    defence_params = {}
    if defence is not None:
        st.caption(defence.description)
        st.caption(f"Protects against: {defence.protects_against} Reference: {defence.reference}")
        for param in defence.params:
            defence_params[param.name] = param_widget(param, key=f"po_{defence_name}_{param.name}")

if reasons[attack_name]:
    st.info(f"**{attack.label} is unavailable here.** {reasons[attack_name]}", icon=":material/block:")
    st.stop()

with lw.refusal_shown():
    base = lab.scenario()
    scenario = PoisoningScenario(
        dataset=base.dataset, dataset_params=base.dataset_params, scaling=base.scaling, seed=base.seed,
        test_size=base.test_size, model=model_spec.name, model_params=freeze(model_params), attack=attack_name,
        attack_params=freeze(attack_params), rate=rate, target_class=target,
        defence=None if defence is None else defence_name, defence_params=freeze(defence_params)).validate()
    reason = attack.target_reason(target, split.class_names)
    if reason:
        raise InvalidInput(reason)

_sync_url(scenario)
clean = scenario.clean_scenario()
trained = lw.fitted(lab, clean)
if trained is None:
    st.stop()


own_split, clean_model = trained


def _run(progress) -> object:
    return run_poisoning(scenario, lab.data, split=own_split, clean_model=clean_model, progress=progress)


try:
    outcome = bounded(st.empty(), "po_run", cached(POISON_OUTCOMES, scenario, _run), experiment=scenario,
                      label="Poisoning…",
                      what=f"{attack.label} at rate {rate:g}", hint="a quicker model or a smaller data set is faster")
except InvalidInput as error:
    st.error(lw.md(str(error)), icon=":material/error:")
    st.stop()
except Exception as error:  # noqa: BLE001 — a library failing on odd data must leave the page working
    st.error(f"{attack.label} failed on this model and data: {lw.md(str(error).splitlines()[0] if str(error) else '')}",
             icon=":material/error:")
    st.stop()
save_poisoning(scenario, outcome)

# ---------------------------------------------------------------------------------------------------------
# Results

st.subheader("Results", divider="gray")
summary = outcome.summary()
for note in outcome.notes:
    st.warning(note, icon=":material/info:")
cols = st.columns(4)
cols[0].metric("Clean model's accuracy", accuracy_text(outcome.clean_accuracy),
               help="The model trained on the clean training set, on the clean test set.")
cols[1].metric("Poisoned model's accuracy", accuracy_text(outcome.poisoned_accuracy),
               delta=f"{outcome.poisoned_accuracy - outcome.clean_accuracy:+.3f}",
               help="The same model trained on the poisoned training set, on the same clean test set.")
cols[2].metric("Points poisoned", f"{outcome.n_poisoned} of {outcome.n_train}",
               help="round(rate × training points).")
if outcome.poisoned.is_backdoor:
    cols[3].metric("Attack success rate", accuracy_text(outcome.attack_success_rate),
                   help="Triggered test inputs whose true class is not the target that the poisoned model assigns "
                        f"to the target. The clean model on the same inputs: {outcome.clean_attack_success_rate:.3f}.")


def _shown(value: float | None) -> str:
    return "—" if value is None else accuracy_text(value)


if outcome.flagged is not None:
    cols = st.columns(4)
    cols[0].metric("Detection precision", _shown(outcome.detection_precision),
                   help="Share of the flagged points that the attacker wrote (— when nothing was flagged).")
    cols[1].metric("Detection recall", _shown(outcome.detection_recall),
                   help="Share of the attacker's points that were flagged (— when nothing was poisoned).")
    cols[2].metric("Defended accuracy", _shown(outcome.defended_accuracy),
                   delta=f"{outcome.defended_accuracy - outcome.poisoned_accuracy:+.3f}",
                   help=f"Retrained without the {len(outcome.flagged.indices)} flagged points; the change is against "
                        "the poisoned model.")
    if outcome.poisoned.is_backdoor:
        cols[3].metric("Defended attack success rate", _shown(outcome.defended_attack_success_rate),
                       delta=f"{outcome.defended_attack_success_rate - outcome.attack_success_rate:+.3f}",
                       delta_color="inverse")
st.caption(f"{attack.label} at rate {rate:g} took {outcome.seconds:.2f} s with the {model_spec.in_text}"
           + (f" and {defence.label}" if defence else "") + ".")

poisoned_mask = np.isin(np.arange(len(outcome.poisoned.y_train)), outcome.poisoned.indices)
flagged_mask = None if outcome.flagged is None else np.isin(np.arange(len(poisoned_mask)), outcome.flagged.indices)
left, right = st.columns(2, gap="large")
with left:
    st.markdown("**The training data as the model saw it**")
    shown = np.sort(np.random.default_rng(scenario.seed).permutation(len(poisoned_mask))[:MAX_SHOWN])
    shown = np.union1d(shown, np.flatnonzero(poisoned_mask))  # every poisoned point is drawn
    coords, titles, sentence = view_2d(outcome.poisoned.X_train[shown], split.feature_names, scenario.seed)
    st.plotly_chart(build_training_view(coords, titles, outcome.poisoned.y_train[shown], poisoned_mask[shown],
                                        None if flagged_mask is None else flagged_mask[shown], split.class_names),
                    width="stretch", key="po_view")
    st.caption(f"{sentence} Colour is the label the model was trained on; crosses are the points the attacker "
               "wrote" + ("; black rings the points the detector flagged." if flagged_mask is not None else "."))
with right:
    if outcome.flagged is not None and outcome.flagged.scores is not None:
        st.markdown(f"**What {defence.label} sees**")
        st.plotly_chart(build_score_figure(outcome.flagged.scores, poisoned_mask, outcome.flagged.threshold,
                                           defence.score_label), width="stretch", key="po_scores")
        st.caption("The detector's score for every training point; poisoned points should sit right of the cut.")
    else:
        st.info("Choose a detector to see which points it flags and its scores.", icon=":material/search:")

if outcome.poisoned.is_backdoor and split.image_shape is not None:
    keep = np.flatnonzero(split.y_test != outcome.poisoned.target_class)[:GALLERY]
    names = [str(c) for c in split.class_names]
    pred_clean = outcome.pred_poisoned[keep]
    pred_triggered = outcome.pred_poisoned_triggered[:GALLERY]
    st.markdown("**Clean and triggered test images, as the poisoned model reads them**")
    st.plotly_chart(build_trigger_gallery(
        split.X_test[keep], outcome.triggered[:GALLERY], split.image_shape, [names[k] for k in pred_clean],
        [names[k] for k in pred_triggered], [names[k] for k in split.y_test[keep]], split.clip_values),
        width="stretch", key="po_gallery")
    st.caption(f"Top: clean test images with the poisoned model's prediction. Middle: the trigger. Bottom: the same "
               f"images triggered; a backdoor that works sends them to {names[outcome.poisoned.target_class]}.")

# ---------------------------------------------------------------------------------------------------------
# Poison-rate curve

st.subheader("Against the poison rate", divider="gray")
c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
top = float(kept_widget(lambda k: c1.select_slider(
    "Rates from 0 to", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], key=k,
    help="Six evenly spaced rates from 0 to this one."), f"po_curve_top_{attack_name}",
    0.3 if attack.needs_target else 0.8))
seeds = int(kept_widget(lambda k: c2.number_input(
    "Seeds", min_value=1, max_value=10, step=1, key=k,
    help="Each seed draws another split, model and poison: the band spans them."), "po_curve_seeds", 3))
rates = tuple(float(r) for r in np.round(np.linspace(0.0, top, 6), 4))
curve_key = (scenario, rates, seeds)
if curve_key not in POISON_CURVES and not held("po_curve", curve_key) and not c3.button(
        "Compute the curve", type="primary", key="po_curve_run",
        help=f"{len(rates) * seeds} trainings of the poisoned model"):
    st.caption("The curve trains the model once per rate and seed: press the button to compute it.")
    st.stop()
try:
    curve = bounded(st.empty(), "po_curve", cached(POISON_CURVES, curve_key, lambda progress: rate_curve(
        scenario, rates, tuple(range(scenario.seed, scenario.seed + seeds)), lab.data, progress=progress)),
        experiment=curve_key, label="Computing the curve…", what="The poison-rate curve",
        hint="fewer seeds or a quicker model are faster")
except InvalidInput as error:
    st.error(lw.md(str(error)) + " Choose a smaller largest rate.", icon=":material/error:")
    st.stop()
kept = save_rate_curve(curve)
accuracy = [("Poisoned model", curve.metrics["poisoned_accuracy"])]
if defence is not None:
    accuracy.append(("Retrained without the flagged points", curve.metrics["defended_accuracy"]))
clean_mean = float(np.mean(curve.metrics["clean_accuracy"]))
left, right = st.columns(2, gap="large")
with left:
    st.plotly_chart(build_rate_figure(rates, accuracy, "Accuracy on the clean test set",
                                      reference=("clean model", clean_mean)), width="stretch", key="po_curve_acc")
    st.caption(f"Mean over {seeds} seed{'s' if seeds > 1 else ''}; the band spans the lowest to the highest seed. "
               "The dotted line is the clean model's mean accuracy.")
with right:
    if outcome.poisoned.is_backdoor:
        asr = [("Poisoned model", curve.metrics["attack_success_rate"])]
        if defence is not None:
            asr.append(("Retrained without the flagged points", curve.metrics["defended_attack_success_rate"]))
        st.plotly_chart(build_rate_figure(rates, asr, "Attack success rate"), width="stretch", key="po_curve_asr")
        st.caption("Triggered test inputs (true class not the target) the model assigns to the target.")
    elif defence is not None:
        st.plotly_chart(build_rate_figure(rates, [("Precision", curve.metrics["detection_precision"]),
                                                  ("Recall", curve.metrics["detection_recall"])],
                                          "Detection"), width="stretch", key="po_curve_det")
        st.caption(f"{defence.label}'s precision and recall against the points the attacker wrote.")
st.caption(f"The curve took {curve.seconds:.1f} s. Its {len(curve.runs)} trainings are kept as poisoning runs"
           + (" on the **Runs** page." if kept else "."))
