"""JSON 1.1 on the wire, checked against botocore's own model of Rekognition.

Requests are decoded by their input shape (blobs from base64, timestamps from epoch
seconds), then validated: botocore's ``ParamValidator`` checks presence, types and
minimums; ``_constraints`` adds what it leaves to the service (maximums, enums, patterns).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.rekognition.errors import ServiceError, invalid

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape


@functools.cache
def service_model() -> ServiceModel:
    """botocore's model of Rekognition, the one the SDK itself speaks."""
    import botocore.session

    session = botocore.session.get_session()
    return session.get_service_model("rekognition")


def operation_model(operation: str) -> OperationModel:
    """The model of one operation; ``UnknownOperationException`` when there is none."""
    from botocore.model import OperationNotFoundError

    try:
        return service_model().operation_model(operation)
    except OperationNotFoundError:
        raise ServiceError("UnknownOperationException", f"Unknown operation {operation}") from None


def decode_request(operation: str, body: Any) -> dict[str, Any]:
    """The request's parameters as Python values, or the error the service would answer."""
    from botocore.validate import ParamValidator

    shape = operation_model(operation).input_shape
    if not isinstance(body, dict):
        raise ServiceError("SerializationException", "Start of structure or map found where not expected")
    if shape is None:
        return {}
    params: dict[str, Any] = _decode(shape, body, "")
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise invalid(report.generate_report())
    problems = _constraints(shape, params, "")
    if problems:
        raise invalid(f"{len(problems)} validation error(s) detected: " + "; ".join(problems))
    return params


def encode_response(value: Any) -> Any:
    """A response as JSON-ready values (datetimes as epoch seconds, as the service sends)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {key: encode_response(item) for key, item in value.items()}
    if isinstance(value, list):
        return [encode_response(item) for item in value]
    return value


def _decode(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {
            name: _decode(members[name], item, f"{path}.{name}")
            for name, item in value.items()
            if name in members and item is not None
        }
    if kind == "list" and isinstance(value, list):
        return [_decode(shape.member, item, f"{path}[]") for item in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {key: _decode(shape.value, item, path) for key, item in value.items()}  # type: ignore[attr-defined]
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ServiceError("SerializationException", f"{path.lstrip('.')}: not base64") from None
    if kind == "timestamp" and isinstance(value, int | float):
        return datetime.fromtimestamp(value)
    return value


def _constraints(shape: Shape, value: Any, path: str) -> list[str]:
    """Maximums, enums and patterns: the model's constraints botocore does not check."""
    metadata, kind, name = shape.metadata, shape.type_name, path.lstrip(".") or "request"
    problems: list[str] = []
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            problems += _constraints(members[key], item, f"{path}.{key}")
        return problems
    if kind == "list":
        for item in value:
            problems += _constraints(shape.member, item, f"{path}[]")  # type: ignore[attr-defined]
    # Image bytes over their maximum are the service's ImageTooLargeException, not this.
    size = len(value) if kind in ("string", "list", "map") else value if kind != "blob" else 0
    if "max" in metadata and isinstance(size, int | float) and size > metadata["max"]:
        problems.append(f"Value at '{name}' failed to satisfy constraint: at most {metadata['max']}")
    enum: list[str] = getattr(shape, "enum", [])
    if kind == "string" and enum and value not in enum:
        problems.append(f"Value '{value}' at '{name}' failed to satisfy constraint: one of {enum}")
    pattern = metadata.get("pattern")
    if kind == "string" and pattern and re.fullmatch(pattern, value) is None:
        problems.append(f"Value '{value}' at '{name}' failed to satisfy constraint: pattern {pattern}")
    return problems
