"""HTTP plumbing: JSON errors ``{"message": …}`` with the right status, bodies, callers."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Chalice, ChaliceViewError, Request, Response

from chalicelib.auth import (
    Forbidden,
    KeysUnavailable,
    PoolUnavailable,
    Principal,
    Unauthorized,
    bearer_token,
    require,
)
from chalicelib.config import Settings
from chalicelib.errors import AlreadyExists, NotFound
from chalicelib.imaging import RejectedImage
from chalicelib.ports import BadPageToken
from chalicelib.recognition import EnrollmentError

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 7 * 1024 * 1024  # a 5 MB photo in base64 (6.7 MB) and its JSON


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def error(status: int, message: str, **headers: str) -> Response:
    return Response(
        body={"message": message}, status_code=status, headers={"Content-Type": "application/json", **headers}
    )


_STATUS_OF: list[tuple[type[Exception], int]] = [
    (ApiError, 0),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (AlreadyExists, 409),
    (EnrollmentError, 422),
    (RejectedImage, 422),
    (BadPageToken, 400),
    (KeysUnavailable, 503),
    (PoolUnavailable, 503),
]


def json_errors(handler: Callable[..., Any]) -> Callable[..., Response]:
    """Run a route; turn domain errors into JSON errors and anything else into a logged 500."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            result = handler(*args, **kwargs)
        except ChaliceViewError as failure:  # e.g. Chalice's own body parsing
            return error(failure.STATUS_CODE, str(failure))
        except Exception as failure:
            for kind, status in _STATUS_OF:
                if isinstance(failure, kind):
                    code = failure.status if isinstance(failure, ApiError) else status
                    extra = {"WWW-Authenticate": "Bearer"} if code == 401 else {}
                    return error(code, str(failure), **extra)
            log.exception("unhandled error in %s", handler.__name__)
            return error(500, "internal error")
        return result if isinstance(result, Response) else Response(body=result, status_code=200)

    return wrapped


GuardedView = Callable[..., Any]  # called as view(actor: Principal, **path_parameters)
Guard = Callable[..., Callable[[GuardedView], Callable[..., Response]]]


def route_guard(routes: Blueprint | Chalice) -> Guard:
    """``requires = route_guard(blueprint)``, then ``@requires(ADMINS, …)`` under each route.

    The one place a route's token is checked, before its handler runs; the handler gets the
    verified principal as its first argument. The groups are recorded on the view
    (``required_groups``), so a test can walk the route table for any route without them.
    """

    def requires(*groups: str) -> Callable[[GuardedView], Callable[..., Response]]:
        if not groups:
            raise ValueError("a guarded route needs at least one group")

        def decorate(handler: GuardedView) -> Callable[..., Response]:
            @functools.wraps(handler)
            def guarded(**path_parameters: Any) -> Any:
                request = routes.current_request
                if request is None:  # only outside a request; fail closed all the same
                    raise Unauthorized("no request to check")
                actor = caller(request, Settings.from_env(), *groups)
                return handler(actor, **path_parameters)

            view = json_errors(guarded)
            view.required_groups = groups  # type: ignore[attr-defined]
            return view

        return decorate

    return requires


def required_groups(view: Callable[..., Any]) -> tuple[str, ...] | None:
    """The groups ``route_guard`` recorded on a view; ``None`` for an unguarded one."""
    groups = getattr(view, "required_groups", None)
    return tuple(groups) if groups else None


def caller(request: Request, settings: Settings, *groups: str) -> Principal:
    """The verified principal of the request, who must be in one of ``groups``."""
    from chalicelib import wiring

    headers: Any = request.headers  # case-insensitive
    token = bearer_token(headers.get("authorization") if headers else None)
    principal = wiring.token_verifier(settings.auth).principal(token)
    require(principal, *groups)
    return principal


def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[… 100,000 deep
        raise ApiError(400, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


def query(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


ACCESS_TOKEN_SCOPE = "aws.cognito.signin.user.admin"  # in every access token of a user sign-in


def cognito_authorizer() -> Any:
    """API Gateway's Cognito authorizer for deployed stages, as a first gate before our checks.

    Read at import: Chalice imports app.py with the stage's variables set when it deploys,
    and ``make deploy`` writes FACEGATE_USER_POOL_ARN there. Offline there is none, and our
    own verification is the gate.
    """
    import os

    from chalice.app import CognitoUserPoolAuthorizer

    arn = os.environ.get("FACEGATE_USER_POOL_ARN", "")
    # With a scope API Gateway takes access tokens (without one, only id tokens, which we refuse).
    return (
        CognitoUserPoolAuthorizer("facegate-users", provider_arns=[arn], scopes=[ACCESS_TOKEN_SCOPE])
        if arn
        else None
    )


AUTHORIZER = cognito_authorizer()
