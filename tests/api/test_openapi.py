"""The OpenAPI document in the repo describes exactly the app's routes, and is valid."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

from app import app

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi.yaml"


def test_the_document_is_valid_openapi() -> None:
    validate(yaml.safe_load(DOCUMENT.read_text()))


def test_every_route_is_documented_and_every_documented_operation_exists() -> None:
    documented = {
        (path, method.upper())
        for path, operations in yaml.safe_load(DOCUMENT.read_text())["paths"].items()
        for method in operations
        if method != "parameters"
    }
    routed = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert routed == documented


def test_every_operation_but_health_requires_a_token() -> None:
    document = yaml.safe_load(DOCUMENT.read_text())
    assert document["security"] == [{"bearer": []}]
    open_operations = [
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters" and operation.get("security") == []
    ]
    assert open_operations == [("/health", "get")]  # the app itself: tests/api/test_route_auth.py
