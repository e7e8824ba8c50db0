"""``python -m sandbox demo``: the whole system offline on real photos, as a table."""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.door import publish_forgery, run_door
from sandbox.door_agents import door_agents_demo
from sandbox.onboarding import admin_cli, configure_access, import_roster
from sandbox.photos import ensure_photos
from sandbox.report import run_report, run_retention_sweep
from sandbox.stack import SandboxError, Stack, running_stack

CAMERA = "front-door"
SERVER_ROOM_CAMERA = "server-room-cam"  # the server room's door (sandbox.onboarding.DEMO_ACCESS)


def corrupt_jpeg(photo: bytes) -> bytes:
    """The first kilobyte of a real JPEG: a valid header, then nothing."""
    return photo[:1024]


def run_demo(out: Path | None = None, photos_dir: Path | None = None) -> list[dict[str, Any]]:
    """Import the staff and set the doors' rules with the admin CLI, push six uploads through
    S3 → event → handler, print the outcomes; then write the day's report email to ``out``."""
    photos = ensure_photos(photos_dir) if photos_dir else ensure_photos()
    with running_stack() as stack:
        rows = replay(stack, photos, out)
        if out is not None:
            day = datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()
            swept = run_retention_sweep()  # before the report, which lists what it erased and found due
            print(
                f"\nRetention sweep of {swept['day']}: {swept['employees']} employees, "
                f"{swept['erased']} erasures started, {swept['noticed']} notices to admins"
            )
            paths = run_report(day, out)
            print(f"\nThe day's report email ({day}), as facilities would get it:")
            for path in paths:
                print(f"  {path}")
        return rows


def replay(stack: Stack, photos: Path, out: Path | None = None) -> list[dict[str, Any]]:
    """The demo's day: the roster imported (into ``out``), the access rules, six camera uploads,
    as a table."""
    print(f"Local AWS (moto) at {stack.aws.endpoint}; engine: {stack.settings.engine}")
    if stack.rekognition is not None:
        print(
            f"Local Rekognition at {stack.rekognition.url} (the bundled dlib model behind "
            "Rekognition's API: its similarities are that model's, not AWS's)"
        )
    onboard(stack, photos, out)
    avery = (photos / "obama2.jpg").read_bytes()  # not enrolled: her new photo at the door
    uploads = {
        "enrolled person, new photo": (CAMERA, "avery at door.jpg", avery),
        "stranger": (CAMERA, "visitor.png", (photos / "astronaut.png").read_bytes()),
        "no face": (CAMERA, "empty-hall.png", (photos / "coffee.png").read_bytes()),
        "group": (CAMERA, "group.jpg", (photos / "group.jpg").read_bytes()),
        "corrupt file": (CAMERA, "broken.jpg", corrupt_jpeg(avery)),
        "not in IT, server room": (SERVER_ROOM_CAMERA, "avery at server room.jpg", avery),
    }
    keys = {stack.upload(camera, name, data): label for label, (camera, name, data) in uploads.items()}
    calls_before = len(stack.rekognition.calls) if stack.rekognition is not None else 0
    handled = stack.pump(expected=len(keys))
    failures = [event for event in handled if event.error]
    rows = _rows(stack, keys)
    _print_table(rows)
    for event in failures:
        print(f"handler error for {event.keys}: {event.error}")
    if stack.rekognition is not None:
        _print_rekognition_calls(stack.rekognition.calls[calls_before:], rows)
    door_demo(stack)
    with tempfile.TemporaryDirectory() as state:
        door_agents_demo(stack, photos, Path(state))
    return rows


def onboard(stack: Stack, photos: Path, out: Path | None) -> None:
    """The staff roster through ``facegate import`` (files in ``out``, else a temporary folder),
    then who may go where through ``facegate doors|groups|rules``."""
    with tempfile.TemporaryDirectory() as scratch, admin_cli(stack, out or Path(scratch)) as cli:
        folder = out or Path(scratch)
        print(f"The admin imports the staff: facegate import {folder / 'roster.csv'} --photos {photos}")
        for line in import_roster(cli, photos, folder).splitlines():
            print(f"  {line}")
        print("\nThe admin sets who may go where (the server room for IT only):")
        for line in configure_access(cli):
            print(f"  {line}")
    print()


def _print_rekognition_calls(calls: list[str], rows: list[dict[str, Any]]) -> None:
    """What the scans cost, counted by the endpoint itself rather than by our client."""
    # A REJECTED upload (the corrupt file) never reaches the engine; every other scan should.
    searched = sum(row["status"] != "REJECTED" for row in rows)
    by_operation = ", ".join(f"{op} × {calls.count(op)}" for op in sorted(set(calls))) or "none"
    per_scan = f"{len(calls) / searched:g}" if searched else "—"
    print(f"\nRekognition calls per scan: {per_scan}, counted by the local endpoint ({by_operation}")
    print(f"  for the {searched} uploads with pixels to search; a REJECTED upload never reaches it)")


def door_demo(stack: Stack) -> None:
    """The front door's check on its own queue: its decisions, then a forgery."""
    print(f"\nThe {CAMERA} check on its own queue (every decision for this door):")
    _, read_queue = run_door(
        stack,
        CAMERA,
        lambda unlock: print(f"  door unlocks for {unlock.employee_id} at {unlock.camera_id}"),
    )
    _print_refusals(read_queue())
    publish_forgery(stack, "EMP002", CAMERA)
    print("  (a forged AUTHORIZED for EMP002, published straight to the topic)")
    _print_refusals(read_queue())


def _print_refusals(verdicts: list[Any]) -> None:
    for verdict in verdicts:
        if verdict.status and not verdict.unlocked:
            print(f"  {verdict.status} at {verdict.camera_id}: door stays shut")
        elif not verdict.unlocked:
            print(f"  door stays shut: {verdict.reason}")


def _rows(stack: Stack, keys: dict[str, str]) -> list[dict[str, Any]]:
    by_key = {n["body"]["object_key"]: n for n in stack.notifications()}
    rows = []
    for key, label in keys.items():
        notification = by_key.get(key)
        body = notification["body"] if notification else {}
        rows.append(
            {
                "upload": label,
                "status": body.get("status", "—"),
                "employee": body.get("employee_id") or "",
                "similarity": "" if body.get("similarity") is None else f"{body['similarity']:.1f}",
                "reason": body.get("reason") or "",
                "notification": notification["subject"] if notification else "(none)",
                "attributes": (
                    ", ".join(f"{k}={v}" for k, v in sorted(notification["attributes"].items()))
                    if notification
                    else ""
                ),
            }
        )
    return rows


def _print_table(rows: list[dict[str, Any]]) -> None:
    columns = ["upload", "status", "employee", "similarity", "notification"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())
        details = [f"attributes: {row['attributes']}"]
        if row["reason"]:
            details.append(f"reason: {row['reason']}")
        print("    " + "; ".join(details))


def report_command(day: str | None, out: Path, with_demo_day: bool = True) -> list[Path]:
    """A fresh stack, the demo's day of scans (unless empty), then the report for ``day``."""
    if day is not None:
        try:
            day = date.fromisoformat(day).isoformat()
        except ValueError:
            raise SandboxError(f"--day must be YYYY-MM-DD, not {day!r}") from None
    with running_stack() as stack:
        if with_demo_day:
            replay(stack, ensure_photos())
        today = datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()
        return run_report(day or today, out)
