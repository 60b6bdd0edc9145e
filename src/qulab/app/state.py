"""The data set every lab page uses: chosen on the Data Sets page, kept in session state and in the URL.

Streamlit drops the widget state of pages that are not shown, so the choice lives under session-state
keys that belong to no widget; built-in choices are also written to the URL's query parameters
(``?data=moons&noise=0.3&scaling=minmax``), so a link reproduces the view. A link may also name the rest of an
experiment (``&attack=pgd&norm=2&eps=0.5&attack.max_iter=10``, see :meth:`Scenario.to_query`), which the Attack
Lab starts from. A link is read through :meth:`Scenario.from_query`; each part it cannot use is dropped and shown
as one sentence. Uploaded files stay in this session's memory only (never on disk), parsed once per content hash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from qulab.core.experiment import SEED_RANGE, Scenario  # noqa: F401 - SEED_RANGE: the Data Sets page's seed input
from qulab.core.registry import InvalidInput, resolve_params
from qulab.data.datasets import DATASETS, Dataset, Split, dataset_from_table, load_dataset, split_dataset
from qulab.data.upload import (
    DataError,
    ParsedTable,
    TabularData,
    content_hash,
    parse_csv,
    propose_target,
    to_dataset,
)

UPLOAD_PREFIX = "upload:"
DEFAULT_NAME, DEFAULT_SCALING, DEFAULT_SEED, DEFAULT_TEST_SIZE = "synthetic", "none", 42, 0.2
TEST_SIZE_RANGE = (0.1, 0.5)
SCALING_PHRASES = {"none": "no scaling", "minmax": "min-max scaling", "standard": "standard scaling"}
MAX_UPLOADS = 3  # parsed files kept per session (the one in use is never dropped)
MAX_TARGETS = 4  # validated target choices kept per file

# Session-state keys: none of them is a widget key, so they survive page switches.
CHOICE_KEY = "qulab.data.choice"  # the DataChoice the lab pages use
BUILTIN_KEY = "qulab.data.builtin"  # the last built-in choice (to return to from an upload)
PARAMS_KEY = "qulab.data.params"  # built-in name -> its last parameters
UPLOADS_KEY = "qulab.data.uploads"  # content hash -> UploadEntry, oldest first
LAST_UPLOAD_KEY = "qulab.data.last_upload"  # the last upload choice that worked
LINK_KEY = "qulab.link"  # the Link the URL named when the session began (if it named more than data)
URL_READ_KEY = "qulab.url.read"  # the page settings' URL keys already read in this session

# The query parameters this module owns; other keys in the URL are left alone.
URL_KEYS = ("data", "scaling", "seed", "test_size", *sorted({p.name for spec in DATASETS for p in spec.params}))
# The other parts of an experiment a link may name; each is read (or refused) as a whole.
LINK_PARTS = {"model": ("model",), "attack": ("attack", "norm", "eps"), "defence": ("defence",)}


@dataclass(frozen=True)
class Link:
    """The experiment a URL named, and which of its parts the URL gave (the rest are defaults)."""

    scenario: Scenario
    named: frozenset[str]


@dataclass(frozen=True)
class DataChoice:
    """Which data, how it is split and scaled: hashable, so it can key caches."""

    name: str = DEFAULT_NAME  # a registry name, or "upload:<first 12 hex digits of the content hash>"
    params: tuple[tuple[str, Any], ...] = ()
    scaling: str = DEFAULT_SCALING
    seed: int = DEFAULT_SEED
    test_size: float = DEFAULT_TEST_SIZE
    label: str = ""

    @property
    def is_upload(self) -> bool:
        return self.name.startswith(UPLOAD_PREFIX)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | int) and not isinstance(value, bool) else str(value)


def _split_phrase(scaling: str, seed: int, test_size: float) -> str:
    return f"{SCALING_PHRASES[scaling]}, seed {seed}, {test_size:.0%} test"


def builtin_choice(name: str, params: Mapping[str, Any] | None = None, scaling: str = DEFAULT_SCALING,
                   seed: int = DEFAULT_SEED, test_size: float = DEFAULT_TEST_SIZE) -> DataChoice:
    """A built-in data set with all its parameters resolved (defaults filled in, values validated)."""
    spec = DATASETS.get(name)
    resolved = resolve_params(spec.params, dict(params or {}))
    resolved = {k: round(v, 10) if isinstance(v, float) else v for k, v in resolved.items()}
    shown = ", ".join(f"{p.label.lower()} {_fmt(resolved[p.name])}" for p in spec.params)
    label = f"{spec.label}{f' ({shown})' if shown else ''}; {_split_phrase(scaling, seed, test_size)}"
    return DataChoice(name, tuple(sorted(resolved.items())), scaling, int(seed), round(float(test_size), 10), label)


def default_choice() -> DataChoice:
    return builtin_choice(DEFAULT_NAME)


# ---------------------------------------------------------------------------------------------------------
# The URL


def query_from_choice(choice: DataChoice) -> dict[str, str]:
    """The query parameters of a built-in choice: the data set's name, then what differs from the defaults."""
    if choice.is_upload:
        return {}
    query = {"data": choice.name}
    defaults = {p.name: p.default for p in DATASETS.get(choice.name).params}
    query.update({k: _fmt(v) for k, v in choice.params if v != defaults.get(k)})
    if choice.scaling != DEFAULT_SCALING:
        query["scaling"] = choice.scaling
    if choice.seed != DEFAULT_SEED:
        query["seed"] = str(choice.seed)
    if choice.test_size != DEFAULT_TEST_SIZE:
        query["test_size"] = f"{choice.test_size:g}"
    return query


