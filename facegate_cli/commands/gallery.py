"""``facegate gallery health``: who may be confused with whom, and who needs more photos."""

from __future__ import annotations

import argparse
from typing import Any

from facegate_cli.commands.common import command, section, show, three_decimals
from facegate_cli.context import Context


def register(subcommands: Any) -> None:
    gallery = subcommands.add_parser("gallery", help="the enrolled faces as a whole").add_subparsers(
        dest="action", required=True
    )
    command(gallery, "health", "close pairs, single photos and outlier faces").set_defaults(run=health)


def health(args: argparse.Namespace, context: Context) -> int:
    report = context.client.get("/gallery/health")
    if context.json:
        context.show(report)
        return 0
    show(context, report, ["employees", "faces", "threshold", "margin"], precise=("threshold", "margin"))
    pairs = [
        {"employee_a": a, "employee_b": b, "similarity": three_decimals(pair.get("similarity"))}
        for pair in report.get("close_pairs", [])
        for a, b in [pair.get("employee_ids", [None, None])]
    ]
    section("close pairs (may be taken for each other)", pairs, ["employee_a", "employee_b", "similarity"])
    singles = [{"employee_id": employee} for employee in report.get("single_photo", [])]
    section("one photo only (enroll another)", singles, ["employee_id"])
    outliers = [
        {**face, "similarity": three_decimals(face.get("similarity"))}
        for face in report.get("outlier_faces", [])
    ]
    section(
        "outlier faces (unlike the employee's others)", outliers, ["employee_id", "face_id", "similarity"]
    )
    return 0
