"""A user's own model file: opened in a limited child process, refused in one sentence when hostile, and attacked
with the threat model it exposes."""

import io
import pickle
import zipfile

import numpy as np
import pytest
import skops.io as sio
from hostile_payload import WritesMarker
from sklearn.linear_model import LogisticRegression

from qulab.core.registry import InvalidInput
from qulab.models.files import ALLOWED_TYPES, FileLimits, check_bytes, open_model_file


def _logistic_regression_bytes() -> bytes:
    X = np.random.default_rng(0).normal(size=(60, 3))
    return sio.dumps(LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)))


def _refusal(data: bytes, filename: str, **limits) -> str:
    with pytest.raises(InvalidInput) as refused:
        open_model_file(data, filename, FileLimits(**limits))
    message = str(refused.value)
    assert "\n" not in message and message.startswith(filename)
    return message


def test_a_type_off_the_allow_list_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "marker"
    data = sio.dumps({"model": WritesMarker(str(marker))})
    # The payload is live: a loader that trusts the file's own list of types runs it.
    sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert marker.read_text() == "the payload ran"
    marker.unlink()
    message = _refusal(data, "model.skops")
    assert "hostile_payload.WritesMarker" in message and "not on QuLab's list" in message
    assert not marker.exists()
    assert "hostile_payload.WritesMarker" not in ALLOWED_TYPES


def test_a_pickle_renamed_skops_is_refused_unopened(tmp_path):
    marker = tmp_path / "marker"
    data = pickle.dumps(WritesMarker(str(marker)))
    message = _refusal(data, "model.skops")
    assert "Python pickle, which QuLab never loads" in message
    assert not marker.exists()


