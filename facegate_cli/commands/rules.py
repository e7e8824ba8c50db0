"""``facegate rules …`` and ``facegate holidays …``: who may pass which doors when, and the days
that differ.

``set`` creates or replaces the whole rule or holiday (the API's PUT); one naming a group or
employee that does not exist is refused unless ``--allow-unknown``. ``'*'`` as a door or a
group means every door, every employee (quote it from the shell). The schedule shorthand is
``facegate_cli.schedules``'s; the API checks everything again.
"""

from __future__ import annotations

import argparse
from typing import Any

from facegate_cli.client import segment
from facegate_cli.commands.common import command, day, joined, removed
from facegate_cli.context import Context
from facegate_cli.errors import UsageError
from facegate_cli.schedules import FORMS, ScheduleError, shorthand, window

RULE_COLUMNS = [
    "rule_id",
    "effect",
    "doors",
    "groups",
    "employees",
    "schedule",
    "valid_from",
    "valid_until",
    "description",
]
HOLIDAY_COLUMNS = ["day", "name", "effect", "doors", "groups"]


def register(subcommands: Any) -> None:
    _register_rules(subcommands)
    _register_holidays(subcommands)


def _register_rules(subcommands: Any) -> None:
    rules = subcommands.add_parser(
        "rules", help="access rules: who may pass which doors, when"
    ).add_subparsers(dest="action", required=True)
    command(rules, "list", "every rule (the built-in one while nothing is configured)").set_defaults(
        run=list_rules
    )
    show = command(rules, "show", "one rule")
    show.add_argument("rule_id", metavar="RULE")
    show.set_defaults(run=show_rule)
    rule = command(rules, "set", "create or replace a rule (deny beats grant)")
    rule.add_argument("rule_id", metavar="RULE")
    effect = rule.add_mutually_exclusive_group(required=True)
    effect.add_argument(
        "--grant", dest="effect", action="store_const", const="GRANT", help="let them through"
    )
    effect.add_argument("--deny", dest="effect", action="store_const", const="DENY", help="keep them out")
    rule.add_argument(
        "--door", dest="doors", action="extend", nargs="+", required=True, metavar="DOOR", help="or '*'"
    )
    rule.add_argument("--group", dest="groups", action="extend", nargs="+", metavar="GROUP", help="or '*'")
    rule.add_argument("--employee", dest="employees", action="extend", nargs="+", metavar="EMPLOYEE")
    rule.add_argument(
        "--schedule",
        dest="schedule",
        action="append",
        type=_window,
        metavar="'DAYS HH:MM-HH:MM'",
        help=f"local time, repeatable; default always. {FORMS}",
    )
    rule.add_argument("--from", dest="valid_from", type=day, metavar="YYYY-MM-DD", help="first valid day")
    rule.add_argument("--until", dest="valid_until", type=day, metavar="YYYY-MM-DD", help="last valid day")
    rule.add_argument("--description")
    _allow_unknown(rule)
    rule.set_defaults(run=set_rule)
    remove = command(rules, "remove", "remove a rule (the built-in one too)")
    remove.add_argument("rule_id", metavar="RULE")
    remove.set_defaults(run=remove_rule)


def _register_holidays(subcommands: Any) -> None:
    holidays = subcommands.add_parser("holidays", help="days the doors close (or open)").add_subparsers(
        dest="action", required=True
    )
    command(holidays, "list", "every holiday").set_defaults(run=list_holidays)
    holiday = command(
        holidays,
        "set",
        "create or replace a holiday: the doors are closed that day to all but --except-group; "
        "with --open, open all day to --group",
    )
    holiday.add_argument("day", type=day, metavar="DAY", help="YYYY-MM-DD, a local day")
    holiday.add_argument("--name", required=True)
    holiday.add_argument(
        "--door", dest="doors", action="extend", nargs="+", metavar="DOOR", help="default: every door"
    )
    holiday.add_argument(
        "--except-group",
        dest="exempt",
        action="extend",
        nargs="+",
        metavar="GROUP",
        help="a closed day: these groups may still pass under their rules",
    )
    holiday.add_argument("--open", action="store_true", help="an open day instead of a closed one")
    holiday.add_argument(
        "--group",
        dest="open_to",
        action="extend",
        nargs="+",
        metavar="GROUP",
        help="with --open: the groups who may pass all day (or '*')",
    )
    _allow_unknown(holiday)
    holiday.set_defaults(run=set_holiday)
    remove = command(holidays, "remove", "remove a holiday")
    remove.add_argument("day", type=day, metavar="DAY")
    remove.set_defaults(run=remove_holiday)


