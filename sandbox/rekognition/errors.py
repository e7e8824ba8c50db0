"""The errors the endpoint answers with, as Rekognition names them."""

from __future__ import annotations


class ServiceError(Exception):
    """One Rekognition error: its code (``__type`` on the wire), message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def invalid(message: str = "Request has invalid parameters") -> ServiceError:
    """``InvalidParameterException``, the service's answer to most bad requests."""
    return ServiceError("InvalidParameterException", message)


def not_found(what: str) -> ServiceError:
    """``ResourceNotFoundException`` for a collection or user that does not exist."""
    return ServiceError("ResourceNotFoundException", f"The {what} does not exist")
