"""``facegate doors …``, ``facegate groups …`` and ``facegate access check``: where, who, may they.

``set`` creates or replaces the whole entry (the API's PUT): what a ``set`` does not give is
not kept. Rules and holidays are in ``facegate_cli.commands.rules``. ``doors unlock``,
``lockdown`` and ``release`` send a door a remote command (admins and security), each with a
``--reason`` the API audits; ``doors status`` shows whether a door is locked down.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from facegate_cli.client import ApiError, segment
from facegate_cli.commands.common import command, joined, removed, section
from facegate_cli.context import Context

DOOR_COLUMNS = ["door_id", "name", "cameras"]
GROUP_COLUMNS = ["group_id", "name", "description"]
MEMBER_COLUMNS = ["group_id", "employee_id", "member"]
COMMAND_COLUMNS = ["door_id", "action", "command_id", "expires_at"]
LOCKDOWN_COLUMNS = ["door_id", "locked_down", "since", "actor", "reason"]
EVENT_COLUMNS = ["at", "door_id", "kind", "detail", "counts"]
CHECK_COLUMNS = ["employee_id", "door_id", "access", "verdict", "rule_id", "holiday", "local_time", "reason"]
STOP_ON = (401, 403)  # the same answer for every employee: no point asking for the others


def register(subcommands: Any) -> None:
    _register_doors(subcommands)
    _register_groups(subcommands)
    access = subcommands.add_parser("access", help="who may open which door, and when").add_subparsers(
        dest="action", required=True
    )
    check = command(access, "check", "could this employee open this door at this time, by which rule")
    check.add_argument("employee_id", metavar="EMPLOYEE")
    check.add_argument("--door", required=True, help="a door id, or a camera id (its door)")
    check.add_argument(
        "--at",
        metavar="TIME",
        help="ISO 8601: with an offset or Z, or without one for the site's local time (default: now)",
    )
    check.set_defaults(run=check_access)


def _register_doors(subcommands: Any) -> None:
    doors = subcommands.add_parser("doors", help="doors and their cameras").add_subparsers(
        dest="action", required=True
    )
    command(doors, "list", "every door (a camera no door lists is a door of its own)").set_defaults(
        run=list_doors
    )
    show = command(doors, "show", "one door")
    show.add_argument("door_id", metavar="DOOR")
    show.set_defaults(run=show_door)
    door = command(doors, "set", "create or replace a door: its name and every camera on it")
    door.add_argument("door_id", metavar="DOOR")
    door.add_argument("--name", required=True)
    door.add_argument(
        "--camera", dest="cameras", action="extend", nargs="+", metavar="CAMERA", help="repeatable"
    )
    door.set_defaults(run=set_door)
    remove = command(doors, "remove", "remove a door (its cameras become doors of their own)")
    remove.add_argument("door_id", metavar="DOOR")
    remove.set_defaults(run=remove_door)
    _register_door_commands(doors)


def _register_door_commands(doors: Any) -> None:
    """Remote commands: any door id with a queue, listed as a door or not (a camera's own door)."""
    unlock = command(doors, "unlock", "open a door from afar for a few seconds (audited)")
    unlock.add_argument("door_id", metavar="DOOR")
    unlock.add_argument("--reason", required=True, help="why: 3–200 characters, audited")
    unlock.add_argument("--seconds", type=int, help="how long it stays open: 1–30 (the API's default: 5)")
    unlock.set_defaults(run=unlock_door)
    for name, help, run in (
        ("lockdown", "lock a door down: nobody is let through until it is released (audited)", lock_down),
        ("release", "end a door's lockdown (audited)", release_door),
    ):
        verb = command(doors, name, help)
        verb.add_argument("door_id", metavar="DOOR")
        verb.add_argument("--reason", required=True, help="why: 3–200 characters, audited")
        verb.set_defaults(run=run)
    status = command(doors, "status", "whether a door is locked down, since when, by whom, why")
    status.add_argument("door_id", metavar="DOOR")
    status.set_defaults(run=door_status)
    events = command(doors, "events", "what the door agents reported on a day (held open, forced open, …)")
    events.add_argument("door_id", metavar="DOOR", nargs="?", help="one door's (default: every door's)")
    events.add_argument("--day", help="YYYY-MM-DD, the site's local day (default: today)")
    events.set_defaults(run=door_events)


def _register_groups(subcommands: Any) -> None:
    groups = subcommands.add_parser("groups", help="access groups and their members").add_subparsers(
        dest="action", required=True
    )
    command(groups, "list", "every access group").set_defaults(run=list_groups)
    show = command(groups, "show", "one group and its members")
    show.add_argument("group_id", metavar="GROUP")
    show.set_defaults(run=show_group)
    group = command(groups, "set", "create or replace a group (its members stay)")
    group.add_argument("group_id", metavar="GROUP")
    group.add_argument("--name", required=True)
    group.add_argument("--description")
    group.set_defaults(run=set_group)
    remove = command(groups, "remove", "remove a group (refused while it has members or a rule names it)")
    remove.add_argument("group_id", metavar="GROUP")
    remove.set_defaults(run=remove_group)
    for name, member, help in (
        ("add-member", True, "put employees in the group"),
        ("remove-member", False, "take employees out of the group"),
    ):
        membership = command(groups, name, help)
        membership.add_argument("group_id", metavar="GROUP")
        membership.add_argument("employee_ids", nargs="+", metavar="EMPLOYEE")
        membership.set_defaults(run=set_members, member=member)


def door_body(args: argparse.Namespace) -> dict[str, Any]:
    return {"name": args.name, "cameras": args.cameras or []}


def group_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"name": args.name}
    if args.description is not None:
        body["description"] = args.description
    return body