def choice_from_query(query: Mapping[str, str]) -> tuple[DataChoice | None, list[str]]:
    """The data choice a link describes (None if it names none) and one sentence for each value it could not use."""
    link, messages = link_from_query(query)
    return (None if link is None else _data_choice(link.scenario)), messages


def _data_choice(scenario: Scenario) -> DataChoice:
    return builtin_choice(scenario.dataset, dict(scenario.dataset_params), scenario.scaling, scenario.seed,
                          scenario.test_size)


def link_from_query(query: Mapping[str, str]) -> tuple[Link | None, list[str]]:
    """The experiment a link names (None if it names nothing of QuLab's), read part by part through
    :meth:`Scenario.from_query`: a part it refuses (one data value; the model, attack or defence with its
    settings) is dropped, so the rest of the link still applies, and its sentence is returned."""
    parts = {part: [key for key in query if _part_of(key) == part] for part in LINK_PARTS}
    if not any(key in query for key in URL_KEYS) and not any(parts.values()):
        return None, []
    messages: list[str] = []
    name = query.get("data", DEFAULT_NAME)
    if name not in DATASETS:
        known = ", ".join(DATASETS.names())
        what = ("an uploaded file, which a link cannot carry; upload the file again"
                if name.startswith(UPLOAD_PREFIX) else f"not a built-in data set (choose from {known})")
        messages.append(f"The link's data set '{name}' is {what}. Showing the default data set instead.")
        name = DEFAULT_NAME
    accepted = {"data": name}
    data_keys = ["scaling", "seed", "test_size", *(p.name for p in DATASETS.get(name).params)]
    named = set()
    for part, keys in [*((key, [key]) for key in data_keys if key in query), *parts.items()]:
        if not keys:
            continue
        trial = {**accepted, **{key: query[key] for key in keys}}
        try:
            scenario = _read_part(trial, {key: query[key] for key in parts["attack"]} if part == "model" else {})
        except InvalidInput as error:
            messages.append(str(error))
            continue
        if part == "test_size" and not TEST_SIZE_RANGE[0] <= scenario.test_size <= TEST_SIZE_RANGE[1]:
            messages.append(f"The link's test size '{query[part]}' is outside {TEST_SIZE_RANGE[0]:g} to "
                            f"{TEST_SIZE_RANGE[1]:g}; using the default, {DEFAULT_TEST_SIZE:g}.")
            continue
        accepted = trial
        named.add(part)
    return Link(Scenario.from_query(accepted, strict=False), frozenset(named)), messages


def _read_part(trial: Mapping[str, str], attack: Mapping[str, str]) -> Scenario:
    """The scenario of a link's part; the model is read with the link's attack (when that reading works), so a
    model that runs only some attacks (a decision tree with HopSkipJump) is not refused for the default FGM."""
    if not attack:
        return Scenario.from_query(trial, strict=False)
    try:
        return Scenario.from_query({**trial, **attack}, strict=False)
    except InvalidInput as with_attack:
        try:  # the attack may be refused on its own (its sentence comes with its part), the model still fine
            return Scenario.from_query(trial, strict=False)
        except InvalidInput:
            raise with_attack from None  # the pair: said for the link's attack, not the default one


