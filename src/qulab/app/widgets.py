"""What the Attack Lab and Robustness pages share: the data in use, the model picker, the sample size, the eps
slider, threat-model tags, how a refused experiment is shown (the Defences page too), and bounded caches of attack
runs and curves keyed by the frozen scenario.

Choices live under session-state keys that belong to no widget, so they survive switching between the pages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from qulab.app import state as dc
from qulab.app.caches import BoundedCache, attack_step, trained_model
from qulab.app.running import Run
from qulab.core.experiment import Scenario
from qulab.core.registry import InvalidInput, Param
from qulab.core.wording import number_text
from qulab.data.datasets import Dataset, Split, describe_eps
from qulab.data.upload import DataError
from qulab.evaluation.budget import attack_runs
from qulab.evaluation.estimates import MEASURED
from qulab.evaluation.lab import BATCH_PILOT_POINTS, PILOT_POINTS, QUICK_PILOT_SECONDS, eps_range, estimate_seconds
from qulab.evaluation.pipeline import AttackOutcome, FittedModel, run_attack, subsample
from qulab.figures.evasion import NORM_NAMES
from qulab.models.registry import MODELS, ModelSpec
from qulab.threats.evasion.attacks import ATTACKS, WHITE_BOX, AttackSpec

PAGES = Path(__file__).parent / "pages"
MODEL_KEY = "qulab.lab.model"  # the model name both pages start from
MODEL_PARAMS_KEY = "qulab.lab.model_params"  # model name -> its last parameters
LINK_MODEL_KEY = "qulab.lab.link_model_applied"  # a link's model is the session's first choice, once
SAMPLE_KEY = "qulab.lab.sample"  # the last sample size chosen, with the data it was chosen for
POINTS_PARAM = "points"  # the URL's number of test points to attack, when not the default
KEPT_KEY = "qulab.kept"  # widget key -> its last value (see kept_widget)
ATTACK_MODEL_KEY = "qulab.lab.attack_model"  # page prefix -> the model its attack was last shown with
DEFAULT_SAMPLE = 200
AUTO_RUN_SECONDS = 8.0  # longer runs wait for a button


def kept_widget(make: Callable[[str], Any], key: str, default: Any, fit: Callable[[Any], Any] | None = None,
                url: dc.UrlKey | None = None) -> Any:
    """``make(key)`` seeded with the value the widget had when last shown (else ``default``), passed through
    ``fit`` (which maps a value the widget can no longer take to one it can). Streamlit drops the state of
    widgets a run does not draw, so each value is also kept under :data:`KEPT_KEY`, which belongs to no widget;
    ``make`` must not pass a value of its own, since the seed is the value. With ``url`` the value is also in
    the page's address from the first render on, and a copied link's value is the widget's first one."""
    state = st.session_state
    memory = state.setdefault(KEPT_KEY, {})
    value = state[key] if key in state else memory.get(key, default)
    if url is not None and key not in state and key not in memory:
        linked = dc.url_value(url)
        value = value if linked is None else linked
    if fit is not None:
        value = fit(value)
    if key not in state or state[key] != value or not browser_holds(key):
        state[key] = value
    memory[key] = make(key)
    if url is not None:
        dc.show_in_url({url.name: url.show(memory[key])})
    return memory[key]


def browser_holds(key: str) -> bool:
    """Whether the browser sent the widget under ``key`` with this run. A run ended by st.stop() keeps the values
    of the widgets it did not draw on the server, while the browser forgets those widgets; when one is drawn
    again the browser shows its own default (a slider's minimum) unless its value is written to session state
    anew, which tells the browser to take it. Outside a Streamlit run (bare mode) there is no browser: True."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return True
    session = ctx.session_state._state  # private: Streamlit has no public "did the browser send it" test
    widget_id = session.get_widget_id_from_key(key)
    return widget_id is not None and widget_id in session._new_widget_state.states  # this run's, from the browser


def url_text(value: Any) -> str:
    """A value as the URL holds it (as :meth:`Scenario.query_params` writes one): floats in their shortest exact
    form, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def param_url(param: Param, name: str) -> dc.UrlKey:
    """A registry parameter's place in the URL under ``name``, read back as the CLI reads it."""
    return dc.UrlKey(name, url_text, param.parse)


