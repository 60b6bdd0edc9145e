"""The child process that opens a user's model file and answers queries on it; nothing else ever opens one.

Run as a script (``python -I worker.py MEMORY_BYTES CPU_SECONDS``) so that it imports nothing of QuLab: it limits
its own address space and CPU time before it imports any library, then reads requests on stdin and answers on
stdout. Both directions use :func:`send` / :func:`receive`: a JSON header and an optional raw array, never pickle,
so a file that took over this process still cannot make the parent run code by what it sends back.
"""

from __future__ import annotations

import json
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct("<I")  # length of the JSON header that follows
MAX_HEADER_BYTES = 1 << 20
ARRAY_DTYPES = ("<f4", "<f8", "<i8", "|u1")  # the only arrays either side accepts
MAX_ARRAY_BYTES = 1 << 30


class ProtocolError(Exception):
    """The other side sent something that is not a message of this protocol."""


def send(stream: BinaryIO, header: dict[str, Any], array: Any = None) -> None:
    """A JSON header, then the array's raw bytes if there is one (its dtype and shape in the header)."""
    import numpy as np

    if array is not None:
        array = np.ascontiguousarray(array)
        header = {**header, "dtype": array.dtype.str, "shape": list(array.shape)}
    text = json.dumps(header).encode()
    stream.write(HEADER.pack(len(text)) + text)
    if array is not None:
        stream.write(array.tobytes())
    stream.flush()


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise ProtocolError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(stream: BinaryIO) -> tuple[dict[str, Any], Any]:
    """One message: its header and its array (None without one), checked against the protocol's limits."""
    import numpy as np

    (size,) = HEADER.unpack(_read_exactly(stream, HEADER.size))
    if size > MAX_HEADER_BYTES:
        raise ProtocolError(f"a header of {size} bytes is beyond the limit")
    header = json.loads(_read_exactly(stream, size))
    if not isinstance(header, dict):
        raise ProtocolError("a header that is not a JSON object")
    if "dtype" not in header:
        return header, None
    dtype, shape = header.pop("dtype"), header.pop("shape")
    if dtype not in ARRAY_DTYPES or not isinstance(shape, list) or not 1 <= len(shape) <= 2 or not all(
            isinstance(n, int) and n >= 0 for n in shape):
        raise ProtocolError(f"an array of dtype {dtype!r} and shape {shape!r}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise ProtocolError(f"an array of {nbytes} bytes is beyond the limit")
    return header, np.frombuffer(_read_exactly(stream, nbytes), dtype=dtype).reshape(shape)


# ---------------------------------------------------------------------------------------------------------------
# The child's side


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Refused(Exception):
    """The file cannot be used; the message is the sentence the user reads."""


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _open_skops(data: bytes, request: dict[str, Any]) -> dict[str, Any]:
    import skops.io as sio

    allowed = list(request["allowed_types"])
    offending = [name for name in sio.get_untrusted_types(data=data) if name not in allowed]
    if offending:
        raise Refused(f"the file names the type {offending[0]}, which is not on QuLab's list of scikit-learn "
                      f"types it loads, so it was not loaded")
    model = sio.loads(data, trusted=allowed)
    if _type_name(model) not in request["estimators"]:
        raise Refused(f"the file holds a {_type_name(model)}, which QuLab does not attack; it takes "
                      f"{', '.join(name.rsplit('.', 1)[1] for name in request['estimators'])}")
    classes = getattr(model, "classes_", None)
    n_features = getattr(model, "n_features_in_", None)
    if classes is None or n_features is None:
        raise Refused(f"the {type(model).__name__} in the file was saved before it was fitted")
    names = getattr(model, "feature_names_in_", None)
    return {"estimator": _type_name(model), "n_features": int(n_features),
            "classes": [c.item() if hasattr(c, "item") else c for c in classes],
            "feature_names": None if names is None else [str(n) for n in names],
            "outputs": "probabilities" if callable(getattr(model, "predict_proba", None)) else "labels",
            "_model": model}


_STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")


def _open_onnx(data: bytes, request: dict[str, Any]) -> dict[str, Any]:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto

    try:
        proto = onnx.load_model_from_string(data)
    except Exception as error:  # noqa: BLE001 — protobuf says "Error parsing message" and the like
        raise Refused(f"it is not a readable ONNX model ({' '.join(str(error).split())[:120]})") from None
    initializers = list(proto.graph.initializer) + [t for node in proto.graph.node for a in node.attribute
                                                    for t in ([a.t] if a.HasField("t") else [])]
    if any(t.data_location == TensorProto.EXTERNAL for t in initializers):
        raise Refused("the ONNX model keeps its weights in external files, which QuLab does not read; export it "
                      "as one self-contained file")
    if proto.functions:
        raise Refused("the ONNX model defines functions of its own, which QuLab does not run")
    for node in proto.graph.node:
        if node.domain not in _STANDARD_DOMAINS:
            raise Refused(f"the ONNX model uses the operator {node.op_type} of the custom domain {node.domain!r}; "
                          "QuLab runs the standard ONNX operators only")
    try:
        onnx.checker.check_model(proto)
    except Exception as error:  # noqa: BLE001 — the checker's messages are one of several classes
        raise Refused(f"the ONNX model does not pass ONNX's checker: {' '.join(str(error).split())[:200]}") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 — onnxruntime raises its own Fail / InvalidGraph classes
        raise Refused(f"onnxruntime cannot run the model: {' '.join(str(error).split())[:200]}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].type not in ("tensor(float)", "tensor(double)") or len(inputs[0].shape) != 2:
        raise Refused("the ONNX model must take one input, a float tensor of shape [rows, features]")
    width = inputs[0].shape[1]
    output, outputs = None, "labels"
    for candidate in session.get_outputs():
        if candidate.type in ("tensor(float)", "tensor(double)") and len(candidate.shape) == 2:
            output, outputs = candidate, "probabilities"
            break
    if output is None:
        output = next((o for o in session.get_outputs() if o.type == "tensor(int64)" and len(o.shape) == 1), None)
    if output is None:
        raise Refused("the ONNX model has no output QuLab reads: class probabilities (a float tensor [rows, "
                      "classes]) or labels (an int64 tensor [rows])")
    n_classes = output.shape[1] if outputs == "probabilities" and isinstance(output.shape[1], int) else None
    return {"estimator": "onnx", "n_features": width if isinstance(width, int) else None,
            "classes": None if n_classes is None else list(range(n_classes)), "feature_names": None,
            "outputs": outputs, "_model": (session, inputs[0], output)}


def _answer(opened: dict[str, Any], op: str, X: Any) -> Any:
    import numpy as np

    model = opened["_model"]
    if opened["estimator"] == "onnx":
        session, given, wanted = model
        X = X.astype(np.float64 if given.type == "tensor(double)" else np.float32)
        result = np.asarray(session.run([wanted.name], {given.name: X})[0])
        return result.astype(np.float64) if result.dtype.kind == "f" else result.astype(np.int64)
    if op == "proba":
        return np.asarray(model.predict_proba(X), dtype=np.float64)
    labels = np.asarray(model.predict(X))
    index = {c: k for k, c in enumerate(opened["classes"])}
    return np.array([index[c.item() if hasattr(c, "item") else c] for c in labels], dtype=np.int64)


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Open the file the first request sends, say what it is, then answer queries until stdin closes."""
    request, payload = receive(stdin)
    opener = {"skops": _open_skops, "onnx": _open_onnx}[request["kind"]]
    try:
        opened = opener(payload.tobytes(), request)
    except Refused as refusal:
        send(stdout, {"ok": False, "error": str(refusal)})
        return
    except MemoryError:
        send(stdout, {"ok": False, "error": "opening it needed more memory than a model file is allowed"})
        return
    except Exception as error:  # noqa: BLE001 — any other failure of a library on a hostile file is a refusal
        send(stdout, {"ok": False, "error": f"it could not be opened ({type(error).__name__}: "
                                            f"{' '.join(str(error).split())[:200]})"})
        return
    send(stdout, {"ok": True, **{k: v for k, v in opened.items() if not k.startswith("_")}})
    while True:
        try:
            query, X = receive(stdin)
        except ProtocolError:
            return
        try:
            send(stdout, {"ok": True}, _answer(opened, query["op"], X))
        except MemoryError:
            send(stdout, {"ok": False, "error": "answering needed more memory than a model is allowed"})
        except Exception as error:  # noqa: BLE001 — the model's own failure, told to the parent in words
            send(stdout, {"ok": False, "error": f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"})


if __name__ == "__main__":
    import os

    _limit(int(sys.argv[1]), int(sys.argv[2]))
    # The protocol gets its own copy of stdout; whatever a library prints goes to stderr instead.
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, protocol)
