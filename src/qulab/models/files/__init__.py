"""A user's own model file (scikit-learn as ``.skops``, any framework as ``.onnx``), opened safely and attacked.

The file is never opened in QuLab's process first. Its bytes are checked (size; a ``.skops`` file must be a zip
archive whose declared unpacked size is bounded, so a pickle renamed ``.skops`` and a zip bomb are refused before
anything is unpacked), then a child process with an address-space and CPU limit (:mod:`.worker`) opens it: skops
with QuLab's fixed list of scikit-learn types (never the file's own list, never pickle), ONNX through onnxruntime
with the standard operators only. The child says what the model is (features, classes, outputs) and answers
queries; the parent checks that against the data.

What an attacker can do follows from what the model exposes, read from the registry entries:

- a scikit-learn type whose :data:`qulab.models.registry.MODELS` entry exposes gradients or the tree's structure
  (logistic regression, linear and kernel SVMs, a decision tree) is a white box. ART differentiates the
  estimator itself, so it is loaded a second time, in this process, with the same allow-list, only after the
  child opened it without a fault and within its limits: skops then builds nothing but allowed types, whose
  size the child has just shown to fit.
- everything else (an ONNX graph, a forest, boosting, scikit-learn's MLP, a pipeline) is a black box: it stays in
  the child and ART sees it as a ``BlackBoxClassifier`` that asks the child for scores (or labels only), so only
  the score- and decision-based attacks apply, by their entries' declared access.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import threading
import weakref
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qulab.core.experiment import MODEL_FILE_PREFIX
from qulab.core.registry import InvalidInput
from qulab.core.threat import BLACK_BOX, DECISIONS, SCORES, WHITE_BOX
from qulab.models.registry import MODELS, ModelSpec

KINDS = {".skops": "skops", ".onnx": "onnx"}
WORKER = Path(__file__).with_name("worker.py")

# scikit-learn estimators QuLab attacks from a .skops file, each with the registry entry that describes the same
# class (its access, linearity and ART wrapper); None: a black box answering with scores.
ESTIMATORS: dict[str, str | None] = {
    "sklearn.linear_model._logistic.LogisticRegression": "logistic_regression",
    "sklearn.svm._classes.LinearSVC": "linear_svm",
    "sklearn.svm._classes.SVC": "rbf_svm",
    "sklearn.tree._classes.DecisionTreeClassifier": "decision_tree",
    "sklearn.ensemble._forest.RandomForestClassifier": "random_forest",
    "sklearn.ensemble._gb.GradientBoostingClassifier": "gradient_boosting",
    "sklearn.neural_network._multilayer_perceptron.MLPClassifier": None,
    "sklearn.pipeline.Pipeline": None,
}
# Every type skops may build from a file, besides the containers and NumPy types skops itself trusts: the
# estimators above and the parts they are made of. Fixed here; a file's own list of types is never used.
ALLOWED_TYPES: tuple[str, ...] = (
    *ESTIMATORS,
    "sklearn.tree._tree.Tree",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.dummy.DummyClassifier",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
)
ZIP_MAGIC = b"PK\x03\x04"
BLACK_BOX_FAMILY = "file"  # the family of a file's model that is only queried: nothing about its form is known
PICKLE_PROTOCOL_BYTE = 0x80


@dataclass(frozen=True)
class FileLimits:
    """What a model file may take: bytes on upload, unpacked bytes and members of a .skops archive, and the
    child's address space, CPU time and wall-clock time to open the file and to answer one query."""

    max_bytes: int = 50 * 2**20
    max_unpacked_bytes: int = 500 * 2**20
    max_members: int = 10_000
    memory_bytes: int = 3 * 2**30
    cpu_seconds: int = 600
    open_seconds: float = 60.0
    query_seconds: float = 60.0

    def describe(self) -> str:
        return (f"A model file may be at most {self.max_bytes // 2**20} MB ({self.max_unpacked_bytes // 2**20} MB "
                f"unpacked); it is opened in a separate process with {self.memory_bytes // 2**30} GB of memory and "
                f"{self.open_seconds:.0f} s to open.")


LIMITS = FileLimits()


def kind_of(filename: str) -> str:
    """'skops' or 'onnx' from the file's extension; anything else is refused in one sentence."""
    kind = KINDS.get(Path(filename).suffix.lower())
    if kind is None:
        raise InvalidInput(f"{filename} is not a model file QuLab opens: give a scikit-learn model saved with "
                           "skops (.skops) or an ONNX model (.onnx).")
    return kind


