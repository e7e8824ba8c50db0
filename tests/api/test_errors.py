"""One hierarchy of errors, one table of statuses, one middleware that applies it to every route."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from chalice.app import BadRequestError, Chalice, ChaliceUnhandledError
from chalice.test import Client

from chalicelib.api.http import error_response, json_errors
from chalicelib.core import errors

CHALICELIB = Path(errors.__file__).parent
BUILTIN_BASES = {"Exception", "ValueError", "LookupError", "RuntimeError", "KeyError", "OSError"}


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        (errors.BadPageToken("forged"), 400, "forged"),
        (errors.TokenRevoked("signed out"), 401, "signed out"),
        (errors.Forbidden("admins only"), 403, "admins only"),
        (errors.ObjectGone("expired"), 404, "expired"),
        (errors.AlreadyExists("EMP001 exists"), 409, "EMP001 exists"),
        (errors.UploadTooLarge("too big"), 413, "too big"),
        (errors.UnsafeStructure("junk bytes"), 422, "junk bytes"),
        (errors.EnrollmentError("no face"), 422, "no face"),
        (errors.PoolUnavailable("timeout"), 503, "timeout"),
        (errors.ScanNotRecorded("secret detail"), 500, "internal error"),  # never shown
        (KeyError("bug"), 500, "internal error"),
        (BadRequestError("chalice's own parsing"), 400, "chalice's own parsing"),
    ],
)
def test_each_error_answers_with_the_status_of_its_base(
    failure: Exception, status: int, message: str
) -> None:
    response = error_response(failure)
    assert (response.status_code, response.body) == (status, {"message": message})
    assert (response.headers.get("WWW-Authenticate") == "Bearer") == (status == 401)


def test_every_error_class_in_chalicelib_is_in_errors_py_under_facegate_error() -> None:
    names = set(vars(errors))
    elsewhere = []
    for path in CHALICELIB.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            bases = {b.id for b in getattr(node, "bases", []) if isinstance(b, ast.Name)}
            if isinstance(node, ast.ClassDef) and bases & (BUILTIN_BASES | names):
                elsewhere.append(f"{path.relative_to(CHALICELIB)}: {node.name}")
    assert elsewhere == []
    classes = [v for v in vars(errors).values() if isinstance(v, type) and v.__module__ == errors.__name__]
    assert all(issubclass(kind, errors.FacegateError) for kind in classes)


def throwaway_app() -> Chalice:
    app = Chalice(app_name="throwaway")
    app.register_middleware(json_errors, "http")

    @app.route("/open")
    def open_route() -> dict[str, str]:
        raise RuntimeError("a bug in a route without a guard")

    @app.route("/bridged")
    def bridged() -> dict[str, str]:  # what route_guard does with every failure
        try:
            raise errors.NotFound("no employee EMP404")
        except errors.NotFound as failure:
            raise ChaliceUnhandledError("NotFound") from failure

    return app


def test_the_middleware_shapes_every_error_body_alike() -> None:
    with Client(throwaway_app()) as client:
        crashed = client.http.get("/open")
        assert (crashed.status_code, json.loads(crashed.body)) == (500, {"message": "internal error"})
        missing = client.http.get("/bridged")
        assert (missing.status_code, json.loads(missing.body)) == (404, {"message": "no employee EMP404"})
        wrong = client.http.post("/bridged")
        assert wrong.status_code == 405 and json.loads(wrong.body) == {"message": "Unsupported method: POST"}
        assert wrong.headers["Allow"] == "GET"