def _part_of(key: str) -> str | None:
    """Which part of an experiment a URL key belongs to ("attack" for attack, norm, eps and attack.max_iter)."""
    return next((part for part, names in LINK_PARTS.items() if key in names or key.split(".")[0] == part), None)


def sync_link(scenario: Scenario, parts: tuple[str, ...] = ("model", "attack")) -> None:
    """Write these parts of the page's experiment into the URL, so a link reproduces it; the data keys are the
    Data Sets page's (:func:`sync_query_params`) and other keys are kept."""
    wanted = {key: value for key, value in scenario.query_params().items() if _part_of(key) in parts}
    for key in [key for key in st.query_params if _part_of(key) in parts and key not in wanted]:
        del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def sync_query_params(choice: DataChoice) -> None:
    """Write a built-in choice into the URL (an upload clears it); other pages' keys are kept."""
    wanted = query_from_choice(choice)
    for key in URL_KEYS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]


@dataclass(frozen=True)
class UrlKey:
    """A page setting's place in the URL beyond the experiment's (the Robustness page's grid and attacks, the
    Defences page's ticked defences): its query key, how a value is written, and how the text is read back
    (raising ValueError or InvalidInput on text it cannot use)."""

    name: str
    show: Callable[[Any], str] = str
    parse: Callable[[str], Any] = str


def url_value(key: UrlKey) -> Any | None:
    """The value the URL gives a page setting, read the first time a page asks for it in this session (a copied
    link opened on that page); None when the URL gives none, or one that cannot be read (shown as one sentence)."""
    read: set[str] = st.session_state.setdefault(URL_READ_KEY, set())
    if key.name in read:
        return None
    read.add(key.name)
    text = st.query_params.get(key.name)
    if text is None:
        return None
    try:
        return key.parse(text)
    except (ValueError, InvalidInput) as error:
        st.error(f"The link's {key.name} '{text}' cannot be used ({error}); the page starts from its default.",
                 icon=":material/link_off:")
        return None


def show_in_url(values: Mapping[str, str]) -> None:
    """Write page settings into the URL (each key only when its text changed; other keys are kept)."""
    for name, text in values.items():
        if st.query_params.get(name) != text:
            st.query_params[name] = text


# ---------------------------------------------------------------------------------------------------------
# The session's choice


def current_choice() -> DataChoice:
    """The data set the lab pages use; on a session's first call it comes from the URL (or the default)."""
    state = st.session_state
    if CHOICE_KEY not in state:
        link, messages = link_from_query(st.query_params.to_dict())
        for message in messages:
            st.error(message, icon=":material/link_off:")
        if link is not None and link.named & set(LINK_PARTS):
            state[LINK_KEY] = link
        commit_choice(default_choice() if link is None else _data_choice(link.scenario))
    return state[CHOICE_KEY]


def link() -> Link | None:
    """The experiment the session's first URL named beyond its data (the Attack Lab starts from it)."""
    return st.session_state.get(LINK_KEY)


def commit_choice(choice: DataChoice) -> None:
    """Make ``choice`` the one the lab pages use, and remember it for the way back to its source."""
    state = st.session_state
    state[CHOICE_KEY] = choice
    if choice.is_upload:
        state[LAST_UPLOAD_KEY] = choice
    else:
        state[BUILTIN_KEY] = choice
        state.setdefault(PARAMS_KEY, {})[choice.name] = dict(choice.params)


def last_builtin_choice() -> DataChoice:
    return st.session_state.get(BUILTIN_KEY) or default_choice()


def remembered_params(name: str) -> dict[str, Any]:
    """The parameters a built-in data set had when last chosen in this session (else its defaults)."""
    spec = DATASETS.get(name)
    remembered = st.session_state.get(PARAMS_KEY, {}).get(name, {})
    return {p.name: remembered.get(p.name, p.default) for p in spec.params}


def choice_scenario(choice: DataChoice, **overrides: Any) -> Scenario:
    """A scenario on the chosen data; ``overrides`` set the model, attack, eps and so on."""
    return Scenario(**{"dataset": choice.name, "dataset_params": choice.params, "scaling": choice.scaling,
                       "seed": choice.seed, "test_size": choice.test_size, **overrides})


# ---------------------------------------------------------------------------------------------------------
# Data


