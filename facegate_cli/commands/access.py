"""``facegate doors …``, ``facegate groups …`` and ``facegate access check``: where, who, may they.

``set`` creates or replaces the whole entry (the API's PUT): what a ``set`` does not give is
not kept. Rules and holidays are in ``facegate_cli.commands.rules``.
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
