"""Routes for who may go where: /doors, /access-groups (and members), /access-rules, /holidays
(admins), and GET /employees/{id}/access (admins and security): could they open this door now?"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.access import admin
from chalicelib.access.admin import AccessPorts
from chalicelib.access.documents import document, door_from, group_from, holiday_from, rule_from
from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, query, route_guard
from chalicelib.auth.tokens import ADMINS, SECURITY, Principal
from chalicelib.core.config import Settings

access_api = Blueprint(__name__)
requires = route_guard(access_api)  # every route here needs a token of one of the named groups
NO_CONTENT = 204


def _ports() -> AccessPorts:
    from chalicelib import wiring

    return wiring.api_ports(Settings.from_env()).access


def _body() -> dict[str, Any]:
    return json_object(access_api.current_request)


def _allow_unknown() -> bool:
    """``?allow_unknown=true``: store a rule or holiday naming groups or employees not (yet) there."""
    return valid.flag(query(access_api.current_request), "allow_unknown")


def _deleted() -> Response:
    return Response(body="", status_code=NO_CONTENT)


# --- doors -------------------------------------------------------------------------------


@access_api.route("/doors", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def list_doors(actor: Principal) -> dict[str, object]:
    return {"doors": [document(door) for door in admin.list_doors(_ports())]}


@access_api.route("/doors/{door_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def get_door(actor: Principal, door_id: str) -> dict[str, object]:
    return document(admin.get_door(_ports(), valid.door_id(door_id)))


@access_api.route("/doors/{door_id}", methods=["PUT"], authorizer=AUTHORIZER)
@requires(ADMINS)
def put_door(actor: Principal, door_id: str) -> dict[str, object]:
    door = door_from(valid.door_id(door_id), _body())
    return document(admin.put_door(_ports(), door, actor.username))


@access_api.route("/doors/{door_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def delete_door(actor: Principal, door_id: str) -> Response:
    admin.delete_door(_ports(), valid.door_id(door_id), actor.username)
    return _deleted()


# --- groups and members ------------------------------------------------------------------


@access_api.route("/access-groups", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def list_groups(actor: Principal) -> dict[str, object]:
    return {"groups": [document(group) for group in admin.list_groups(_ports())]}


@access_api.route("/access-groups/{group_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def get_group(actor: Principal, group_id: str) -> dict[str, object]:
    group, members = admin.get_group(_ports(), valid.group_id(group_id))
    return {**document(group), "members": members}


@access_api.route("/access-groups/{group_id}", methods=["PUT"], authorizer=AUTHORIZER)
@requires(ADMINS)
def put_group(actor: Principal, group_id: str) -> dict[str, object]:
    group = group_from(valid.group_id(group_id), _body())
    return document(admin.put_group(_ports(), group, actor.username))


@access_api.route("/access-groups/{group_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def delete_group(actor: Principal, group_id: str) -> Response:
    admin.delete_group(_ports(), valid.group_id(group_id), actor.username)
    return _deleted()


MEMBER = "/access-groups/{group_id}/members/{employee_id}"


@access_api.route(MEMBER, methods=["PUT"], authorizer=AUTHORIZER)
@requires(ADMINS)
def add_member(actor: Principal, group_id: str, employee_id: str) -> dict[str, object]:
    group, employee = valid.group_id(group_id), valid.employee_id(employee_id)
    admin.add_member(_ports(), group, employee, actor.username)
    return {"group_id": group, "employee_id": employee, "member": True}


@access_api.route(MEMBER, methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def remove_member(actor: Principal, group_id: str, employee_id: str) -> Response:
    group, employee = valid.group_id(group_id), valid.employee_id(employee_id)
    admin.remove_member(_ports(), group, employee, actor.username)
    return _deleted()


# --- rules ---------------------------------------------------------------------------------


@access_api.route("/access-rules", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def list_rules(actor: Principal) -> dict[str, object]:
    rules, version = admin.list_rules(_ports())
    return {"rules": [document(rule) for rule in rules], "version": version}


@access_api.route("/access-rules/{rule_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def get_rule(actor: Principal, rule_id: str) -> dict[str, object]:
    return document(admin.get_rule(_ports(), valid.rule_id(rule_id)))


@access_api.route("/access-rules/{rule_id}", methods=["PUT"], authorizer=AUTHORIZER)
@requires(ADMINS)
def put_rule(actor: Principal, rule_id: str) -> dict[str, object]:
    rule, allow_unknown = rule_from(valid.rule_id(rule_id), _body()), _allow_unknown()
    return document(admin.put_rule(_ports(), rule, actor.username, allow_unknown))


@access_api.route("/access-rules/{rule_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def delete_rule(actor: Principal, rule_id: str) -> Response:
    admin.delete_rule(_ports(), valid.rule_id(rule_id), actor.username)
    return _deleted()


# --- holidays ------------------------------------------------------------------------------


@access_api.route("/holidays", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def list_holidays(actor: Principal) -> dict[str, object]:
    return {"holidays": [document(holiday) for holiday in admin.list_holidays(_ports())]}


@access_api.route("/holidays/{day}", methods=["PUT"], authorizer=AUTHORIZER)
@requires(ADMINS)
def put_holiday(actor: Principal, day: str) -> dict[str, object]:
    holiday, allow_unknown = holiday_from(valid.day(day), _body()), _allow_unknown()
    return document(admin.put_holiday(_ports(), holiday, actor.username, allow_unknown))


@access_api.route("/holidays/{day}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def delete_holiday(actor: Principal, day: str) -> Response:
    admin.delete_holiday(_ports(), valid.day(day), actor.username)
    return _deleted()


# --- the question ------------------------------------------------------------------------


@access_api.route("/employees/{employee_id}/access", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def employee_access(actor: Principal, employee_id: str) -> dict[str, object]:
    params, ports = query(access_api.current_request), _ports()
    employee, door = valid.employee_id(employee_id), valid.door_param(params)
    at = valid.instant(params.get("at"), ports.timezone) or datetime.now(UTC)
    decision = admin.check_access(ports, employee, door, at)
    shown = at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"employee_id": employee, "at": shown, **decision.to_dict()}
