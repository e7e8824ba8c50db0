"""The two repairs OpenCV Zoo's int8 files need before onnxruntime runs them, made in
memory on the files parsed with onnx's generated protobuf module alone (``onnx_messages``:
importing the ``onnx`` package costs 0.8 s of a cold start, nearly all of it ml_dtypes).

YuNet's int8 weights are dequantised to float32 (onnxruntime refuses the file's
block-quantised DequantizeLinear nodes); SFace keeps only its ``data`` input (the file lists
its 174 weights as graph inputs too).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from chalicelib.core.errors import ModelUnavailable

# TensorProto element types of the two files' initializers.
FLOAT, UINT8, INT8, INT32, INT64 = 1, 2, 3, 6, 7
TENSOR_TYPES = {FLOAT: "<f4", UINT8: "u1", INT8: "i1", INT32: "<i4", INT64: "<i8"}


def dequantised(model: Any) -> Any:
    """``model`` (an onnx ModelProto) with every DequantizeLinear of constant weights folded
    into a float32 weight: per-tensor, per-axis or blocked, as the node's attributes say."""
    import numpy as np

    constants = {tensor.name: _array(tensor) for tensor in model.graph.initializer}
    kept_nodes = []
    folded: dict[str, Any] = {}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or any(name not in constants for name in node.input):
            kept_nodes.append(node)
            continue
        attributes = {attribute.name: attribute for attribute in node.attribute}
        axis = attributes["axis"].i if "axis" in attributes else 1
        block = attributes["block_size"].i if "block_size" in attributes else 0
        values = constants[node.input[0]].astype(np.float32)
        scale = constants[node.input[1]].astype(np.float32)
        zero = constants[node.input[2]].astype(np.float32) if len(node.input) > 2 and node.input[2] else 0.0
        folded[node.output[0]] = (values - _spread(zero, values, axis, block)) * _spread(
            scale, values, axis, block
        )
    del model.graph.node[:]
    model.graph.node.extend(kept_nodes)
    used = {name for node in kept_nodes for name in node.input}
    kept = [tensor for tensor in model.graph.initializer if tensor.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    for name, array in folded.items():
        model.graph.initializer.add(name=name, dims=array.shape, data_type=FLOAT, raw_data=array.tobytes())
    return model


def _array(tensor: Any) -> Any:
    """An initializer (TensorProto) as a numpy array, for the element types these files use."""
    import numpy as np

    dtype = TENSOR_TYPES.get(tensor.data_type)
    if dtype is None:
        raise ModelUnavailable(f"the model's tensor {tensor.name} has element type {tensor.data_type}")
    shape = tuple(tensor.dims)
    if tensor.raw_data:
        return np.frombuffer(tensor.raw_data, dtype=dtype).reshape(shape)
    values = {FLOAT: tensor.float_data, INT64: tensor.int64_data}.get(tensor.data_type, tensor.int32_data)
    return np.asarray(values).astype(dtype).reshape(shape)


@functools.cache
def onnx_messages() -> Any:
    """onnx's generated protobuf module (``ModelProto`` and the rest), loaded once from its
    file alone: importing the ``onnx`` package costs 0.8 s at a cold start (its ml_dtypes),
    and the layer ships only this file of it."""
    import importlib.util as util

    spec = util.find_spec("onnx")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the onnx package (its protobuf messages) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "onnx_ml_pb2.py"
    loader = util.spec_from_file_location("facegate_onnx_ml_pb2", path)
    if loader is None or loader.loader is None:
        raise ModelUnavailable("onnx's protobuf messages cannot be loaded")
    module = util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def load_model(data: bytes) -> Any:
    """An ONNX file's bytes as a ModelProto."""
    model = onnx_messages().ModelProto()
    model.ParseFromString(data)
    return model


def _spread(parameter: Any, values: Any, axis: int, block: int) -> Any:
    """A scale or zero point shaped to broadcast over ``values``."""
    import numpy as np

    parameter = np.asarray(parameter, dtype=np.float32)
    if parameter.ndim == 0 or parameter.size == 1:
        return parameter.reshape(())
    axis %= values.ndim
    if block:
        return np.repeat(parameter, block, axis=axis)[tuple(slice(0, n) for n in values.shape)]
    shape = [1] * values.ndim
    shape[axis] = parameter.size
    return parameter.reshape(shape)


def only_input(model: Any, name: str) -> Any:
    """``model`` with every graph input but ``name`` dropped (weights listed as inputs)."""
    kept = [graph_input for graph_input in model.graph.input if graph_input.name == name]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    return model