def _allow_unknown(parser: Any) -> None:
    parser.add_argument(
        "--allow-unknown",
        action="store_true",
        help="store it even though it names a group or employee that does not exist (yet): "
        "whoever is created under that name later is covered at once (audited)",
    )


def _flags(args: argparse.Namespace) -> dict[str, str] | None:
    return {"allow_unknown": "true"} if args.allow_unknown else None


def _window(text: str) -> dict[str, Any]:
    """An argparse type: a usage error (exit 2) names what is wrong with the shorthand."""
    try:
        return window(text)
    except ScheduleError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def rule_body(args: argparse.Namespace) -> dict[str, Any]:
    """The API's rule JSON from ``rules set``'s arguments (what is not given is left out)."""
    if not args.groups and not args.employees:
        raise UsageError("a rule is for someone: give --group (or '*') or --employee")
    body: dict[str, Any] = {"effect": args.effect, "doors": args.doors}
    optional = {
        "groups": args.groups,
        "employees": args.employees,
        "schedule": args.schedule,
        "valid_from": args.valid_from,
        "valid_until": args.valid_until,
        "description": args.description,
    }
    return body | {name: value for name, value in optional.items() if value is not None}


def holiday_body(args: argparse.Namespace) -> dict[str, Any]:
    """The API's holiday JSON from ``holidays set``'s arguments."""
    if args.open and args.exempt:
        raise UsageError("--except-group is for a closed day; an open day lets in its --group")
    if args.open and not args.open_to:
        raise UsageError("an open day names who may come in: --open --group GROUP (or '*')")
    if args.open_to and not args.open:
        raise UsageError("--group is for an open day (--open); a closed day exempts with --except-group")
    body: dict[str, Any] = {"name": args.name, "effect": "OPEN" if args.open else "CLOSE"}
    if args.doors:
        body["doors"] = args.doors
    groups = args.open_to if args.open else args.exempt
    if groups:
        body["groups"] = groups
    return body


def list_rules(args: argparse.Namespace, context: Context) -> int:
    _show_rules(context, context.client.get("/access-rules")["rules"])
    return 0


def show_rule(args: argparse.Namespace, context: Context) -> int:
    _show_rules(context, context.client.get(_rule_path(args)))
    return 0


def set_rule(args: argparse.Namespace, context: Context) -> int:
    body = rule_body(args)  # a usage error before the stage is looked up
    _show_rules(context, context.client.put(_rule_path(args), body, _flags(args)))
    return 0


def remove_rule(args: argparse.Namespace, context: Context) -> int:
    context.client.delete(_rule_path(args))
    return removed(context, "rule", "rule_id", args.rule_id)


def list_holidays(args: argparse.Namespace, context: Context) -> int:
    _show_holidays(context, context.client.get("/holidays")["holidays"])
    return 0


def set_holiday(args: argparse.Namespace, context: Context) -> int:
    body = holiday_body(args)  # a usage error before the stage is looked up
    _show_holidays(context, context.client.put(_holiday_path(args), body, _flags(args)))
    return 0


def remove_holiday(args: argparse.Namespace, context: Context) -> int:
    context.client.delete(_holiday_path(args))
    return removed(context, "holiday", "day", args.day)


def rule_row(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as a table row: lists joined, the schedule in the shorthand ``--schedule`` takes."""
    schedule = rule.get("schedule") or []
    return {
        **rule,
        **{name: joined(rule.get(name)) for name in ("doors", "groups", "employees")},
        "schedule": "; ".join(shorthand(item) for item in schedule) if schedule else "always",
    }


def _show_rules(context: Context, rules: Any) -> None:
    if context.json:
        context.show(rules)
        return
    rows = rules if isinstance(rules, list) else [rules]
    context.show([rule_row(rule) for rule in rows], RULE_COLUMNS)


def _show_holidays(context: Context, holidays: Any) -> None:
    if context.json:
        context.show(holidays)
        return
    rows = holidays if isinstance(holidays, list) else [holidays]
    cells = [{**row, "doors": joined(row.get("doors")), "groups": joined(row.get("groups"))} for row in rows]
    context.show(cells, HOLIDAY_COLUMNS)


def _rule_path(args: argparse.Namespace) -> str:
    return f"/access-rules/{segment(args.rule_id)}"


def _holiday_path(args: argparse.Namespace) -> str:
    return f"/holidays/{segment(args.day)}"
