"""Defences: train or wrap a model with one or more defences and compare it with the undefended one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import streamlit as st

from qulab.app import saving
from qulab.app import state as dc
from qulab.app import widgets as lw
from qulab.app.caches import BASELINES, DEFENCE_OUTCOMES
from qulab.app.downloads import saved_report_download
from qulab.app.running import Run, bounded, held
from qulab.app.widgets import param_widget
from qulab.core.experiment import Scenario, freeze
from qulab.core.registry import InvalidInput
from qulab.core.wording import accuracy_text, number_text
from qulab.data.datasets import Split, dataset_from_table, in_known_range
from qulab.data.upload import DataError
from qulab.defences import (
    DEFENCES,
    Baseline,
    DefenceOutcome,
    Progress,
    defence_kind,
    defendable_models,
    evaluate_defence,
    learned_estimate,
    record_times,
    undefended_baseline,
)
from qulab.evaluation.estimates import MEASURED
from qulab.evaluation.pipeline import split_with_test_set
from qulab.figures.defences import build_certified_radius_figure, build_defence_curves_figure
from qulab.models.registry import MODELS
from qulab.threats.evasion.attacks import ATTACKS

# Budgeted gradient attacks, and two minimal ones (they stop just past the boundary, where random noise looks
# strong until the adaptive attacker stretches them to the whole budget).
ATTACK_CHOICES = ("pgd", "fgm", "bim", "deepfool", "cw_l2")
LINK_APPLIED_KEY = "qulab.defences.link_applied"
DEFENCES_URL = "defences"  # the address's key for the ticked defences


st.title("Defences")
st.markdown(
    "Train or wrap a model with a defence and compare it with the undefended model on the same held-out test "
    "points, under the same attack (always against the true labels). A defence only counts if it survives an "
    "attacker who **knows it is there**.")
with st.expander("Why many defences only look strong: gradient masking and naive augmentation", expanded=False):
    st.markdown(
        "NIST AI 100-2 (*Adversarial Machine Learning: A Taxonomy and Terminology*) warns that many proposed "
        "defences only **mask gradients**: they make the gradient that attacks follow useless (rounding, "
        "compression, randomness) without moving the decision boundary. An attack crafted on the undefended "
        "model and then passed through the sanitiser (the *non-adaptive* attack) fails, so the defence looks "
        "strong; an *adaptive* attack that differentiates through the sanitiser as if it were the identity "
        "(BPDA) or averages over its randomness (expectation over transformation) finds the same weak points "
        "again. Random noise fools attacks that stop just past the boundary (DeepFool, C&W): it pushes many of "
        "their points back by chance, until the attacker stretches each perturbation to the whole budget. The "
        "dotted curves below are the non-adaptive attack, the solid ones the adaptive attack.\n\n"
        "**Naive augmentation** crafts adversarial examples once, against the undefended model, and retrains on "
        "them. They are the weak points of a model that no longer exists: the retrained model has new ones, "
        "and the attack on it finds them. Adversarial training (Madry et al.) regenerates the examples against "
        "the current model throughout training, which is what makes it work — at several times the training "
        "cost and a little clean accuracy.")

choice = dc.current_choice()
lw.data_line(choice)
try:
    data = dc.choice_dataset(choice)
except Exception as error:  # an upload that is gone, a file that no longer parses
    st.error(f"The chosen data set cannot be loaded: {error}")
    st.stop()
images = data.image_shape is not None
known_range = in_known_range(data, choice.scaling)


def own_test_split() -> tuple[Split, str] | None:
    """For an uploaded training file: the split with the user's own test file (the scaler fitted on the training
    file only) and the test file's name in scenarios (by content); None for the random split."""
    test_file = st.file_uploader(
        "Your own test file (optional)", type=["csv", "tsv", "txt"], key="def_test_file",
        help="The same feature columns and class column as the uploaded training file; it replaces the random "
             "split, so every model is trained on the whole training file and evaluated on this one. Kept in this "
             "browser session's memory only.")
    if test_file is None:
        return None
    entry = dc.receive_upload(test_file.name, test_file.getvalue())
    try:
        test = dataset_from_table(entry.table(dict(choice.params)["target"]))
        split = split_with_test_set(data, test, choice.scaling, choice.seed)
    except (DataError, InvalidInput) as error:
        st.error(f"The test file cannot be used: {error}")
        st.stop()
    st.caption(f"Test set: **{test_file.name}** ({len(split.y_test):,} rows) instead of a random split of the "
               f"training file ({len(split.y_train):,} rows, all used for training).")
    return split, entry.choice_name