def list_doors(args: argparse.Namespace, context: Context) -> int:
    _show_doors(context, context.client.get("/doors")["doors"])
    return 0


def show_door(args: argparse.Namespace, context: Context) -> int:
    _show_doors(context, context.client.get(_door_path(args)))
    return 0


def set_door(args: argparse.Namespace, context: Context) -> int:
    _show_doors(context, context.client.put(_door_path(args), door_body(args)))
    return 0


def remove_door(args: argparse.Namespace, context: Context) -> int:
    context.client.delete(_door_path(args))
    return removed(context, "door", "door_id", args.door_id)


def unlock_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": args.reason}
    if args.seconds is not None:
        body["seconds"] = args.seconds
    return body


def unlock_door(args: argparse.Namespace, context: Context) -> int:
    answer = context.client.post(f"{_door_path(args)}/unlock", unlock_body(args))
    context.show(answer, COMMAND_COLUMNS)
    return 0


def lock_down(args: argparse.Namespace, context: Context) -> int:
    answer = context.client.post(f"{_door_path(args)}/lockdown", {"reason": args.reason})
    _show_command(context, answer, answer.get("lockdown"))
    return 0


def release_door(args: argparse.Namespace, context: Context) -> int:
    """The reason goes in the DELETE's body, as the API takes it (never in the URL)."""
    answer = context.client.request("DELETE", f"{_door_path(args)}/lockdown", body={"reason": args.reason})
    _show_command(context, answer, answer.get("released"))
    return 0


def door_status(args: argparse.Namespace, context: Context) -> int:
    context.show(context.client.get(f"{_door_path(args)}/lockdown"), LOCKDOWN_COLUMNS)
    return 0


def door_events(args: argparse.Namespace, context: Context) -> int:
    answer = context.client.get("/door-events", {"day": args.day, "door_id": args.door_id})
    if context.json:
        context.show(answer)
        return 0
    rows = [
        {**event, "counts": joined([f"{k}={v}" for k, v in event["counts"].items()])}
        for event in answer["items"]
    ]
    context.show(rows, EVENT_COLUMNS)
    if answer.get("left_out"):
        print(f"({answer['left_out']} older events of the day not listed)", file=sys.stderr)
    return 0


def _show_command(context: Context, answer: dict[str, Any], lockdown: dict[str, Any] | None) -> None:
    """The command sent, then the lockdown it made or ended (``lockdown: none`` when none)."""
    if context.json:
        context.show(answer)
        return
    context.show(answer, COMMAND_COLUMNS)
    section("lockdown", [lockdown] if lockdown else [], LOCKDOWN_COLUMNS)


def list_groups(args: argparse.Namespace, context: Context) -> int:
    context.show(context.client.get("/access-groups")["groups"], GROUP_COLUMNS)
    return 0


def show_group(args: argparse.Namespace, context: Context) -> int:
    group = context.client.get(_group_path(args))
    if context.json:
        context.show(group)
        return 0
    context.show(group, GROUP_COLUMNS)
    section("members", [{"employee_id": member} for member in group.get("members", [])], ["employee_id"])
    return 0


def set_group(args: argparse.Namespace, context: Context) -> int:
    context.show(context.client.put(_group_path(args), group_body(args)), GROUP_COLUMNS)
    return 0


def remove_group(args: argparse.Namespace, context: Context) -> int:
    context.client.delete(_group_path(args))
    return removed(context, "group", "group_id", args.group_id)


def set_members(args: argparse.Namespace, context: Context) -> int:
    """Every employee is tried; one refused (unknown, say) does not stop the others."""
    done, failed = [], 0
    for employee_id in args.employee_ids:
        path = f"{_group_path(args)}/members/{segment(employee_id)}"
        try:
            if args.member:
                context.client.put(path, {})
            else:
                context.client.delete(path)
        except ApiError as error:
            if error.status in STOP_ON:
                raise
            failed += 1
            print(
                f"facegate: {employee_id}: the API answered {error.status}: {error.message}", file=sys.stderr
            )
            continue
        done.append({"group_id": args.group_id, "employee_id": employee_id, "member": args.member})
    context.show(done, MEMBER_COLUMNS)
    return 1 if failed else 0


def check_access(args: argparse.Namespace, context: Context) -> int:
    """Exit 0 whether allowed or denied: either is an answer."""
    params = {"door": args.door, **({"at": args.at} if args.at else {})}
    answer = context.client.get(f"/employees/{segment(args.employee_id)}/access", params)
    row = {**answer, "access": "allowed" if answer.get("allowed") else "denied"}
    context.show(answer if context.json else row, CHECK_COLUMNS)
    return 0


def _show_doors(context: Context, doors: Any) -> None:
    if context.json:
        context.show(doors)
        return
    rows = doors if isinstance(doors, list) else [doors]
    context.show([{**door, "cameras": joined(door.get("cameras"))} for door in rows], DOOR_COLUMNS)


def _door_path(args: argparse.Namespace) -> str:
    return f"/doors/{segment(args.door_id)}"


def _group_path(args: argparse.Namespace) -> str:
    return f"/access-groups/{segment(args.group_id)}"