def check_bytes(data: bytes, filename: str, limits: FileLimits = LIMITS) -> str:
    """The file's kind after the checks that need no library: size, and for .skops a zip archive of bounded
    declared size holding skops's schema (a pickle renamed .skops and a zip bomb stop here, unopened)."""
    kind = kind_of(filename)
    if not data:
        raise InvalidInput(f"{filename} is empty.")
    if len(data) > limits.max_bytes:
        raise InvalidInput(f"{filename} is {len(data) / 2**20:.1f} MB; a model file may be at most "
                           f"{limits.max_bytes // 2**20} MB.")
    if kind == "skops":
        _check_skops_archive(data, filename, limits)
    elif data.startswith(ZIP_MAGIC) or data[0] == PICKLE_PROTOCOL_BYTE:
        what = "a Python pickle" if data[0] == PICKLE_PROTOCOL_BYTE else "a zip archive"
        raise InvalidInput(f"{filename} is not an ONNX model (it is {what}); export the model with the ONNX exporter "
                           "of its framework.")
    return kind


def _check_skops_archive(data: bytes, filename: str, limits: FileLimits) -> None:
    if not data.startswith(ZIP_MAGIC):
        what = "a Python pickle, which QuLab never loads" if data[0] == PICKLE_PROTOCOL_BYTE else "not a zip archive"
        raise InvalidInput(f"{filename} is not a skops file: a skops file is a zip archive, and this one is {what}; "
                           "save the model with skops.io.dump.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise InvalidInput(f"{filename} is a damaged or truncated zip archive ({error}); save the model "
                           "again.") from None
    if len(members) > limits.max_members:
        raise InvalidInput(f"{filename} holds {len(members)} files; a skops file of a model QuLab attacks holds at "
                           f"most {limits.max_members}.")
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.max_unpacked_bytes:
        raise InvalidInput(f"{filename} would unpack to {unpacked / 2**20:,.0f} MB, beyond the "
                           f"{limits.max_unpacked_bytes // 2**20} MB a model file may unpack to; it was not unpacked.")
    if "schema.json" not in archive.namelist():  # nothing is unpacked here: the child reads the members
        raise InvalidInput(f"{filename} is a zip archive without skops's schema.json: save the model with "
                           "skops.io.dump.")