@st.cache_data(max_entries=16, show_spinner="Loading the data set…")
def _builtin_dataset(name: str, params: tuple[tuple[str, Any], ...], seed: int) -> Dataset:
    return load_dataset(name, dict(params), seed=seed)


@st.cache_data(max_entries=32, show_spinner=False)
def _builtin_split(name: str, params: tuple[tuple[str, Any], ...], seed: int, test_size: float,
                   scaling: str) -> Split:
    return split_dataset(_builtin_dataset(name, params, seed), test_size, seed, scaling)


def choice_dataset(choice: DataChoice) -> Dataset:
    """The chosen data set (before splitting and scaling)."""
    if choice.is_upload:
        return dataset_from_table(_upload_for(choice).table(dict(choice.params)["target"]))
    return _builtin_dataset(choice.name, choice.params, choice.seed)


def choice_split(choice: DataChoice) -> Split:
    """The chosen data's stratified train/test split; raises ValueError if it cannot be split that way."""
    if choice.is_upload:
        return split_dataset(choice_dataset(choice), choice.test_size, choice.seed, choice.scaling)
    return _builtin_split(choice.name, choice.params, choice.seed, choice.test_size, choice.scaling)


# ---------------------------------------------------------------------------------------------------------
# Uploads: parsed once per content hash, in this session's memory only


@dataclass(eq=False)
class UploadEntry:
    """One uploaded file: its parsed table (or why it could not be read) and the target last chosen."""

    filename: str
    digest: str
    parsed: ParsedTable | None = None
    error: str | None = None
    target: str | None = None
    tables: dict[str, TabularData | str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.digest[:12]

    @property
    def choice_name(self) -> str:
        return UPLOAD_PREFIX + self.key

    def table(self, target: str) -> TabularData:
        """The data set with ``target`` as the class column (validated once); raises DataError."""
        if self.parsed is None:
            raise DataError(self.error or "The file could not be read.")
        if target not in self.tables:
            try:
                self.tables[target] = to_dataset(self.parsed, target)
            except DataError as error:
                self.tables[target] = str(error)
            while len(self.tables) > MAX_TARGETS:
                del self.tables[next(iter(self.tables))]
        self.target = target
        result = self.tables[target]
        if isinstance(result, str):
            raise DataError(result)
        return result

    def choice(self, target: str, scaling: str, seed: int, test_size: float) -> DataChoice:
        label = f"{self.filename} (target '{target}'); {_split_phrase(scaling, seed, test_size)}"
        return DataChoice(self.choice_name, (("target", target),), scaling, int(seed),
                          round(float(test_size), 10), label)


def receive_upload(filename: str, data: bytes) -> UploadEntry:
    """The session's entry for these bytes: parsed on first sight, then reused (keyed by content hash)."""
    uploads: dict[str, UploadEntry] = st.session_state.setdefault(UPLOADS_KEY, {})
    digest = content_hash(data)
    entry = uploads.pop(digest, None)
    if entry is None:
        entry = UploadEntry(filename=filename, digest=digest)
        try:
            entry.parsed = parse_csv(data)
            entry.target = propose_target(entry.parsed)
        except DataError as error:
            entry.parsed, entry.error = None, str(error)
    entry.filename = filename
    uploads[digest] = entry  # most recent last
    in_use = {c.name for c in (st.session_state.get(CHOICE_KEY), st.session_state.get(LAST_UPLOAD_KEY)) if c}
    for old in [d for d, e in uploads.items() if e is not entry and e.choice_name not in in_use]:
        if len(uploads) <= MAX_UPLOADS:
            break
        del uploads[old]
    return entry


def _upload_for(choice: DataChoice) -> UploadEntry:
    key = choice.name.removeprefix(UPLOAD_PREFIX)
    for entry in st.session_state.get(UPLOADS_KEY, {}).values():
        if entry.key == key:
            return entry
    raise InvalidInput("The uploaded file is no longer in this session (the browser tab was reloaded or the "
                       "session expired). Upload it again on the Data Sets page.")


def last_upload() -> tuple[UploadEntry, DataChoice] | None:
    """The last upload that worked in this session, and its choice, if it is still held."""
    choice = st.session_state.get(LAST_UPLOAD_KEY)
    if choice is None:
        return None
    try:
        return _upload_for(choice), choice
    except InvalidInput:
        return None
