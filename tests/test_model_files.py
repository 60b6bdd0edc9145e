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