own_test = own_test_split() if choice.is_upload else None
own_split = own_test[0] if own_test is not None else None

left, middle, right = st.columns(3)
models = [model.name for model in defendable_models()]
default_model = "torch_cnn" if images else "logistic_regression"
link = dc.link()  # a link's model, attack, norm and budget are the page's first choices, once per session
if link is not None and not st.session_state.get(LINK_APPLIED_KEY):
    st.session_state[LINK_APPLIED_KEY] = True
    linked = link.scenario
    if "model" in link.named and linked.model in models:
        st.session_state["def_model"] = linked.model
    if "attack" in link.named and linked.attack in ATTACK_CHOICES:
        st.session_state["def_attack"] = linked.attack
        st.session_state[f"def_norm_{linked.attack}"] = linked.norm
        st.session_state[f"def_eps_{linked.norm}"] = linked.eps
model_name = lw.kept_widget(lambda k: left.selectbox(
    "Model", models, key=k, format_func=lambda n: MODELS.get(n).label,
    help="Models at least one defence runs on; each defence below says which it supports."),
    "def_model", default_model, lambda n: n if n in models else default_model)
model = MODELS.get(model_name)
attack_name = lw.kept_widget(lambda k: middle.selectbox(
    "Attack", ATTACK_CHOICES, key=k, format_func=lambda n: ATTACKS.get(n).label,
    help="The attack every model is evaluated under (against the true labels). DeepFool and C&W look for the "
         "smallest perturbation and stop at the boundary; a point counts as broken when that perturbation fits "
         "in eps."), "def_attack", ATTACK_CHOICES[0])
attack = ATTACKS.get(attack_name)
norm = lw.norm_picker(attack.norms, f"def_norm_{attack_name}", help="How the perturbation's size is measured.",
                      container=right)
eps = lw.budget_slider(norm, data.X.shape[1], "def_eps", container=right)
left.caption(model.description)
middle.caption(attack.description)
with lw.refusal_shown():  # the address names the model and the attack from the first render on
    dc.sync_link(dc.choice_scenario(choice, model=model_name, attack=attack_name, eps=float(eps), norm=norm))
st.query_params["attack"] = attack_name  # always: this page's first attack (PGD) is not a scenario's default (FGM)

if model.needs_images and not images:
    st.error(f"{model.label} needs image data: choose the digits data set on the Data Sets page, or another "
             "model.")
    st.stop()

st.subheader("Defences to compare", divider="gray")
chosen: dict[str, dict[str, Any]] = {}
reasons = {defence.name: defence.unsupported_reason(model, images=images, known_range=known_range)
           or defence.attack_reason(attack, norm) for defence in DEFENCES}
# Ticked at first: the defences a copied link names, else the first that runs here and works (not a lesson in
# failure). The address names the ticked ones (DEFENCES_URL) and their parameters (<defence>.<parameter>).
linked_ticks = dc.url_value(dc.UrlKey(DEFENCES_URL, parse=lambda text: set(filter(None, text.split(",")))))
ticked_first = linked_ticks if linked_ticks is not None else {
    next((d.name for d in DEFENCES if reasons[d.name] is None and d.works), None)}
for defence in DEFENCES:
    reason = reasons[defence.name]
    with st.container(border=True):
        on = lw.kept_widget(lambda k, defence=defence, reason=reason: st.checkbox(
            f"{defence.label} · {defence.kind}", key=k, disabled=reason is not None, help=defence.description),
            f"def_on_{defence.name}", defence.name in ticked_first)
        if reason is not None:
            st.caption(f":material/block: Not available here: {reason}")
            continue
        st.caption(f"**Protects against:** {defence.protects_against} **Known weakness:** {defence.known_weakness} "
                   f"**Adaptive attack:** {defence.adaptive_attack}")
        if on:
            params = {}
            if defence.params:
                for column, param in zip(st.columns(len(defence.params)), defence.params, strict=True):
                    params[param.name] = param_widget(param, key=f"def_{defence.name}_{param.name}",
                                                      container=column, url=f"{defence.name}.{param.name}")
            chosen[defence.name] = params
dc.show_in_url({DEFENCES_URL: ",".join(chosen)})
for key in [key for key in st.query_params if key.split(".")[0] in DEFENCES.names()
            and key.split(".")[0] not in chosen]:  # an unticked defence's parameters leave the address
    del st.query_params[key]

