"""``facegate scans …`` and ``facegate recognize``: door events, and who is in a photo."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from typing import Any

from facegate_cli.client import segment
from facegate_cli.commands.common import command, day, pages, photo_body, show
from facegate_cli.context import Context

SCAN_COLUMNS = ["scan_id", "captured_at", "camera_id", "status", "employee_id", "similarity", "reason"]
# The API's statuses (the CLI imports nothing of the stage's code: tests/unit/test_status_lists.py).
STATUSES = [
    "AUTHORIZED", "DENIED", "UNKNOWN", "NO_FACE", "MULTIPLE_FACES", "LOW_QUALITY", "REJECTED", "ERROR",
]  # fmt: skip
RECOGNITION_COLUMNS = ["status", "employee_id", "employee_name", "similarity", "reason", "faces", "engine"]


def _positive(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError("a whole number from 1")
    return int(raw)


def register(subcommands: Any) -> None:
    scans = subcommands.add_parser("scans", help="door events").add_subparsers(dest="action", required=True)
    listing = command(scans, "list", "one day's door events (today by default), or one employee's")
    listing.add_argument("--day", type=day, help="YYYY-MM-DD, a local day")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--camera", help="a camera id")
    listing.add_argument("--employee", metavar="ID", help="this employee's scans, newest first")
    listing.add_argument("--limit", type=_positive, default=50, help="at most this many (50)")
    listing.set_defaults(run=list_scans)
    show = command(scans, "show", "one door event")
    show.add_argument("scan_id")
    show.set_defaults(run=show_scan)
    recognize = command(subcommands, "recognize", "who is in this photo (no door event is recorded)")
    recognize.add_argument("photo")
    recognize.set_defaults(run=recognize_photo)


def list_scans(args: argparse.Namespace, context: Context) -> int:
    scans = list(itertools.islice(_scans(args, context), args.limit))
    show(context, scans, SCAN_COLUMNS, precise=("similarity",))
    return 0


def _scans(args: argparse.Namespace, context: Context) -> Iterator[dict[str, Any]]:
    if args.employee is None:
        params = {"day": args.day, "status": args.status, "camera_id": args.camera}
        yield from pages(
            context.client, "/scans", {k: v for k, v in params.items() if v is not None}, args.limit
        )
        return
    # The employee's index has no day, status or camera filter: filtered here, newest first.
    for scan in pages(context.client, f"/employees/{segment(args.employee)}/scans", {}):
        if args.day and scan.get("day", "") < args.day:
            return  # newest first: every later page is older still
        if args.day and scan.get("day") != args.day:
            continue
        if args.status and scan.get("status") != args.status:
            continue
        if args.camera and scan.get("camera_id") != args.camera:
            continue
        yield scan


def show_scan(args: argparse.Namespace, context: Context) -> int:
    scan = context.client.get(f"/scans/{segment(args.scan_id)}")
    if context.json:
        context.show(scan)
    else:
        _fields(scan)
    return 0


def recognize_photo(args: argparse.Namespace, context: Context) -> int:
    answer = context.client.post("/recognize", photo_body(args.photo))
    if context.json:
        context.show(answer)
    else:
        row = {**answer, "faces": len(answer.get("faces", []))}
        show(context, row, RECOGNITION_COLUMNS, precise=("similarity",))
    return 0


def _fields(record: dict[str, Any]) -> None:
    """One record as ``name: value`` lines (a scan has too many fields for a row)."""
    width = max(len(name) for name in record)
    for name, value in record.items():
        shown = "-" if value is None or value == "" else value
        print(f"{name.ljust(width)}  {shown}")
