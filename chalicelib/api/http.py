"""HTTP plumbing: JSON errors ``{"message": …}`` with the right status, bodies, callers.

Errors are mapped in one place, ``json_errors``, registered once as the app's HTTP
middleware (app.py). Chalice 1.34 turns any exception a view raises into its own 500 before
a middleware sees it, except ``ChaliceUnhandledError`` (aws/chalice#1884), so ``route_guard``
hands every failure on as one, chained to the original, and ``json_errors`` maps the original.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Chalice, ChaliceUnhandledError, ChaliceViewError, Request, Response

from chalicelib.auth.tokens import Principal, bearer_token, require
from chalicelib.core.config import Settings
from chalicelib.core.display import display_text
from chalicelib.core.errors import (
    BadRequest,
    Conflict,
    DuplicateKey,
    FacegateError,
    Forbidden,
    NonFiniteNumber,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UnprocessablePhoto,
)
from chalicelib.core.json_text import strict_json
from chalicelib.core.ports import Page

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 7 * 1024 * 1024  # a 5 MB photo in base64 (6.7 MB) and its JSON


def error(status: int, message: str, **headers: str) -> Response:
    return _json_error(status, {"message": message}, headers)


def _json_error(status: int, body: dict[str, object], headers: dict[str, str]) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **headers})


# The bases of chalicelib.core.errors and their statuses. InternalFailure is deliberately absent:
# it and anything unexpected are a logged 500 that shows nothing of the cause.
STATUS_OF: tuple[tuple[type[FacegateError], int], ...] = (
    (BadRequest, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (UnprocessablePhoto, 422),
    (Unavailable, 503),
)


def error_response(failure: BaseException) -> Response:
    """The JSON error a failure answers with: its base's status, or a logged 500."""
    if isinstance(failure, ChaliceViewError):  # e.g. Chalice's own body parsing
        return error(failure.STATUS_CODE, str(failure))
    for kind, status in STATUS_OF:
        if isinstance(failure, kind):
            extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
            return _json_error(status, {"message": str(failure), **failure.fields}, extra)
    log.error("unhandled error: %s", type(failure).__name__, exc_info=failure)
    return error(500, "internal error")


def json_errors(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """The app's HTTP middleware: every route's failures as JSON errors (see the module doc).

    A query parameter given twice is refused here, for every route at once, before any
    handler could read one of its values (``request.query_params[name]`` is the last).
    Chalice's own error answers (its 500 for a view that raised, 405, 415) get the same
    ``{"message": …}`` shape, so a client parses one kind of error body.
    """
    try:
        refuse_repeated_parameters(request)
        response = get_response(request)
    except BadRequest as refused:  # shaped below like every other error (SCIM's too)
        response = error_response(refused)
    except ChaliceUnhandledError as raised:
        response = error_response(raised.__cause__ or raised)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        message = "internal error" if response.status_code >= 500 else str(body["Message"])
        allow = {name: str(value) for name, value in response.headers.items() if name.lower() == "allow"}
        response = error(response.status_code, message, **allow)
    if response.status_code >= 400 and (request.path or "").startswith(SCIM_PREFIX):
        return scim_error(response)
    return response


SCIM_PREFIX = "/scim/v2"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# RFC 7644 §3.12's scimType for an error raised outside the SCIM services (a repeated query
# parameter, a body over the limit…): a taken userName is ``uniqueness``, a 400 ``invalidValue``.
DEFAULT_SCIM_TYPE = {400: "invalidValue", 409: "uniqueness"}


def scim_error(response: Response) -> Response:
    """A JSON error as RFC 7644 §3.12 shapes it: ``status`` a string, ``detail``, ``scimType``
    where one applies (a taken userName is ``uniqueness``)."""
    body = response.body if isinstance(response.body, dict) else {}
    scim: dict[str, object] = {
        "schemas": [SCIM_ERROR],
        "status": str(response.status_code),
        "detail": str(body.get("message", "")),
    }
    scim_type = body.get("scimType") or DEFAULT_SCIM_TYPE.get(response.status_code)
    if scim_type:
        scim["scimType"] = scim_type
    headers = {**response.headers, "Content-Type": "application/scim+json"}
    return Response(body=scim, status_code=response.status_code, headers=headers)


GuardedView = Callable[..., Any]  # called as view(actor: Principal, **path_parameters)
Guard = Callable[..., Callable[[GuardedView], Callable[..., Response]]]


def route_guard(routes: Blueprint | Chalice) -> Guard:
    """``requires = route_guard(blueprint)``, then ``@requires(ADMINS, …)`` under each route.

    The one place a route's token is checked, before its handler runs; the handler gets the
    verified principal as its first argument, and its failures reach ``json_errors``. The
    groups are recorded on the view (``required_groups``), so a test can walk the route
    table for any route without them. The app must register ``json_errors`` (app.py does):
    without it a refused token is still refused, but as a 500.
    """

    def requires(*groups: str) -> Callable[[GuardedView], Callable[..., Response]]:
        if not groups:
            raise ValueError("a guarded route needs at least one group")

        def decorate(handler: GuardedView) -> Callable[..., Response]:
            @functools.wraps(handler)
            def guarded(**path_parameters: Any) -> Any:
                try:
                    request = routes.current_request
                    if request is None:  # only outside a request; fail closed all the same
                        raise Unauthorized("no request to check")
                    actor = caller(request, Settings.from_env(), *groups)
                    return handler(actor, **path_parameters)
                except Exception as failure:  # for json_errors to map (see the module doc)
                    raise ChaliceUnhandledError(type(failure).__name__) from failure

            guarded.required_groups = groups  # type: ignore[attr-defined]
            return guarded

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
    """The request body as a JSON object; a key named twice in any object of it is a 400
    (plain ``json.loads`` would keep the last: ``{"effect":"DENY","effect":"GRANT"}``)."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body over {MAX_BODY_BYTES} bytes")
    try:
        body = strict_json(raw)
    except (DuplicateKey, NonFiniteNumber):  # their own message
        raise
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[… 100,000 deep
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def page_body(page: Page[Any]) -> dict[str, Any]:
    """A page of models as the API shows it: ``{"items": […], "next_token": …}``."""
    return {"items": [item.to_dict() for item in page.items], "next_token": page.next_token}


def refuse_repeated_parameters(request: Request) -> None:
    """``BadRequest`` for a query parameter given more than once (``?status=A&status=B``):
    Chalice hands a route the last value, so one part of a chain could read another value
    than the next. Once per name is the API's whole query grammar."""
    params = request.query_params
    for name in params or {}:
        if len(params.getlist(name)) > 1:  # type: ignore[union-attr]
            raise BadRequest(f"query parameter '{display_text(name, 60)}' is given more than once")


def query(request: Request) -> dict[str, str]:
    """The query parameters, one value each (``json_errors`` refused any given twice)."""
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