def param_widget(param: Param, key: str, container: Any = st, url: str | None = None) -> Any:
    """The widget a registry parameter declares, kept across pages (``param.default`` is its first value):
    selectbox for choices (shown by their labels), slider for ranges, a slider over 1-2-5 steps for a log-scale
    range, and one that names a special 0 ("unlimited"). ``url``: the parameter's key in the page's address."""
    at = None if url is None else param_url(param, url)
    if param.kind == "choice":
        return kept_widget(lambda k: container.selectbox(param.label, param.choices, format_func=param.show,
                                                         help=param.help, key=k), key,
                           param.default, lambda v: v if v in param.choices else param.default, at)
    if param.kind == "bool":
        return kept_widget(lambda k: container.checkbox(param.label, help=param.help, key=k), key, param.default,
                           url=at)
    if param.scale == "log":
        steps = param.log_steps()
        return kept_widget(lambda k: container.select_slider(param.label, steps, format_func=param.show,
                                                             help=param.help, key=k), key, float(param.default),
                           lambda v: min(steps, key=lambda step: abs(step - float(v))), at)
    number = int if param.kind == "int" else float
    low, high = number(param.low), number(param.high)
    step = number(param.step) if param.step else (1 if param.kind == "int" else None)
    if param.kind == "int" and param.zero_label:
        options = list(range(int(low), int(high) + 1, int(step)))
        return kept_widget(lambda k: container.select_slider(param.label, options, format_func=param.show,
                                                             help=param.help, key=k), key, int(param.default),
                           lambda v: min(max(int(v), low), high), at)
    return kept_widget(lambda k: container.slider(param.label, low, high, step=step, help=param.help, key=k), key,
                       number(param.default), lambda v: min(max(number(v), low), high), at)


def time_ratio_delta(ratio: float, reference: str) -> dict[str, str]:
    """st.metric's delta for a time as a multiple of a reference ("0.46× the undefended fit"): the arrow points
    the way the time went and, since less time is better, down is green and up red (a plain "×0.46" has no sign,
    so Streamlit would draw it as a rise)."""
    shown = number_text(ratio, 2)
    way = "off" if float(shown) == 1 else "up" if ratio > 1 else "down"
    return {"delta": f"{shown}× {reference}", "delta_arrow": way,
            "delta_color": {"off": "gray", "up": "red", "down": "green"}[way]}


def norm_picker(norms: Sequence[str], key: str, help: str, container: Any = st, url: str | None = None) -> str:
    """The norm the budget is measured in: one horizontal radio on every page, kept across pages (and in the
    address under ``url`` when given)."""
    return kept_widget(lambda k: container.radio("Norm", norms, format_func=norm_label, horizontal=True, help=help,
                                                 key=k), key, norms[0], lambda v: v if v in norms else norms[0],
                       None if url is None else dc.UrlKey(url))


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
    """The line every Lab page opens with: the data in use and a link to change it. The page's address names the
    data too, so a copied link reproduces the page."""
    dc.sync_query_params(choice)
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


