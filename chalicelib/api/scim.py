"""Routes under /scim/v2 (SCIM 2.0, RFC 7644) for the identity provider, and the admins' route
that issues its token (POST /scim/token).

/scim/v2 is guarded by the SCIM token alone (``scim_guard``: no Cognito authorizer, no
Cognito token); its errors are SCIM error bodies (``http.json_errors``). Bodies go through the
API's one JSON parser, at most ``MAX_SCIM_BODY`` bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, ChaliceUnhandledError, Request, Response

from chalicelib.api.http import AUTHORIZER, json_object, query, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.core.errors import BadRequest, NotFound, PayloadTooLarge, ScimRefused
from chalicelib.scim import credential, discovery
from chalicelib.scim import users as scim
from chalicelib.scim.filters import filtered_id
from chalicelib.scim.resources import USER_SCHEMA, projected

scim_api = Blueprint(__name__)
requires = route_guard(scim_api)
PREFIX = "/scim/v2"
SCIM_JSON = "application/scim+json"
TYPES = [SCIM_JSON, "application/json"]  # RFC 7644 §3.1: clients may send either
SCIM_GROUP = "scim"  # recorded on each guarded view: the route table's check reads it
MAX_SCIM_BODY = 64 * 1024
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")
STAGE = re.compile(r"[A-Za-z0-9_-]{1,128}")
NUMBER = re.compile(r"[0-9]{1,6}")  # ASCII digits only ('²' passes str.isdigit)


def _ports(settings: Settings) -> scim.ScimPorts:
    from chalicelib import wiring

    return wiring.api_ports(settings).scim


def scim_guard(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``view(ports, base, request, **path)`` only for a request with the current SCIM token."""

    @functools.wraps(view)
    def guarded(**path: Any) -> Any:
        try:
            from chalicelib import wiring

            request, settings = scim_api.current_request, Settings.from_env()
            if request is None:
                raise ScimRefused("no request", "invalidSyntax")
            headers: Any = request.headers
            credential.check(headers.get("authorization"), wiring.scim_credential(settings))
            answer = view(_ports(settings), _base(request), request, **path)
            status, body = answer if isinstance(answer, tuple) else (200, answer)
            return Response(
                body if body is not None else "", status_code=status, headers={"Content-Type": SCIM_JSON}
            )
        except Exception as failure:  # for json_errors to map (see http's module doc)
            raise ChaliceUnhandledError(type(failure).__name__) from failure

    guarded.required_groups = (SCIM_GROUP,)  # type: ignore[attr-defined]
    return guarded


def _base(request: Request) -> str:
    """This API's /scim/v2 for ``meta.location``, from what API Gateway states about the
    request (its ``requestContext``: the domain name it was reached by, the stage), never
    from a client's header: a ``Host`` of the client's choosing would put its own address
    in every location the identity provider stores. Without a domain name (offline) the
    location is relative to this API: ``/scim/v2/…``."""
    context = request.context or {}
    domain = context.get("domainName")
    if not isinstance(domain, str) or not HOST.fullmatch(domain):
        return PREFIX
    stage = context.get("stage")
    # execute-api's own domain carries the stage in the path; a custom domain maps it away.
    staged = domain.endswith(".amazonaws.com") and isinstance(stage, str) and STAGE.fullmatch(stage)
    return f"https://{domain}{f'/{stage}' if staged else ''}{PREFIX}"


def _body(request: Request) -> dict[str, Any]:
    if len(request.raw_body or b"") > MAX_SCIM_BODY:
        raise PayloadTooLarge(f"a SCIM body over {MAX_SCIM_BODY} bytes")
    try:
        return json_object(request)  # the API's one parser (duplicate keys, depth…)
    except BadRequest as refused:
        raise ScimRefused(str(refused), "invalidSyntax") from None


def _projected(request: Request, resource: dict[str, Any]) -> dict[str, Any]:
    params = query(request)
    return projected(resource, params.get("attributes"), params.get("excludedAttributes"))


