"""Your own model on a Lab page: a choice between a model QuLab trains and a model file you upload.

The file is opened by :func:`qulab.models.files.open_model_file` (a separate, limited process); the page says which
threat model it allows and why, and checks it against the data in use before any attack. One file is held per
session (:data:`HELD_KEY`, its content name only: the open file itself is shared by content), whichever page it was
uploaded on.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from typing import Any

import streamlit as st

from qulab.app import widgets as lw
from qulab.core.registry import InvalidInput
from qulab.core.threat import DECISIONS, SCORES
from qulab.data.datasets import Split
from qulab.models.files import ESTIMATORS, LIMITS, ModelFile, open_model_file, opened
from qulab.models.registry import MODELS, ModelSpec

SOURCES = {"registry": "A model QuLab trains", "file": "Your own model file"}
FILE = "file"
HELD_KEY = "qulab.models.files.held"  # (scenario model name, filename) of the last file opened in this session
# The pages with a "Which model" choice (their widget prefixes): a file new to the session becomes their model once.
LAB_PREFIXES = ("al", "pv")


def source_key(prefix: str) -> str:
    return f"{prefix}_model_source"


def model_choice(lab: lw.LabData, prefix: str, url: str | None = None) -> tuple[ModelSpec, dict[str, Any]]:
    """The model a Lab page attacks: the registry's picker (``url`` as :func:`lw.model_picker` takes it), or an
    uploaded file (with its threat model shown); the page stops with one sentence while no usable file is there."""
    source = lw.kept_widget(lambda k: st.radio(
        "Which model", list(SOURCES), format_func=SOURCES.get, horizontal=True, key=k,
        help="QuLab trains a model from its registry on the data in use, or you bring a model that was trained "
             "elsewhere and attack it as it is."), source_key(prefix), "registry")
    if source == "registry":
        return lw.model_picker(lab, prefix, url=url)
    model_file = uploaded(prefix)
    if model_file is None or not fits(model_file, lab.split):
        st.stop()
    show_threat_model(model_file)
    return model_file.spec(), {}


def show_threat_model(model_file: ModelFile) -> None:
    """The threat model the file gives an attacker, and why, in one line."""
    threat = model_file.threat_model()
    icon = ":material/visibility:" if model_file.white_box else ":material/visibility_off:"
    st.markdown(f"{icon} **Threat model: {threat['label']}.** {lw.md(threat['why'][0].upper() + threat['why'][1:])}.")


def fits(model_file: ModelFile, split: Split) -> bool:
    """Whether the file's features and classes are the data's; if not, the reason is shown."""
    try:
        model_file.check_against(split.X_test.shape[1], tuple(split.class_names), tuple(split.feature_names))
    except InvalidInput as error:
        st.error(lw.md(str(error)), icon=":material/error:")
        return False
    return True


def white_box_kinds() -> str:
    """The scikit-learn models a file holds as a white box, from the allow-list and the registry ("logistic
    regression, linear SVM, … or decision tree")."""
    kinds = [m.in_text for m in (MODELS.get(name) for name in ESTIMATORS.values() if name is not None)
             if m.exposes - {SCORES, DECISIONS}]
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def uploaded(prefix: str) -> ModelFile | None:
    """The file uploaded now, else the one opened earlier in this session; None (with the reason shown) if none."""
    st.caption(f"A scikit-learn model saved with skops (`skops.io.dump`, .skops) or a model of any framework "
               f"exported to ONNX (.onnx), with class probabilities or labels as its output. {LIMITS.describe()} "
               "Pickle and joblib files are never opened.")
    file = st.file_uploader("Model file", type=["skops", "onnx"], key=f"{prefix}_model_file",
                            max_upload_size=max(1, math.ceil(LIMITS.max_bytes / 2**20)),
                            help="Kept in this server's memory while it is in use; never saved to disk.")
    state = st.session_state
    if file is not None:
        try:
            with st.spinner(f"Opening {file.name} in a separate process…"):
                model_file = open_model_file(file.getvalue(), file.name)
        except InvalidInput as error:
            st.error(lw.md(str(error)), icon=":material/gpp_bad:")
            return None
        hold(state, model_file)
        return model_file
    held = state.get(HELD_KEY)
    if held is None:
        st.info("No model file uploaded yet in this session.", icon=":material/upload_file:")
        return None
    try:
        model_file = opened(held[0])
    except InvalidInput as error:
        st.info(lw.md(str(error)), icon=":material/upload_file:")
        return None
    st.caption(f"Using **{lw.md(held[1])}**, uploaded earlier in this session. Upload another file to replace it.")
    return model_file


def hold(state: MutableMapping[str, Any], model_file: ModelFile) -> bool:
    """Keep ``model_file`` as the session's file; True when it is new to the session, and then every Lab page's
    "Which model" is set to the file, once: the uploader hands the same file back on every rerun, and a user who
    switches a page back to a registry model must stay there."""
    held = (model_file.scenario_name, model_file.filename)
    new = state.get(HELD_KEY) != held
    if new:
        kept = state.setdefault(lw.KEPT_KEY, {})
        for prefix in LAB_PREFIXES:
            key = source_key(prefix)
            kept[key] = FILE
            if key in state and state[key] != FILE:  # not drawn in this run: the widget is on another page
                state[key] = FILE
        state[HELD_KEY] = held
    return new
