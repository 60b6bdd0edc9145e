"""What the Attack Lab and Robustness pages share: the data in use, the model picker, the sample size, the eps
slider, threat-model tags, how a refused experiment is shown (the Defences page too), and bounded caches of attack
runs and curves keyed by the frozen scenario.

Choices live under session-state keys that belong to no widget, so they survive switching between the pages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import streamlit as st

from qulab.app import state as dc
from qulab.app.caches import BoundedCache, attack_step, trained_model
from qulab.core.experiment import Scenario
from qulab.core.registry import InvalidInput, Param
from qulab.core.wording import number_text
from qulab.data.datasets import Dataset, Split, describe_eps
from qulab.data.upload import DataError
from qulab.evaluation.lab import BATCH_PILOT_POINTS, PILOT_POINTS, QUICK_PILOT_SECONDS, eps_range, estimate_seconds
from qulab.evaluation.pipeline import AttackOutcome, FittedModel, run_attack, subsample
from qulab.figures.evasion import NORM_NAMES
from qulab.models.registry import MODELS, ModelSpec
from qulab.threats.evasion.attacks import ATTACKS, WHITE_BOX, AttackSpec

PAGES = Path(__file__).parent / "pages"
MODEL_KEY = "qulab.lab.model"  # the model name both pages start from
MODEL_PARAMS_KEY = "qulab.lab.model_params"  # model name -> its last parameters
SAMPLE_KEY = "qulab.lab.sample"  # the last sample size chosen
DEFAULT_SAMPLE = 200
AUTO_RUN_SECONDS = 8.0  # longer runs wait for a button


def param_widget(param: Param, key: str, container: Any = st) -> Any:
    """The widget a registry parameter declares: selectbox for choices (shown by their labels), slider for ranges,
    a slider over 1-2-5 steps for a log-scale range, and one that names a special 0 ("unlimited")."""
    if param.kind == "choice":
        return container.selectbox(param.label, param.choices, index=param.choices.index(param.default),
                                   format_func=param.show, help=param.help, key=key)
    if param.kind == "bool":
        return container.checkbox(param.label, value=param.default, help=param.help, key=key)
    if param.scale == "log":
        return container.select_slider(param.label, param.log_steps(), value=float(param.default),
                                       format_func=param.show, help=param.help, key=key)
    if param.kind == "int":
        if param.zero_label:
            steps = range(int(param.low), int(param.high) + 1, int(param.step or 1))
            return container.select_slider(param.label, steps, value=int(param.default), format_func=param.show,
                                           help=param.help, key=key)
        return container.slider(param.label, int(param.low), int(param.high), int(param.default),
                                step=int(param.step or 1), help=param.help, key=key)
    return container.slider(param.label, float(param.low), float(param.high), float(param.default),
                             step=float(param.step) if param.step else None, help=param.help, key=key)


def time_ratio_delta(ratio: float, reference: str) -> dict[str, str]:
    """st.metric's delta for a time as a multiple of a reference ("0.46× the undefended fit"): the arrow points
    the way the time went and, since less time is better, down is green and up red (a plain "×0.46" has no sign,
    so Streamlit would draw it as a rise)."""
    shown = number_text(ratio, 2)
    way = "off" if float(shown) == 1 else "up" if ratio > 1 else "down"
    return {"delta": f"{shown}× {reference}", "delta_arrow": way,
            "delta_color": {"off": "gray", "up": "red", "down": "green"}[way]}


@dataclass(frozen=True)
class LabData:
    """The data in use: its choice (for scenarios), an upload's rows (else None) and the split."""

    choice: dc.DataChoice
    data: Dataset | None
    split: Split

    @property
    def images(self) -> bool:
        return self.split.image_shape is not None

    def scenario(self, **overrides: Any) -> Scenario:
        return dc.choice_scenario(self.choice, **overrides)


def md(text: str) -> str:
    """Text from data (file names, error messages) shown literally in Markdown."""
    for char in "\\`*_[]<>#|~$":
        text = text.replace(char, "\\" + char)
    return text