def _number(params: dict[str, str], name: str, default: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not NUMBER.fullmatch(raw):
        raise ScimRefused(f"{name} must be a whole number", "invalidValue")
    return min(max(int(raw), 1 if name == "startIndex" else 0), high)


@scim_api.route(f"{PREFIX}/Users", methods=["GET"], content_types=TYPES)
@scim_guard
def list_users(ports: scim.ScimPorts, base: str, request: Request) -> Any:
    params = query(request)
    start = _number(params, "startIndex", 1, scim.MAX_START_INDEX)
    count = _number(params, "count", scim.MAX_COUNT, scim.MAX_COUNT)
    listed = scim.list_users(filtered_id(params.get("filter")), start, count, ports, base)
    listed["Resources"] = [_projected(request, user) for user in listed["Resources"]]
    return listed


@scim_api.route(f"{PREFIX}/Users", methods=["POST"], content_types=TYPES)
@scim_guard
def create_user(ports: scim.ScimPorts, base: str, request: Request) -> Any:
    return 201, scim.create_user(_body(request), ports, base)


@scim_api.route(f"{PREFIX}/Users/{{user_id}}", methods=["GET"], content_types=TYPES)
@scim_guard
def get_user(ports: scim.ScimPorts, base: str, request: Request, user_id: str) -> Any:
    return _projected(request, scim.get_user(user_id, ports, base))


@scim_api.route(f"{PREFIX}/Users/{{user_id}}", methods=["PUT"], content_types=TYPES)
@scim_guard
def replace_user(ports: scim.ScimPorts, base: str, request: Request, user_id: str) -> Any:
    return scim.replace_user(user_id, _body(request), ports, base)


@scim_api.route(f"{PREFIX}/Users/{{user_id}}", methods=["PATCH"], content_types=TYPES)
@scim_guard
def patch_user(ports: scim.ScimPorts, base: str, request: Request, user_id: str) -> Any:
    return scim.patch_user(user_id, _body(request), ports, base)


@scim_api.route(f"{PREFIX}/Users/{{user_id}}", methods=["DELETE"], content_types=TYPES)
@scim_guard
def delete_user(ports: scim.ScimPorts, base: str, request: Request, user_id: str) -> Any:
    scim.delete_user(user_id, ports)
    return 204, None


@scim_api.route(f"{PREFIX}/ServiceProviderConfig", methods=["GET"], content_types=TYPES)
@scim_guard
def service_provider_config(ports: scim.ScimPorts, base: str, request: Request) -> Any:
    return discovery.service_provider_config(base, scim.MAX_COUNT)


@scim_api.route(f"{PREFIX}/Schemas", methods=["GET"], content_types=TYPES)
@scim_guard
def schemas(ports: scim.ScimPorts, base: str, request: Request) -> Any:
    return discovery.listing([discovery.user_schema(base)])


@scim_api.route(f"{PREFIX}/Schemas/{{schema_id}}", methods=["GET"], content_types=TYPES)
@scim_guard
def schema(ports: scim.ScimPorts, base: str, request: Request, schema_id: str) -> Any:
    if schema_id != USER_SCHEMA:
        raise NotFound("no such schema")
    return discovery.user_schema(base)


@scim_api.route(f"{PREFIX}/ResourceTypes", methods=["GET"], content_types=TYPES)
@scim_guard
def resource_types(ports: scim.ScimPorts, base: str, request: Request) -> Any:
    return discovery.listing([discovery.user_resource_type(base)])


@scim_api.route(f"{PREFIX}/ResourceTypes/{{type_id}}", methods=["GET"], content_types=TYPES)
@scim_guard
def resource_type(ports: scim.ScimPorts, base: str, request: Request, type_id: str) -> Any:
    if type_id != "User":
        raise NotFound("no such resource type")
    return discovery.user_resource_type(base)


@scim_api.route("/scim/token", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def issue_scim_token(actor: Principal) -> Response:
    """A new token for the identity provider, shown once; the one before stops working."""
    token = scim.issue_token(_ports(Settings.from_env()), actor.username)
    return Response(
        {"token": token, "scim_base_path": PREFIX}, status_code=201, headers={"Cache-Control": "no-store"}
    )