class ModelProcess:
    """The child process holding one opened model file; queries are answered one at a time (sessions share it)."""

    def __init__(self, data: bytes, kind: str, filename: str, limits: FileLimits = LIMITS) -> None:
        self.filename, self.limits = filename, limits
        self._lock = threading.Lock()
        env = {"PATH": os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        self._process = subprocess.Popen(
            [sys.executable, "-I", str(WORKER), str(limits.memory_bytes), str(limits.cpu_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd="/")
        self._finalizer = weakref.finalize(self, _stop, self._process)
        request = {"kind": kind, "allowed_types": list(ALLOWED_TYPES), "estimators": list(ESTIMATORS)}
        header, _ = self._exchange(request, limits.open_seconds, "open it", np.frombuffer(data, dtype=np.uint8))
        if not header.get("ok"):
            self.close()
            raise InvalidInput(f"{filename} was refused: {header.get('error', 'it could not be opened')}.")
        self.info = header

    def _exchange(self, query: dict[str, Any], seconds: float, doing: str,
                  X: np.ndarray | None = None) -> tuple[dict[str, Any], Any]:
        """Send a request and read the answer within ``seconds``; the child is
        stopped when it takes longer or dies, and the caller told why in one sentence."""
        from qulab.models.files.worker import ProtocolError, receive, send

        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            self._process.kill()

        timer = threading.Timer(seconds, stop)
        timer.start()
        try:
            send(self._process.stdin, query, X)
            return receive(self._process.stdout)
        except (ProtocolError, OSError, ValueError):
            self.close()
            if timed_out.is_set():
                raise InvalidInput(f"{self.filename} took longer than {seconds:g} s to {doing}; it was "
                                   "stopped.") from None
            code = self._process.returncode
            why = ("it went beyond its memory or CPU limit" if code is not None and code < 0
                   else f"its process ended (exit status {code})")
            raise InvalidInput(f"{self.filename} failed to {doing}: {why}.") from None
        finally:
            timer.cancel()

    def query(self, op: str, X: np.ndarray) -> np.ndarray:
        """The child's answer to ``op`` ('predict' or 'proba') on the rows of X, checked for shape."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        with self._lock:
            if self._process.poll() is not None:
                raise InvalidInput(f"{self.filename} is no longer open (closed to make room for other files); "
                                   "upload it again.")
            header, answer = self._exchange({"op": op}, self.limits.query_seconds, "answer a query", X)
        if not header.get("ok"):
            raise InvalidInput(f"{self.filename} could not answer: {header.get('error')}.")
        if answer is None or len(answer) != len(X):
            raise InvalidInput(f"{self.filename} answered {0 if answer is None else len(answer)} rows for {len(X)}.")
        return answer

    def close(self) -> None:
        self._finalizer()

    @property
    def running(self) -> bool:
        return self._process.poll() is None


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


class QueriedModel:
    """The child's model as an estimator-like object: ``predict`` gives class codes, ``predict_proba`` scores."""

    def __init__(self, process: ModelProcess, n_features: int, n_classes: int) -> None:
        self.process, self.n_features, self.n_classes = process, n_features, n_classes
        self.labels_only = process.info["outputs"] == "labels"

    def predict(self, X: np.ndarray) -> np.ndarray:
        answer = self.process.query("predict", X)
        labels = np.argmax(answer, axis=1) if answer.ndim == 2 else answer.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise InvalidInput(f"{self.process.filename} answered class {int(labels.max())}; the data have "
                               f"{self.n_classes} classes (0 to {self.n_classes - 1}).")
        return labels

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class scores; a model that gives labels only answers one-hot rows (what ART's decision-based attacks
        read)."""
        if self.labels_only:
            return np.eye(self.n_classes)[self.predict(X)]
        scores = self.process.query("proba", X)
        if scores.ndim != 2 or scores.shape[1] != self.n_classes:
            raise InvalidInput(f"{self.process.filename} answered {scores.shape[-1]} scores per row; the data have "
                               f"{self.n_classes} classes.")
        return scores


@dataclass(frozen=True)
class ModelFile:
    """An opened model file: what it is, the threat model it allows, and the child process that holds it."""

    filename: str
    digest: str
    kind: str
    data: bytes = field(repr=False)
    process: ModelProcess = field(repr=False, compare=False)

    @property
    def scenario_name(self) -> str:
        """The scenario's model: the file by its content, so equal files give equal scenarios."""
        return f"{MODEL_FILE_PREFIX}{self.digest}"

    @property
    def estimator_type(self) -> str:
        return self.process.info["estimator"]

    @property
    def registry_entry(self) -> ModelSpec | None:
        name = ESTIMATORS.get(self.estimator_type)
        return MODELS.get(name) if name else None

    @property
    def exposes(self) -> frozenset[str]:
        entry = self.registry_entry
        if entry is not None:
            return entry.exposes
        return frozenset({DECISIONS} if self.process.info["outputs"] == "labels" else {SCORES, DECISIONS})

    @property
    def white_box(self) -> bool:
        """ART can use more than the model's answers (gradients, the tree's structure)."""
        return bool(self.exposes - {SCORES, DECISIONS})

    @property
    def knowledge(self) -> str:
        return WHITE_BOX if self.white_box else BLACK_BOX

    def threat_model(self) -> dict[str, Any]:
        """What the attacker gets from this model, and why, as the CLI prints it and the page says it."""
        what = ("an ONNX graph" if self.kind == "onnx" else f"a scikit-learn {self.estimator_type.rsplit('.', 1)[1]}")
        exposes = _listing(sorted(self.exposes))
        if self.white_box:
            why = (f"{what}, which ART can see inside (it exposes {exposes}); it is loaded here with QuLab's "
                   "allow-list after a separate, limited process opened it without fault")
        else:
            answers = "labels only" if self.process.info["outputs"] == "labels" else "class scores"
            why = (f"{what}, which is only queried, in a separate process, for {answers}: only the attacks that "
                   f"need no more than {exposes} apply")
        return {"knowledge": self.knowledge, "label": "white box" if self.white_box else "black box",
                "exposes": sorted(self.exposes), "why": why, "model": what,
                "outputs": self.process.info["outputs"]}

    def spec(self) -> ModelSpec:
        """A model entry for this file (not registered): its access decides which attacks the pages offer."""
        entry = self.registry_entry
        if entry is not None and self.white_box:  # "a logistic regression in model.skops has none"
            return ModelSpec(self.scenario_name, f"{entry.label} in {self.filename}", entry.family,
                             entry.description, _not_trainable, entry.exposes, linear=entry.linear, wrap=entry.wrap)
        return black_box_spec(self.scenario_name, f"Model in {self.filename}", self.exposes)

    def check_against(self, n_features: int, class_names: tuple[str, ...],
                      feature_names: tuple[str, ...] | None = None) -> None:
        """Refuse in one sentence a model whose features or classes are not the data's."""
        info, name = self.process.info, self.filename
        if info["n_features"] is not None and info["n_features"] != n_features:
            raise InvalidInput(f"{name} expects {info['n_features']} features; the data have {n_features}. Use the "
                               "data the model was trained on (same feature columns, same order).")
        if info["feature_names"] is not None and feature_names is not None and \
                tuple(info["feature_names"]) != tuple(feature_names):
            raise InvalidInput(f"{name} was trained on the features {', '.join(info['feature_names'][:5])}…; the data "
                               f"have {', '.join(feature_names[:5])}…: give the data the model's feature columns.")
        classes = info["classes"]
        if classes is None:
            return
        names = [str(c) for c in class_names]
        if [str(c) for c in classes] == names or list(classes) == list(range(len(names))):
            return
        raise InvalidInput(f"{name} predicts the classes {', '.join(map(str, classes[:6]))}; the data's classes are "
                           f"{', '.join(names[:6])}. Use data with the model's classes.")

    def fitted(self, split: Any) -> Any:
        """The model on the split's test data: checked against it, then wrapped for ART (white box: the
        estimator loaded here with the allow-list; black box: queries to the child)."""
        from qulab.evaluation.pipeline import FittedModel

        self.check_against(split.X_test.shape[1], tuple(split.class_names), tuple(split.feature_names))
        spec = self.spec()
        if self.white_box:
            import skops.io as sio

            estimator = sio.loads(self.data, trusted=list(ALLOWED_TYPES))
            if [str(c) for c in estimator.classes_] == [str(c) for c in split.class_names]:
                estimator.classes_ = np.arange(len(split.class_names))  # this copy answers with the data's codes
        else:
            estimator = QueriedModel(self.process, split.X_test.shape[1], len(split.class_names))
        return FittedModel(spec, estimator, spec.art_classifier(estimator, split.clip_values), 0.0)

    def close(self) -> None:
        self.process.close()


def black_box_spec(name: str, label: str, exposes: frozenset[str]) -> ModelSpec:
    """The model entry of a file that is only queried (for what it ``exposes``: scores and decisions, or decisions)."""
    return ModelSpec(name, label, BLACK_BOX_FAMILY, "A model you uploaded, queried in a separate process.",
                     _not_trainable, exposes, wrap=_black_box_wrap)


def _listing(items: list[str]) -> str:
    """"a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _not_trainable(**_: Any) -> Any:
    raise InvalidInput("a model from a file is attacked as it is; QuLab does not train it.")


def _black_box_wrap(estimator: QueriedModel, clip_values: tuple[float, float] | None) -> Any:
    """ART's BlackBoxClassifier around the child's answers: scores, or one-hot labels for a labels-only model."""
    from art.estimators.classification import BlackBoxClassifier

    return BlackBoxClassifier(estimator.predict_proba, input_shape=(estimator.n_features,),
                              nb_classes=estimator.n_classes, clip_values=clip_values)


MAX_OPEN_FILES = 8  # child processes kept at once; opening a ninth file closes the one used least recently
_open_files: OrderedDict[str, ModelFile] = OrderedDict()
_open_lock = threading.Lock()


def open_model_file(data: bytes, filename: str, limits: FileLimits = LIMITS) -> ModelFile:
    """Check the bytes, open the file in a limited child process, and return it; InvalidInput (one sentence)
    for every file QuLab refuses. The file is kept open by its content (:func:`opened`), for the scenarios that
    name it; the same bytes opened again reuse the running process."""
    filename = Path(filename).name or "the model file"
    digest = hashlib.sha256(data).hexdigest()[:16]
    name = f"{MODEL_FILE_PREFIX}{digest}"
    with _open_lock:
        held = _open_files.get(name)
        if held is not None and held.process.running and held.filename == filename:
            _open_files.move_to_end(name)
            return held
    kind = check_bytes(data, filename, limits)
    model_file = ModelFile(filename, digest, kind, data, ModelProcess(data, kind, filename, limits))
    with _open_lock:
        _open_files[name] = model_file
        while len(_open_files) > MAX_OPEN_FILES:
            _open_files.popitem(last=False)[1].close()
    return model_file


def opened(scenario_model: str) -> ModelFile:
    """The open file a scenario's model names ("file:<digest>")."""
    with _open_lock:
        model_file = _open_files.get(scenario_model)
        if model_file is not None:
            _open_files.move_to_end(scenario_model)
    if model_file is None or not model_file.process.running:
        raise InvalidInput("The model file this experiment names is not open in this server (it was closed to make "
                           "room for others, or never uploaded here); upload it again.")
    return model_file


def read_model_file(path: str | Path, limits: FileLimits = LIMITS) -> ModelFile:
    """:func:`open_model_file` on a file on disk (the CLI's ``--model-file``)."""
    path = Path(path)
    kind_of(path.name)
    try:
        size = path.stat().st_size
        if not path.is_file():  # a device, pipe or folder: /dev/zero behind a .skops link would be read forever
            raise InvalidInput(f"{path.name} is not a regular file; give the saved model file itself.")
        if size > limits.max_bytes:
            raise InvalidInput(f"{path.name} is {size / 2**20:.1f} MB; a model file may be at most "
                               f"{limits.max_bytes // 2**20} MB.")
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read the model file {path}: {error.strerror or error}.") from None
    return open_model_file(data, path.name, limits)