def model_picker(lab: LabData, prefix: str, url: str | None = None) -> tuple[ModelSpec, dict[str, Any]]:
    """Model selectbox (the CNN only for image data), its description and its parameters. ``url``: the model's
    key in the page's address (its parameters under ``<url>.<parameter>``), for a page whose link does not name
    an evasion experiment's ``model``."""
    state = st.session_state
    linked = dc.link()
    if linked is not None and "model" in linked.named and not state.get(LINK_MODEL_KEY):  # once per session
        state[LINK_MODEL_KEY] = True
        state[MODEL_KEY] = linked.scenario.model
        state.setdefault(MODEL_PARAMS_KEY, {})[linked.scenario.model] = dict(linked.scenario.model_params)
    names = [spec.name for spec in MODELS if lab.images or not spec.needs_images]
    key = f"{prefix}_model"
    if key not in state and state.get(MODEL_KEY) in names:  # a page shown anew: the model last chosen anywhere
        state[key] = state[MODEL_KEY]
    name = kept_widget(lambda k: st.selectbox("Model", names, format_func=lambda n: MODELS.get(n).label, key=k,
                                              help="The model families in QuLab's registry."),
                       key, state.get(MODEL_KEY), lambda v: v if v in names else names[0],
                       None if url is None else dc.UrlKey(url))
    state[MODEL_KEY] = name
    spec = MODELS.get(name)
    hidden = [m.label for m in MODELS if m.needs_images and not lab.images]
    st.caption(spec.description + (f" ({', '.join(hidden)}: image data only, e.g. Digits.)" if hidden else ""))
    last = state.setdefault(MODEL_PARAMS_KEY, {}).get(name, {})
    params = {}
    if spec.params:
        for column, param in zip(st.columns(len(spec.params)), spec.params, strict=True):
            key = f"{prefix}_{name}_{param.name}"
            if key not in state and param.name in last:  # as last set on any page
                state[key] = last[param.name]
            params[param.name] = param_widget(param, key=key, container=column,
                                              url=None if url is None else f"{url}.{param.name}")
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
    """How many test points to attack, drawn with the scenario's seed: the last number chosen on these data (any
    page), else 200 or all if fewer; a number beyond the test set is brought down to it, with a caption."""
    state = st.session_state
    n_test = len(lab.split.y_test)
    default = min(DEFAULT_SAMPLE, n_test)
    chosen_for, last = state.get(SAMPLE_KEY, (None, default))
    if chosen_for is None:  # the session's first Lab page: a link may name the number
        state[key] = linked_points(default)
    elif chosen_for != lab.choice:  # other data: the default, not a number chosen for a different test set
        state[key] = default
    elif key not in state:  # a page shown anew: the number last chosen on any page
        state[key] = last
    asked = state[key]
    n = kept_widget(lambda k: st.number_input(
        "Test points to attack", min_value=1, step=10, key=k,
        help=f"The test set has {n_test} points; a random subset (seed {lab.choice.seed}) of this size is "
             "attacked. Fewer points, faster runs."), key, default, lambda v: min(max(int(v), 1), n_test))
    if asked > n_test:
        st.caption(f"{asked:,} is more than the {n_test} test points: attacking all {n_test}.")
    state[SAMPLE_KEY] = (lab.choice, int(n))
    if n != default:  # in the address, so a copied link attacks the same points
        st.query_params[POINTS_PARAM] = str(n)
    elif POINTS_PARAM in st.query_params:
        del st.query_params[POINTS_PARAM]
    return int(n)


def linked_points(default: int) -> int:
    """The number of test points the URL names (``?points=40``), else ``default``; a value that is not a whole
    number is dropped with one sentence."""
    text = st.query_params.get(POINTS_PARAM)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        st.error(f"The link's number of test points '{md(text)}' is not a whole number of at least 1; using "
                 f"{default}.", icon=":material/link_off:")
        return default
    return int(text)


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
    return float(kept_widget(lambda k: container.slider(
        f"{label} ({norm_label(norm)})", 0.0, r.high, step=r.step, key=k,
        help="The attack's budget: the largest change of each feature (L∞) or the length of the whole change "
             "(L2, L1)." + wider_range_note(norm, n_features)),
        f"{key}_{norm}", r.default if start is None else start, lambda v: min(max(float(v), 0.0), r.high)))


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


def available_after_model_change(attack: str, model: ModelSpec, reasons: dict[str, str | None], prefix: str) -> str:
    """The attack a page shows: the one chosen, unless a change of model made it unavailable; then the first
    attack the new model runs, said in one caption, so the page never opens blocked on the old choice. An
    unavailable attack chosen on purpose stays, with its reason."""
    models = st.session_state.setdefault(ATTACK_MODEL_KEY, {})
    before, models[prefix] = models.get(prefix), model.name
    first = next((name for name, reason in reasons.items() if reason is None), None)
    if not reasons[attack] or before in (None, model.name) or first is None:
        return attack
    st.caption(f":material/swap_horiz: {ATTACKS.get(attack).label} does not run on the {model.in_text}; "
               f"switched to {ATTACKS.get(first).label}.")
    return first


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


RUNS = BoundedCache(64)  # (scenario, n) -> AttackOutcome; computed with a progress callback, so not st.cache_data


