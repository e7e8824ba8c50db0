"""``facegate gallery health``: who may be confused with whom, and who needs more photos;
``facegate gallery migration``: who still has faces of the old model only;
``facegate gallery retire-old-model``: remove the old model's faces once nobody needs them."""

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
    command(gallery, "migration", "employees with faces of the old model only").set_defaults(run=migration)
    command(gallery, "retire-old-model", "remove the old model's faces once nobody needs them").set_defaults(
        run=retire_old_model
    )


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
    _old_model_only(report)
    return 0


def migration(args: argparse.Namespace, context: Context) -> int:
    """The upgrade's to-do list: exit 0 when every employee has a face of the current model,
    1 while anyone waits (so a script cannot drop the old model too early)."""
    report = context.client.get("/gallery/health")
    waiting = list(report.get("old_model_only", []))
    if context.json:
        context.show({"employees": report.get("employees"), "old_model_only": waiting})
        return 1 if waiting else 0
    if not waiting:
        print(f"all {report.get('employees', 0)} enrolled employees have a face of the current model")
        return 0
    _old_model_only(report)
    return 1


def retire_old_model(args: argparse.Namespace, context: Context) -> int:
    """The upgrade's last step: the API refuses (409, said and exit 1) while anyone waits."""
    removed = context.client.post("/gallery/retire-old-model", {})
    if context.json:
        context.show(removed)
    else:
        print(f"removed {removed['removed_faces']} faces of the old model ({removed['employees']} employees)")
    return 0


def _old_model_only(report: dict[str, Any]) -> None:
    waiting = [{"employee_id": employee} for employee in report.get("old_model_only", [])]
    section(
        "old model only (matched by dlib until enrolled again: facegate import of the same roster)",
        waiting,
        ["employee_id"],
    )
