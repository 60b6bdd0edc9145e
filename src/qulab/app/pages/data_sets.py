"""Data Sets: choose the data every lab page uses (a built-in set or an uploaded CSV) and look at it."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pandas as pd
import streamlit as st

from qulab.app import own_model
from qulab.app import state as dc
from qulab.app.downloads import table_downloads
from qulab.app.widgets import param_widget
from qulab.data.datasets import DATASETS, SCALINGS, Dataset, Split, describe_eps
from qulab.data.profile import class_counts, feature_summary
from qulab.data.projection import view_2d
from qulab.data.upload import MISSING_VALUES_POLICY, UPLOAD_LIMITS, DataError
from qulab.figures.codelab import (
    build_class_balance_figure,
    build_image_grid_figure,
    build_projection_figure,
    sample_indices,
)
from qulab.reports import Table

SOURCES = {"builtin": "Built-in data set", "upload": "Upload a CSV file"}
SCALING_LABELS = {"none": "None (the features' own units)", "minmax": "Min-max: each feature to [0, 1]",
                  "standard": "Standard: mean 0, standard deviation 1"}
SCALING_HELP = ("Fitted on the training part only, then applied to both parts. Without scaling, a feature "
                "measured in thousands and one measured in fractions get the same eps, which means very "
                "different things; scaling makes one eps comparable across features.")
MAX_POINTS = 2000  # points in the 2-D view
EPS = 0.1


def md(text: str) -> str:
    """Text from data (column names, file names, loader messages) shown literally in Markdown."""
    return re.sub(r"([\\`*_\[\]<>#|~$])", r"\\\1", text)


def builtin_source() -> tuple[str, dict]:
    """Data-set selectbox, its description and its parameters, starting from what this session chose."""
    last = dc.last_builtin_choice()
    names = DATASETS.names()
    left, right = st.columns([2, 3])
    name = left.selectbox("Data set", names, index=names.index(last.name), key="ds_name",
                          format_func=lambda n: DATASETS.get(n).label,
                          help="scikit-learn's real data sets and toy generators; each entry says what it holds.")
    spec = DATASETS.get(name)
    left.caption(spec.description)
    remembered = dc.remembered_params(name)
    params = {}
    if spec.params:
        for column, param in zip(right.columns(len(spec.params)), spec.params, strict=True):
            params[param.name] = param_widget(replace(param, default=remembered[param.name]),
                                              key=f"ds_{name}_{param.name}", container=column)
    return name, params


def upload_source() -> dc.UploadEntry | None:
    """The uploader with its rules; the file shown is the new upload, else the last one that worked."""
    st.markdown(md(UPLOAD_LIMITS.describe()))
    st.caption(f"**Missing values.** {md(MISSING_VALUES_POLICY)}")
    file = st.file_uploader("CSV file", type=["csv", "tsv", "txt"], key="ds_file",
                            max_upload_size=max(1, math.ceil(UPLOAD_LIMITS.max_bytes / 2**20)),
                            help="The file is kept in this browser session's memory only; it is never saved "
                                 "to disk and other sessions cannot see it.")
    if file is not None:
        return dc.receive_upload(file.name, file.getvalue())
    held = dc.last_upload()
    if held is None:
        st.info("No file uploaded yet in this session.", icon=":material/upload_file:")
        return None
    st.caption(f"Using **{md(held[0].filename)}**, uploaded earlier in this session. Upload another file to "
               "replace it.")
    return held[0]


def upload_target(entry: dc.UploadEntry) -> str | None:
    """The target column picker for a parsed upload, what the loader ignored and noted; None on error."""
    if entry.error:
        st.error(md(entry.error), icon=":material/error:")
        return None
    frame = entry.parsed.frame
    columns = [str(c) for c in frame.columns]
    st.caption(f"**{md(entry.filename)}**: {len(frame):,} rows and {len(columns):,} columns read.")
    target = st.selectbox("Target column (the class to predict)", columns, index=columns.index(entry.target),
                          key=f"ds_target_{entry.key}",
                          help="The column holding the class labels; the numeric columns become the features. "
                               "The default is a column named like a label, else the last one that looks "
                               "like classes.")
    try:
        table = entry.table(target)
    except DataError as error:
        st.error(md(str(error)), icon=":material/error:")
        return None
    if table.ignored:
        st.markdown("**Columns not used as features**")
        st.dataframe(pd.DataFrame(table.ignored, columns=["column", "reason"]), hide_index=True)
    if table.notes:
        st.info("\n".join(f"- {md(note)}" for note in table.notes), icon=":material/info:")
    return target


def split_controls(current: dc.DataChoice) -> tuple[str, int, float]:
    scaling_col, seed_col, test_col = st.columns(3)
    scaling = scaling_col.selectbox("Scaling", SCALINGS, index=SCALINGS.index(current.scaling), key="ds_scaling",
                                    format_func=SCALING_LABELS.get, help=SCALING_HELP)
    seed = seed_col.number_input("Seed", min_value=dc.SEED_RANGE[0], max_value=dc.SEED_RANGE[1],
                                 value=current.seed, step=1, key="ds_seed",
                                 help="Fixes the random train/test split (and the generated toy data): the same "
                                      "seed gives the same data on every page and in every session.")
    test_size = test_col.slider("Test size", *dc.TEST_SIZE_RANGE, value=float(current.test_size), step=0.05,
                                key="ds_test_size", format="%.2f",
                                help="Share of the rows held out for testing (stratified: each class keeps its "
                                     "proportion). Attacks run on the test part.")
    return scaling, int(seed), float(test_size)


def show(choice: dc.DataChoice, data: Dataset, split: Split) -> None:
    """What the chosen data looks like: size, balance, a 2-D view, images, a feature summary, eps."""
    n_train, n_test = len(split.y_train), len(split.y_test)
    cols = st.columns(4)
    cols[0].metric("Rows", f"{n_train + n_test:,}", help="Rows in the data set (training + test).")
    cols[1].metric("Features", f"{len(split.feature_names):,}")
    cols[2].metric("Classes", f"{split.n_classes:,}")
    cols[3].metric("Training / test rows", f"{n_train:,} / {n_test:,}")
    st.info(f"**What eps = {EPS:g} means here.** {md(describe_eps(split, EPS))}", icon=":material/straighten:")

    left, right = st.columns(2)
    left.plotly_chart(build_class_balance_figure(
        split.class_names, class_counts(split.y_train, split.n_classes), class_counts(split.y_test, split.n_classes)),
        width="stretch")
    idx = sample_indices(n_train, MAX_POINTS)
    coords, titles, note = view_2d(split.X_train[idx], split.feature_names)
    right.plotly_chart(build_projection_figure(coords, split.y_train[idx], split.class_names, titles,
                                               "Training data in two dimensions (colour = class)"), width="stretch")
    sampled = f" {len(idx):,} of the {n_train:,} training rows are shown, chosen at random." \
        if len(idx) < n_train else ""
    right.caption(md(note) + sampled)

    if data.image_shape is not None:
        st.plotly_chart(build_image_grid_figure(data.X, data.y, data.class_names, data.image_shape, per_class=16,
                                                value_range=data.clip_values), width="stretch")
        st.caption("Raw pixel values before scaling: white is 0, black is full intensity.")

    st.subheader("Feature summary")
    features = feature_summary(split.X_train, split.feature_names)
    st.dataframe(features, hide_index=True, column_config={
        k: st.column_config.NumberColumn(k, format="%.4g") for k in ("min", "mean", "max", "std")})
    table_downloads(Table.from_frame("feature-summary", "Feature summary", features), "ds_features")
    scaled = "unscaled" if split.scaling == "none" else f"after {dc.SCALING_PHRASES[split.scaling]}"
    st.caption(f"Computed on the training part ({n_train:,} rows), {scaled}: these are the values a model and an "
               "attack see.")


def own_model_section(split: Split | None, label: str) -> None:
    """A model trained elsewhere, checked against the chosen data; the Lab pages attack it (held once per session,
    the same file as their own uploaders')."""
    st.subheader("Your own model", divider="gray")
    st.markdown(f"Bring a model trained elsewhere and attack it as it is, on the data chosen above, on the **Attack "
                f"Lab** and **Privacy** pages. A scikit-learn {md(own_model.white_box_kinds())} saved with skops is a "
                "**white box**: attacks read its gradients or its tree. An ONNX graph, or any other scikit-learn "
                "model, is a **black box**: it is only asked for its answers, so only the attacks that need no more "
                "apply.")
    model_file = own_model.uploaded("ds")
    if model_file is None:
        return
    own_model.show_threat_model(model_file)
    if split is None:
        st.info("Choose data above to check the model against them.", icon=":material/info:")
    elif own_model.fits(model_file, split):
        classes = ", ".join(map(str, split.class_names[:6])) + ("…" if split.n_classes > 6 else "")
        st.success(f"**{md(model_file.filename)}** fits **{md(label)}**: {split.X_train.shape[1]:,} features, "
                   f"classes {md(classes)}. The Attack Lab and Privacy pages attack it when *Which model* is set to "
                   "your own model file.", icon=":material/check_circle:")


st.title("Data Sets")
st.markdown(
    "Choose the data the **Lab** pages train and attack models on: one of the built-in data sets or a CSV file "
    "of your own. The choice stays while you move between pages, and for built-in data sets the page's address "
    "reproduces it, so you can share a link.")
current = dc.current_choice()
source = st.radio("Source", list(SOURCES), index=1 if current.is_upload else 0, format_func=SOURCES.get,
                  horizontal=True, key="ds_source")

if source == "builtin":
    name, params = builtin_source()
    entry, target = None, None
else:
    entry = upload_source()
    target = upload_target(entry) if entry is not None else None
st.markdown("**Split and scaling**")
scaling, seed, test_size = split_controls(current)

if source == "builtin":
    candidate = dc.builtin_choice(name, params, scaling, seed, test_size)
else:
    candidate = entry.choice(target, scaling, seed, test_size) if target is not None else None
split = None
if candidate is not None:
    try:
        split = dc.choice_split(candidate)
    except ValueError:  # a stratified split needs a row of every class in each part
        data = dc.choice_dataset(candidate)
        rows, n_classes = len(data.y), data.n_classes
        n_test = math.ceil(test_size * rows)
        st.error(f"A stratified split puts at least one row of each of the {n_classes} classes in both parts, but "
                 f"a test size of {test_size:.2f} splits the {rows:,} rows into {rows - n_test:,} for training "
                 f"and {n_test:,} for testing. Choose another test size, or use a file with more rows of each "
                 "class.", icon=":material/error:")
if split is not None:
    dc.commit_choice(candidate)
    dc.sync_query_params(candidate)
    st.success(f"The lab pages use **{md(candidate.label)}**.", icon=":material/check_circle:")
    show(candidate, dc.choice_dataset(candidate), split)
else:
    st.info(f"The lab pages keep using **{md(dc.current_choice().label)}**.", icon=":material/info:")
own_model_section(split, candidate.label if split is not None else "")