def _attack_run(scenario: Scenario, n: int, data: Dataset | None = None,
                progress: Callable[[float, str], None] | None = None) -> AttackOutcome:
    """The scenario's attack on n test points drawn with its seed; it raises, so a failure is not cached."""
    split, model = trained_model(scenario.model_key, scenario, data)
    step = None
    if ATTACKS.get(scenario.attack).rescalable:  # an epsilon move only rescales the cached step
        step = attack_step((*scenario.model_key, scenario.attack, scenario.norm, n), scenario, data, n)
    return run_attack(scenario, subsample(split, n, scenario.seed), model, step, progress)


def lab_run(scenario: Scenario, n: int, data: Dataset | None = None, progress: Run | None = None) -> LabRun:
    """The cached run, or its failure as a message (ART's failures must leave the page working); going back to a
    setting is instant, and a failed setting is tried again. ``progress`` (a bounded run's) hears the share of the
    run done (an attack that declares a batch runs batch by batch: the same examples) and stops it, even while it
    waits for another session's same run."""
    try:
        return LabRun(RUNS.get_or_compute((scenario, n), lambda: _attack_run(scenario, n, data, progress),
                                          waiting=None if progress is None else progress.check))
    except Exception as error:  # noqa: BLE001 — see the docstring
        return LabRun(None, failure(ATTACKS.get(scenario.attack), error))


def run_kind(scenario: Scenario) -> tuple:
    """What a run's time per point depends on: data, model, attack and their settings, not the points' number."""
    return (*scenario.model_key, scenario.attack, scenario.norm, scenario.attack_params)


def timed_lab_run(scenario: Scenario, n: int, data: Dataset | None = None, progress: Run | None = None) -> LabRun:
    """:func:`lab_run`, its measured time recorded for later estimates of the same kind (a cached run's time
    is the one measured when it ran)."""
    run = lab_run(scenario, n, data, progress)
    if run.outcome is not None:
        MEASURED.record(run_kind(scenario), n, run.outcome.seconds)
    return run


def estimate_run(scenario: Scenario, n: int, data: Dataset | None, progress: Run | None = None) -> float | None:
    """Seconds the attack should take on n points: a measured run of the same kind scaled to n points, else
    pilot runs (cached like any run): 2 points first, then a batch of 32 when that was quick, since attacks
    that work in batches cost about the same for 2 points as for 32; the per-point time of the larger pilot is
    scaled up. None when the pilot failed. ``progress`` hears and stops the pilots."""
    learned = MEASURED.estimate(run_kind(scenario), n)
    if learned is not None:
        return learned
    pilot = lab_run(scenario, PILOT_POINTS, data, progress).outcome
    if pilot is None:
        return None
    if pilot.seconds < QUICK_PILOT_SECONDS and n > BATCH_PILOT_POINTS:
        batch = lab_run(scenario, BATCH_PILOT_POINTS, data, progress).outcome
        if batch is not None:
            return estimate_seconds(batch.seconds, BATCH_PILOT_POINTS, n)
    return estimate_seconds(pilot.seconds, PILOT_POINTS, n)



def curve_kind(scenario: Scenario, steps: int) -> tuple:
    """What a robustness curve's time per point depends on: the run's kind and the grid's number of budgets."""
    return ("curve", *run_kind(scenario), steps)


def estimate_curve(scenario: Scenario, n: int, steps: int, data: Dataset | None,
                   progress: Run | None = None) -> float | None:
    """Seconds a curve of ``steps`` budgets (one of them 0) should take on n points: a measured curve of the same
    kind scaled to n points, else :func:`estimate_run` times the attack runs the sweep makes. None when the pilot
    failed."""
    learned = MEASURED.estimate(curve_kind(scenario, steps), n)
    if learned is not None:
        return learned
    run = estimate_run(scenario, n, data, progress)
    return None if run is None else run * attack_runs(ATTACKS.get(scenario.attack), steps - 1)


def record_curve(scenario: Scenario, n: int, steps: int, seconds: float) -> None:
    """Remember a computed curve's time for :func:`estimate_curve`."""
    MEASURED.record(curve_kind(scenario, steps), n, seconds)

CURVES = BoundedCache(64)