@contextlib.contextmanager
def refusal_shown() -> Iterator[None]:
    """Around making and validating a page's scenarios: a refusal (InvalidInput) is shown as its one sentence and
    stops the page before anything is fitted or attacked, as the CLI prints it and exits."""
    try:
        yield
    except InvalidInput as error:
        st.error(md(str(error)), icon=":material/error:")
        st.stop()


def data_line(choice: dc.DataChoice) -> None:
    """The line every Lab page opens with: the data in use and a link to change it."""
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.markdown(f":material/dataset: **Data in use:** {md(choice.label)}")
    right.page_link(st.Page(PAGES / "data_sets.py", title="Data Sets", url_path="data-sets"),
                    label="Change on Data Sets", icon=":material/swap_horiz:")


def data_in_use() -> LabData | None:
    """Which data the page uses, with a link to the Data Sets page; None (with the reason) if it cannot."""
    choice = dc.current_choice()
    data_line(choice)
    try:
        split = dc.choice_split(choice)
        data = dc.choice_dataset(choice) if choice.is_upload else None
    except (InvalidInput, DataError, ValueError) as error:
        st.error(f"The chosen data cannot be used: {md(str(error))} Choose other data on the Data Sets page.",
                 icon=":material/error:")
        return None
    return LabData(choice, data, split)


def model_picker(lab: LabData, prefix: str) -> tuple[ModelSpec, dict[str, Any]]:
    """Model selectbox (the CNN only for image data), its description and its parameters."""
    state = st.session_state
    names = [spec.name for spec in MODELS if lab.images or not spec.needs_images]
    remembered = state.get(MODEL_KEY)
    name = st.selectbox("Model", names, index=names.index(remembered) if remembered in names else 0,
                        format_func=lambda n: MODELS.get(n).label, key=f"{prefix}_model",
                        help="The model families in QuLab's registry.")
    state[MODEL_KEY] = name
    spec = MODELS.get(name)
    hidden = [m.label for m in MODELS if m.needs_images and not lab.images]
    st.caption(spec.description + (f" ({', '.join(hidden)}: image data only, e.g. Digits.)" if hidden else ""))
    last = state.setdefault(MODEL_PARAMS_KEY, {}).get(name, {})
    params = {}
    if spec.params:
        for column, param in zip(st.columns(len(spec.params)), spec.params, strict=True):
            params[param.name] = param_widget(replace(param, default=last.get(param.name, param.default)),
                                              key=f"{prefix}_{name}_{param.name}", container=column)
    state[MODEL_PARAMS_KEY][name] = params
    return spec, params


def fitted(lab: LabData, scenario: Scenario) -> tuple[Split, FittedModel] | None:
    """The cached split and fitted model; a model that cannot be trained shows why and gives None."""
    try:
        return trained_model(scenario.model_key, scenario, lab.data)
    except Exception as error:  # noqa: BLE001 — a model failing on odd data must leave the page working
        st.error(f"The model could not be trained on this data: {md(str(error))}", icon=":material/error:")
        return None


def sample_size(lab: LabData, key: str) -> int:
    """How many test points to attack (default 200, or all if fewer), drawn with the scenario's seed."""
    n_test = len(lab.split.y_test)
    last = st.session_state.get(SAMPLE_KEY, DEFAULT_SAMPLE)
    n = st.number_input("Test points to attack", min_value=1, max_value=n_test, value=min(last, n_test), step=10,
                        key=key, help=f"The test set has {n_test} points; a random subset (seed "
                                      f"{lab.choice.seed}) of this size is attacked. Fewer points, faster runs.")
    st.session_state[SAMPLE_KEY] = int(n)
    return int(n)


def norm_label(norm: str) -> str:
    return NORM_NAMES[norm]


def wider_range_note(norm: str, n_features: int) -> str:
    """Why an L2 or L1 slider reaches further than the L∞ one (empty for L∞)."""
    factor = eps_range(norm, n_features).factor
    return "" if factor == 1 else (f" The range is {factor:.3g}× that of L∞: the {norm_label(norm)} ball that "
                                   "reaches the corners of the L∞ box of the same eps is that much larger.")


