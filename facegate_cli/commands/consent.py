"""``facegate consent …``: an employee's biometric consent, and the auditor's CSV of all."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from facegate_cli.client import segment
from facegate_cli.commands.common import command, pages
from facegate_cli.context import Context
from facegate_cli.errors import UsageError

METHODS = ("paper", "e-signature", "import")
HISTORY_COLUMNS = [
    "notice_version",
    "given_at",
    "method",
    "reference",
    "recorded_by",
    "withdrawn_at",
    "withdrawn_by",
]
# The auditor's columns, in order (GET /consents gives each row; name is blank once erased).
EXPORT_COLUMNS = ["employee_id", "name", *HISTORY_COLUMNS]
ERASURE_COLUMNS = ["job_id", "employee_id", "status", "step", "started_at"]


def register(subcommands: Any) -> None:
    consent = subcommands.add_parser("consent", help="biometric consent").add_subparsers(
        dest="action", required=True
    )
    give = command(consent, "give", "record an employee's consent to the notice in force")
    give.add_argument("employee_id")
    give.add_argument("--method", required=True, choices=METHODS, help="how it was given")
    give.add_argument("--reference", required=True, help="the form's reference or the e-signature id")
    give.set_defaults(run=give_consent)
    show = command(consent, "show", "an employee's consent: current or not, and its history")
    show.add_argument("employee_id")
    show.set_defaults(run=show_consent)
    withdraw = command(consent, "withdraw", "withdraw consent: starts the employee's erasure")
    withdraw.add_argument("employee_id")
    withdraw.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    withdraw.set_defaults(run=withdraw_consent)
    export = command(consent, "export", "every consent as CSV, for an auditor")
    export.add_argument("--output", "-o", type=Path, help="the CSV file (default: standard output)")
    export.set_defaults(run=export_consents)


def give_consent(args: argparse.Namespace, context: Context) -> int:
    body = {"method": args.method, "reference": args.reference}
    record = context.client.put(f"/employees/{segment(args.employee_id)}/consent", body)
    context.show(record, ["employee_id", *HISTORY_COLUMNS[:5]])
    return 0


def show_consent(args: argparse.Namespace, context: Context) -> int:
    answer = context.client.get(f"/employees/{segment(args.employee_id)}/consent")
    if context.json:
        context.show(answer)
        return 0
    state = "current" if answer.get("current") else "NONE for the notice in force"
    print(f"{args.employee_id}: consent {state} (notice {answer.get('notice_version')})")
    context.show(list(answer.get("history", [])), HISTORY_COLUMNS)
    return 0


def withdraw_consent(args: argparse.Namespace, context: Context) -> int:
    if not args.yes:
        typed = input(f"withdrawing consent erases {args.employee_id}: type the id to confirm: ")
        if typed.strip() != args.employee_id:
            raise UsageError(f"not withdrawn: confirm by typing {args.employee_id}, or pass --yes")
    job = context.client.delete(f"/employees/{segment(args.employee_id)}/consent")
    context.show(job, ERASURE_COLUMNS)
    return 0


def export_consents(args: argparse.Namespace, context: Context) -> int:
    """Every page of GET /consents, written as it arrives (a CSV is what an auditor asks for)."""
    target = args.output.open("w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = csv.DictWriter(target, EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in pages(context.client, "/consents", {}):
            writer.writerow({column: _cell(row.get(column)) for column in EXPORT_COLUMNS})
    finally:
        if target is not sys.stdout:
            target.close()
    return 0


def _cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ would be a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
