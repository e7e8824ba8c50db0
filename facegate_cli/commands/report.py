"""``facegate report send``: email a day's summary now, as the hourly schedule would."""

from __future__ import annotations

import argparse
from typing import Any

from facegate_cli.commands.common import command, day
from facegate_cli.context import Context

OUTCOME_COLUMNS = ["day", "sent", "reason", "scans", "message_id"]


def register(subcommands: Any) -> None:
    report = subcommands.add_parser("report", help="the daily report").add_subparsers(
        dest="action", required=True
    )
    send = command(report, "send", "send a day's report now (a day is sent once only)")
    send.add_argument(
        "--day",
        type=day,
        help="YYYY-MM-DD, a local day (default: today once the report hour has come, else yesterday)",
    )
    send.set_defaults(run=send_report)


def send_report(args: argparse.Namespace, context: Context) -> int:
    """Exit 0 when sent; 1 when not (a day already sent answers sent=no, "already sent")."""
    outcome = context.client.post("/reports", {"day": args.day} if args.day else {})
    context.show(outcome, OUTCOME_COLUMNS)
    return 0 if outcome.get("sent") else 1
