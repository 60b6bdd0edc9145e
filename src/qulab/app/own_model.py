"""Your own model on a Lab page: a choice between a model QuLab trains and a model file you upload.

The file is opened by :func:`qulab.models.files.open_model_file` (a separate, limited process); the page says which
threat model it allows and why, and checks it against the data in use before any attack.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from qulab.app import widgets as lw
from qulab.core.registry import InvalidInput
from qulab.models.files import LIMITS, ModelFile, open_model_file, opened
from qulab.models.registry import ModelSpec

SOURCES = {"registry": "A model QuLab trains", "file": "Your own model file"}
HELD_KEY = "qulab.models.files.held"  # (scenario model name, filename) of the last file opened in this session


def model_choice(lab: lw.LabData, prefix: str) -> tuple[ModelSpec, dict[str, Any]]:
    """The model a Lab page attacks: the registry's picker, or an uploaded file (with its threat model shown);
    the page stops with one sentence while no usable file is there."""
    source = lw.kept_widget(lambda k: st.radio(
        "Which model", list(SOURCES), format_func=SOURCES.get, horizontal=True, key=k,
        help="QuLab trains a model from its registry on the data in use, or you bring a model that was trained "
             "elsewhere and attack it as it is."), f"{prefix}_model_source", "registry")
    if source == "registry":
        return lw.model_picker(lab, prefix)
    model_file = _uploaded(prefix)
    if model_file is None:
        st.stop()
    try:
        model_file.check_against(lab.split.X_test.shape[1], tuple(lab.split.class_names),
                                 tuple(lab.split.feature_names))
    except InvalidInput as error:
        st.error(lw.md(str(error)), icon=":material/error:")
        st.stop()
    threat = model_file.threat_model()
    icon = ":material/visibility:" if model_file.white_box else ":material/visibility_off:"
    st.markdown(f"{icon} **Threat model: {threat['label']}.** {lw.md(threat['why'][0].upper() + threat['why'][1:])}.")
    return model_file.spec(), {}


def _uploaded(prefix: str) -> ModelFile | None:
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
        state[HELD_KEY] = (model_file.scenario_name, model_file.filename)
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