if not chosen:
    st.info("Tick at least one defence above.", icon=":material/check_box:")
    st.stop()

# The user's own test file is named in the scenario by its content, so results for it are kept apart.
dataset_params = choice.params + ((("test", own_test[1]),) if own_test is not None else ())
with lw.refusal_shown():  # each defence's experiment is checked before any training or attack
    scenario = dc.choice_scenario(choice, model=model_name, attack=attack_name, eps=float(eps), norm=norm,
                                  dataset_params=dataset_params)
    for name, params in chosen.items():
        replace(scenario, defence=name, defence_params=freeze(params)).validate()
upload = data if choice.is_upload else None
jobs = [(scenario, name, freeze(params)) for name, params in chosen.items()]
n_train = len(own_split.y_train) if own_split is not None else int(len(data.y) * (1 - choice.test_size))
rows = n_train + len(own_split.y_test) if own_split is not None else len(data.y)  # what the times scale with
pending = [job for job in jobs if job not in DEFENCE_OUTCOMES]
# Each pending evaluation's estimate: learned from measured evaluations of its kind (scaled by rows), else the
# entry's rough one; the undefended side is counted once, with the first, as it is computed once.
estimates = {job: learned_estimate(MEASURED, scenario, job[1], dict(job[2]), rows, n_train,
                                   with_baseline=job is pending[0] and scenario not in BASELINES)
             for job in pending}
estimate = sum(estimates.values())
learned = all(MEASURED.estimate(defence_kind(scenario, name, dict(params)), rows) is not None
              for _, name, params in pending)

if pending:
    prompt = st.empty()  # the estimate and the button, gone once the evaluation starts
    with prompt.container():
        source = ("from earlier evaluations of the same kind on this machine" if learned else
                  "a first guess; it learns from each evaluation")
        st.write(f"This evaluation takes about **{max(1, round(estimate))} s** ({source}: training, then the "
                 "attack at five budgets for each model). Results are kept, so coming back to these settings is "
                 "instant.")
        if not held("def_run", tuple(jobs)) and not st.button("Evaluate", type="primary", key="def_run",
                                                               icon=":material/play_arrow:"):
            st.stop()
    prompt.empty()


def shared_baseline(job_scenario: Scenario, report: Progress, waiting: Callable[[], None]) -> Baseline:
    """The undefended model and its attack results, computed once for every defence compared on this scenario
    (an upload is named in the scenario by its content)."""
    return BASELINES.get_or_compute(job_scenario, lambda: undefended_baseline(job_scenario, data=upload,
                                                                               progress=report, split=own_split),
                                    waiting=waiting)


def evaluated(job_scenario: Scenario, name: str, params: tuple, report: Progress,
              waiting: Callable[[], None]) -> DefenceOutcome:
    """One defence's evaluation against the shared undefended side, its measured times remembered."""
    baseline = shared_baseline(job_scenario, report, waiting)
    outcome = evaluate_defence(job_scenario, name, dict(params), data=upload, progress=report, baseline=baseline)
    record_times(MEASURED, outcome, baseline, rows)
    return outcome


work = {job: estimates.get(job, 0.0) for job in jobs}  # each evaluation's share of the bar: its estimate
total = sum(work.values()) or 1.0


def evaluate_all(progress: Run) -> tuple[list[DefenceOutcome], list[str]]:
    """Every ticked defence's evaluation (kept ones from the cache), and the messages of those that failed."""
    outcomes: list[DefenceOutcome] = []
    errors: list[str] = []
    done = 0.0
    for job in jobs:
        label = DEFENCES.get(job[1]).label
        about = f" (about {max(1, round(estimates[job]))} s)" if job in estimates else ""

        def report(fraction: float, text: str, before: float = done, share: float = work[job], label: str = label,
                   about: str = about) -> None:
            progress(min((before + fraction * share) / total, 1.0), f"{label}{about}: {text}")

        if job in estimates:
            report(0.0, "starting")
        try:
            outcomes.append(DEFENCE_OUTCOMES.get_or_compute(
                job, lambda job=job, report=report: evaluated(*job, report, progress.check), waiting=progress.check))
        except InvalidInput as error:
            errors.append(f"{label}: {error}")
        except Exception as error:  # an ART or torch failure: say what, without a traceback
            errors.append(f"{label} failed: {type(error).__name__}: {error}")
        done += work[job]
    return outcomes, errors


started = time.perf_counter()
outcomes, errors = bounded(st.empty(), "def_run", evaluate_all, experiment=tuple(jobs),
                           label="Evaluating the defences…", what="The evaluation of the defences",
                           hint="fewer defences or a smaller data set are faster")
