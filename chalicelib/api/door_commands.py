"""Remote door commands (admins and security): POST /doors/{id}/unlock, and the door's lockdown:
GET, POST and DELETE /doors/{id}/lockdown. Each command needs a reason in its JSON body (the
DELETE's too: a reason in the URL would reach every access log on the way) and answers 202:
the signed command is on the door's queue, and the door acts on it until ``expires_at``."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.access import remote
from chalicelib.access.commands import reason_request, unlock_request
from chalicelib.access.policy import Lockdown
from chalicelib.access.remote import CommandPorts
from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, route_guard
from chalicelib.auth.tokens import ADMINS, SECURITY, Principal
from chalicelib.core.config import Settings

door_commands_api = Blueprint(__name__)
requires = route_guard(door_commands_api)
ACCEPTED = 202
LOCKDOWN = "/doors/{door_id}/lockdown"


def _ports() -> CommandPorts:
    from chalicelib import wiring

    return wiring.api_ports(Settings.from_env()).commands


def _body() -> dict[str, Any]:
    """The JSON object sent, or {} for no body at all (then the reason is what is missing)."""
    request = door_commands_api.current_request
    return json_object(request) if request.raw_body else {}


def _accepted(body: dict[str, object]) -> Response:
    return Response(body=body, status_code=ACCEPTED, headers={"Content-Type": "application/json"})


def lockdown_document(door_id: str, lockdown: Lockdown | None) -> dict[str, object]:
    """Whether the door is locked down, since when, by whom and why."""
    if lockdown is None:
        return {"door_id": door_id, "locked_down": False, "since": None, "actor": None, "reason": None}
    since, actor, reason = lockdown.since, lockdown.actor, lockdown.reason
    return {"door_id": door_id, "locked_down": True, "since": since, "actor": actor, "reason": reason}


@door_commands_api.route("/doors/{door_id}/unlock", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def unlock_door(actor: Principal, door_id: str) -> Response:
    door = valid.door_id(door_id)
    reason, seconds = unlock_request(_body())
    return _accepted(remote.unlock(_ports(), door, actor.username, reason, seconds).to_dict())


@door_commands_api.route(LOCKDOWN, methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def get_lockdown(actor: Principal, door_id: str) -> dict[str, object]:
    door = valid.door_id(door_id)
    return lockdown_document(door, remote.lockdown_of(_ports(), door))


@door_commands_api.route(LOCKDOWN, methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def lock_down(actor: Principal, door_id: str) -> Response:
    door = valid.door_id(door_id)
    command, lockdown = remote.lock_down(_ports(), door, actor.username, reason_request(_body()))
    return _accepted({**command.to_dict(), "lockdown": lockdown_document(door, lockdown)})


@door_commands_api.route(LOCKDOWN, methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def release(actor: Principal, door_id: str) -> Response:
    door = valid.door_id(door_id)
    command, ended = remote.release(_ports(), door, actor.username, reason_request(_body()))
    released = None if ended is None else lockdown_document(door, ended)
    return _accepted({**command.to_dict(), "released": released})