def budget_slider(norm: str, n_features: int, key: str, label: str = "Epsilon", container: Any = st,
                  start: float | None = None) -> float:
    """The budget slider for a norm (one slider per norm, so each keeps its value), its range scaled by
    :func:`qulab.evaluation.lab.eps_range`; ``start`` (e.g. a link's budget) replaces the default."""
    r = eps_range(norm, n_features)
    return float(container.slider(
        f"{label} ({norm_label(norm)})", 0.0, r.high, r.default if start is None else start, step=r.step,
        key=f"{key}_{norm}",
        help="The attack's budget: the largest change of each feature (L∞) or the length of the whole change "
             "(L2, L1)." + wider_range_note(norm, n_features)))


def eps_slider(lab: LabData, norm: str, key: str, label: str = "Epsilon", start: float | None = None) -> float:
    """:func:`budget_slider`, explained in the data's units."""
    n_features = lab.split.X_test.shape[1]
    eps = budget_slider(norm, n_features, key, label, start=start)
    st.caption(describe_eps(lab.split, eps) + wider_range_note(norm, n_features))
    return eps


def threat_tags(spec: AttackSpec) -> str:
    """The attack's threat model as small Markdown badges."""
    norms = ", ".join(norm_label(n) for n in spec.norms)
    knowledge = "blue" if spec.knowledge == WHITE_BOX else "orange"
    return " ".join([
        f":{knowledge}-badge[{spec.knowledge}]",
        f":violet-badge[needs {spec.access}]",
        f":gray-badge[norms {norms}]",
        f":green-badge[{'minimal perturbation' if spec.minimal else 'budgeted'}]",
        f":primary-badge[{'targeted' if spec.targeted else 'untargeted'}]",
        f":red-badge[NIST {spec.nist}]",
    ])


def attack_reasons(model: ModelSpec, lab: LabData) -> dict[str, str | None]:
    """Each attack's reason it cannot run on this model and data (None when it can)."""
    return {spec.name: spec.unsupported_reason(model, lab.split.n_classes, lab.images) for spec in ATTACKS}


# ---------------------------------------------------------------------------------------------------------
# Cached runs


@dataclass(frozen=True)
class LabRun:
    """An attack's outcome on a sample of the test set, or why it failed (only outcomes are cached)."""

    outcome: AttackOutcome | None
    error: str | None = None


def failure(spec: AttackSpec, error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"{spec.label} failed on this model and data: {text}"


@st.cache_data(max_entries=64, show_spinner=False)
def _attack_run(scenario: Scenario, n: int, _data: Dataset | None = None) -> AttackOutcome:
    """The scenario's attack on n test points drawn with its seed; it raises, so a failure is not cached."""
    split, model = trained_model(scenario.model_key, scenario, _data)
    step = None
    if ATTACKS.get(scenario.attack).rescalable:  # an epsilon move only rescales the cached step
        step = attack_step((*scenario.model_key, scenario.attack, scenario.norm, n), scenario, _data, n)
    return run_attack(scenario, subsample(split, n, scenario.seed), model, step)


def lab_run(scenario: Scenario, n: int, data: Dataset | None = None) -> LabRun:
    """The cached run, or its failure as a message (ART's failures must leave the page working); going back to a
    setting is instant, and a failed setting is tried again."""
    try:
        return LabRun(_attack_run(scenario, n, data))
    except Exception as error:  # noqa: BLE001 — see the docstring
        return LabRun(None, failure(ATTACKS.get(scenario.attack), error))


def estimate_run(scenario: Scenario, n: int, data: Dataset | None) -> float | None:
    """Seconds the attack should take on n points, from pilot runs (cached like any run): 2 points first, then a
    batch of 32 when that was quick, since attacks that work in batches cost about the same for 2 points as for
    32; the per-point time of the larger pilot is scaled up. None when the pilot failed."""
    pilot = lab_run(scenario, PILOT_POINTS, data).outcome
    if pilot is None:
        return None
    if pilot.seconds < QUICK_PILOT_SECONDS and n > BATCH_PILOT_POINTS:
        batch = lab_run(scenario, BATCH_PILOT_POINTS, data).outcome
        if batch is not None:
            return estimate_seconds(batch.seconds, BATCH_PILOT_POINTS, n)
    return estimate_seconds(pilot.seconds, PILOT_POINTS, n)


CURVES = BoundedCache(64)