took = (f"about {max(1, round(estimate))} s · took {time.perf_counter() - started:.1f} s" if pending else
        "kept from an earlier evaluation of these settings")
st.status(f"Evaluation finished: {took}" if not errors else f"Evaluation finished with errors: {took}",
          state="complete" if not errors else "error", expanded=False)

saved = saving.save_defences(outcomes, data, own_test)
for message in errors:
    st.error(message)
if not outcomes:
    st.stop()

st.subheader("Undefended vs defended", divider="gray")
first = outcomes[0]
st.caption(f"{first.attack_label} at eps = {first.scenario.eps:g} on {first.n_test} held-out test points. "
           "Deltas compare with the undefended model.")
for outcome in outcomes:
    defence = DEFENCES.get(outcome.defence)
    with st.container(border=True):
        st.markdown(f"**{defence.label}**" + ("" if defence.works else " — the lesson: this one does not work"))
        given = dict(outcome.defence_params)  # shown in the order of the widgets above, each in words
        if given:
            st.caption(" · ".join(f"{p.label}: {p.show(given[p.name])}" for p in defence.params if p.name in given))
        cols = st.columns(5)
        cols[0].metric("Clean accuracy", accuracy_text(outcome.clean_defended),
                       delta=f"{outcome.clean_defended - outcome.clean_undefended:+.3f}",
                       help=f"Undefended: {accuracy_text(outcome.clean_undefended)}.")
        robust_label = "Robust (adaptive)" if outcome.robust_nonadaptive is not None else "Robust accuracy"
        cols[1].metric(robust_label, accuracy_text(outcome.robust_defended),
                       delta=f"{outcome.robust_gain:+.3f}",
                       help=f"Accuracy on the adversarial examples of an attack that sees the defence. "
                            f"Undefended: {accuracy_text(outcome.robust_undefended)}.")
        if outcome.robust_nonadaptive is not None:
            cols[2].metric("Robust (non-adaptive)", accuracy_text(outcome.robust_nonadaptive),
                           delta=f"{outcome.robust_nonadaptive - outcome.robust_undefended:+.3f}",
                           help="Robust accuracy when the undefended model's adversarial examples are passed "
                                "through the defence: the number that makes sanitisers look stronger than they "
                                "are.")
        elif outcome.exact_defended is not None:
            cols[2].metric("Exact robust accuracy", accuracy_text(outcome.exact_defended),
                           delta=f"{outcome.exact_defended - outcome.exact_undefended:+.3f}",
                           help=f"Closed form for linear models (no attack can do better). Undefended: "
                                f"{accuracy_text(outcome.exact_undefended)}.")
        elif outcome.certified_accuracy is not None:
            cols[2].metric("Certified accuracy", accuracy_text(outcome.certified_accuracy),
                           help=f"Share of test points correctly classified with a certified L2 radius of at "
                                f"least {number_text(outcome.certified_radius_needed)}.")
        cols[3].metric("Training time", f"{outcome.fit_seconds_defended:.2f} s",
                       **lw.time_ratio_delta(outcome.training_ratio, "the undefended fit"),
                       help=f"Undefended fit: {outcome.fit_seconds_undefended:.2f} s. Sanitisers reuse the "
                            "undefended model.")
        cols[4].metric("Undefended robust", accuracy_text(outcome.robust_undefended),
                       help=f"The undefended model under the same attack at eps = {outcome.scenario.eps:g}.")
        for note in outcome.notes:
            st.caption(note)
        if (loss_note := outcome.robust_loss_note()) is not None:
            st.caption(f":material/info: {loss_note}")

st.plotly_chart(build_defence_curves_figure(outcomes), width="stretch", key="def_curves")
st.caption("Solid lines: the attack that sees the defence. Dotted: a sanitiser against the non-adaptive attack. "
           "Dashed: the exact robust accuracy of a linear model. Dash-dot: certified accuracy (randomized "
           "smoothing).")
saved_report_download(saved, "def_report")
for outcome in outcomes:
    if outcome.certified_radii is not None:
        st.plotly_chart(build_certified_radius_figure(outcome), width="stretch", key=f"def_radii_{outcome.defence}")
        st.caption("Randomized smoothing certifies L2 radii; an L∞ budget eps needs a radius of √d·eps, which on "
                   "many features is far beyond what noise of size σ can certify. The empirical attack on the "
                   "smoothed model is beside it in the metrics and the curves.")