def test_a_truncated_skops_file_is_refused():
    data = _logistic_regression_bytes()
    assert "damaged or truncated" in _refusal(data[: len(data) // 2], "model.skops")


def test_a_zip_bomb_is_refused_before_anything_is_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", "{}")
        with archive.open("huge.npy", "w", force_zip64=True) as member:
            zeros = bytes(2**20)
            for _ in range(64):  # 64 MB of zeros in a file of about 64 KB
                member.write(zeros)
    data = buffer.getvalue()
    assert len(data) < 2**20
    message = _refusal(data, "model.skops", max_unpacked_bytes=32 * 2**20)
    assert "would unpack to 64 MB" in message and "it was not unpacked" in message


def test_files_of_other_kinds_and_sizes_are_refused_by_their_bytes():
    with pytest.raises(InvalidInput, match="give a scikit-learn model saved with skops"):
        check_bytes(b"x", "model.pkl")
    with pytest.raises(InvalidInput, match="is empty"):
        check_bytes(b"", "model.onnx")
    with pytest.raises(InvalidInput, match="at most 1 MB"):
        check_bytes(bytes(2**20 + 1), "model.onnx", FileLimits(max_bytes=2**20))
    with pytest.raises(InvalidInput, match="it is a Python pickle"):
        check_bytes(pickle.dumps([1]), "model.onnx")


def test_an_onnx_file_with_an_unknown_operator_is_refused():
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("NoSuchOperator", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    assert onnx.load_model_from_string(data).graph.node[0].op_type == "NoSuchOperator"
    message = _refusal(data, "model.onnx")
    assert "NoSuchOperator" in message and "checker" in message


def test_a_file_that_takes_too_long_to_open_is_stopped():
    message = _refusal(_logistic_regression_bytes(), "model.skops", open_seconds=0.05)
    assert message == "model.skops took longer than 0.05 s to open it; it was stopped."


def test_a_model_that_asks_for_more_memory_than_its_limit_fails_in_words_and_the_parent_goes_on():
    """An ONNX graph that fills a 25,000 × 25,000 tensor (2.5 GB) on every query, in a child limited to 1 GB."""
    from onnx import TensorProto, helper, numpy_helper

    shape = numpy_helper.from_array(np.array([25_000, 25_000], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("ConstantOfShape", ["shape"], ["big"],
                          value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])),
         helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
         helper.make_node("Add", ["x", "total"], ["probabilities"])], "memory_bomb",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", 2])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["rows", 2])], [shape])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    model_file = open_model_file(data, "bomb.onnx", FileLimits(memory_bytes=2**30))
    try:
        with pytest.raises(InvalidInput, match=r"^bomb\.onnx could not answer: .*ONNXRuntimeError"):
            model_file.process.query("predict", np.zeros((3, 2)))
    finally:
        model_file.close()
    assert not model_file.process.running


class _Opened:
    """What the child says about a file it opened (the stand-in for a running process)."""

    def __init__(self, **info) -> None:
        self.info = {"n_features": 3, "classes": [0, 1], "feature_names": None, "outputs": "probabilities", **info}
        self.filename = "model.skops"


def _model_file(kind: str = "skops", **info):
    from qulab.models.files import ModelFile

    return ModelFile("model." + kind, "0" * 16, kind, b"", _Opened(**info))


@pytest.mark.parametrize("estimator, kind, outputs, knowledge, runs, refused", [
    ("sklearn.linear_model._logistic.LogisticRegression", "skops", "probabilities", "white-box",
     {"fgm", "deepfool", "hop_skip_jump", "zoo"}, {"decision_tree"}),
    ("sklearn.tree._classes.DecisionTreeClassifier", "skops", "probabilities", "white-box",
     {"decision_tree", "hop_skip_jump", "zoo"}, {"fgm", "deepfool"}),
    ("sklearn.ensemble._forest.RandomForestClassifier", "skops", "probabilities", "black-box",
     {"hop_skip_jump", "boundary", "zoo"}, {"fgm", "pgd", "deepfool", "decision_tree"}),
    ("onnx", "onnx", "probabilities", "black-box", {"hop_skip_jump", "boundary", "zoo"}, {"fgm", "cw_l2"}),
    ("onnx", "onnx", "labels", "black-box", {"hop_skip_jump", "boundary"}, {"zoo", "fgm"}),
])
def test_the_threat_model_follows_from_what_the_model_exposes(estimator, kind, outputs, knowledge, runs, refused):
    from qulab.threats.evasion.attacks import ATTACKS

    model_file = _model_file(kind, estimator=estimator, outputs=outputs)
    assert model_file.knowledge == knowledge
    assert model_file.threat_model()["label"] == knowledge.replace("-", " ")
    spec = model_file.spec()
    assert spec.name == "file:" + "0" * 16
    for name in runs:
        assert ATTACKS.get(name).unsupported_reason(spec) is None, name
    for name in refused:
        assert ATTACKS.get(name).unsupported_reason(spec) is not None, name


def test_features_and_classes_are_checked_against_the_data_in_one_sentence():
    model_file = _model_file(classes=["cat", "dog"], feature_names=["a", "b", "c"])
    model_file.check_against(3, ("cat", "dog"), ("a", "b", "c"))
    _model_file(classes=[0, 1]).check_against(3, ("benign", "malignant"))  # class codes in the data's order
    for args, words in (
        ((4, ("cat", "dog"), ("a", "b", "c")), "model.skops expects 3 features; the data have 4."),
        ((3, ("cat", "dog"), ("a", "b", "x")), "trained on the features a, b, c"),
        ((3, ("dog", "cat"), ("a", "b", "c")), "predicts the classes cat, dog; the data's classes are dog, cat."),
        ((3, ("cat", "dog", "eel"), ("a", "b", "c")), "the data's classes are cat, dog, eel."),
    ):
        with pytest.raises(InvalidInput, match=words.replace(".", r"\.")):
            model_file.check_against(*args)


def test_the_server_states_its_upload_limit_and_keeps_xsrf_protection_on():
    import tomllib
    from pathlib import Path

    from qulab.data.upload import UPLOAD_LIMITS
    from qulab.models.files import LIMITS

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["enableXsrfProtection"] is True
    # The server's cap (MB) lets through exactly the largest file an uploader states, and no more.
    assert server["maxUploadSize"] * 2**20 == max(LIMITS.max_bytes, UPLOAD_LIMITS.max_bytes)
    assert "at most 50 MB" in LIMITS.describe()


def test_a_scenario_names_a_model_file_by_content_and_refuses_what_does_not_apply_to_it():
    from qulab.core.experiment import Scenario

    scenario = Scenario(model="file:0123456789abcdef", attack="hop_skip_jump", norm="2", eps=0.5).validate()
    assert Scenario.from_query(scenario.to_query()) == scenario
    assert scenario.model_key[-2:] == ("file:0123456789abcdef", ())
    for extra in ({"model_params": (("C", 1.0),)}, {"defence": "gaussian_noise"}):
        with pytest.raises(InvalidInput, match="attacked as it is"):
            Scenario(model="file:0123456789abcdef", **extra).validate()
