"""``facegate gallery health``: who may be confused with whom, and who needs more photos;
``facegate gallery migration``: who still has faces of the old model only;
``facegate gallery retire-old-model``: remove the old model's faces once nobody needs them."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from facegate_cli.client import segment
from facegate_cli.commands.common import command, section, show, three_decimals
from facegate_cli.context import Context
from facegate_cli.errors import CliError

FINISHED = ("DONE", "FAILED")
WAIT_SECONDS = 900.0  # a 30k-face gallery takes minutes on the local engine


class HealthUnfinished(CliError):
    """The job failed, or did not finish in time (it goes on: asking again picks it up)."""

    exit_code = 1


def register(subcommands: Any) -> None:
    gallery = subcommands.add_parser("gallery", help="the enrolled faces as a whole").add_subparsers(
        dest="action", required=True
    )
    for name, help, run in (
        ("health", "close pairs, single photos and outlier faces", health),
        ("migration", "employees with faces of the old model only", migration),
    ):
        parser = command(gallery, name, help + " (runs the gallery health job and waits for it)")
        parser.add_argument("--timeout", type=float, default=WAIT_SECONDS, help="seconds to wait for the job")
        parser.set_defaults(run=run)
    command(gallery, "retire-old-model", "remove the old model's faces once nobody needs them").set_defaults(
        run=retire_old_model
    )


def health_report(
    context: Context,
    timeout: float = WAIT_SECONDS,
    poll: float = 0.1,
) -> dict[str, Any]:
    """Start the gallery health job (or join the one running), wait for it with a progress
    line on stderr, and return its report; ``HealthUnfinished`` when it failed or the wait
    ran out. Ctrl-C stops the wait, not the job."""
    job = context.client.post("/gallery/health", {})
    path = f"/gallery/health/{segment(str(job['job_id']))}"
    deadline = time.monotonic() + timeout
    shown = False
    try:
        while job.get("status") not in FINISHED and time.monotonic() < deadline:
            _progress(job)
            shown = True
            time.sleep(poll)
            poll = min(2.0, poll * 2)  # a small gallery is done at once; a large one takes minutes
            job = context.client.get(path)
    except KeyboardInterrupt:
        print(
            f"\nthe gallery health job goes on ({path}): run the command again to pick it up", file=sys.stderr
        )
        raise
    if shown:  # the progress line ends
        print(file=sys.stderr)
    if job.get("status") == "FAILED":
        raise HealthUnfinished(f"the gallery health job failed: {job.get('error')}")
    if job.get("status") != "DONE" or not isinstance(job.get("report"), dict):
        raise HealthUnfinished(
            f"the gallery health job is still running ({path}): run the command again later"
        )
    report: dict[str, Any] = job["report"]
    return report


def _progress(job: dict[str, Any]) -> None:
    progress = job.get("progress") or {}
    total, done = progress.get("faces_total"), progress.get("faces_done", 0)
    line = f"gallery health: {done}/{total} faces" if total is not None else "gallery health: queued"
    print(f"\r{line}", end="", file=sys.stderr, flush=True)


def health(args: argparse.Namespace, context: Context) -> int:
    report = health_report(context, args.timeout)
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
    _left_out(report)
    return 0


def _left_out(report: dict[str, Any]) -> None:
    """Each list names at most 500: say how many more there are."""
    left = {name: count for name, count in (report.get("left_out") or {}).items() if count}
    for name, count in sorted(left.items()):
        more = "at least " if name == "close_pairs" and report.get("close_pairs_at_least") else ""
        print(f"{name}: {more}{count} more not listed", file=sys.stderr)


def migration(args: argparse.Namespace, context: Context) -> int:
    """The upgrade's to-do list: exit 0 when every employee has a face of the current model,
    1 while anyone waits (so a script cannot drop the old model too early)."""
    report = health_report(context, args.timeout)
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
