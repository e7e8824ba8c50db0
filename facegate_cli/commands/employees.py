"""``facegate employees …`` and ``facegate faces …``: the directory and the enrolled photos."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from facegate_cli.client import segment
from facegate_cli.commands import pending
from facegate_cli.commands.common import command, joined, pages, photo_body
from facegate_cli.context import Context
from facegate_cli.errors import UsageError

EMPLOYEE_COLUMNS = ["employee_id", "name", "email", "department", "active", "groups"]
FACE_COLUMNS = ["employee_id", "face_id", "engine", "created_at"]
ERASURE_COLUMNS = ["job_id", "employee_id", "status", "step", "started_at", "finished_at"]
FINISHED = {"DONE", "FAILED"}


def register(subcommands: Any) -> None:
    employees = subcommands.add_parser("employees", help="the employee directory").add_subparsers(
        dest="action", required=True
    )
    add = command(employees, "add", "create an employee")
    add.add_argument("employee_id")
    add.add_argument("--name", required=True)
    add.add_argument("--email")
    add.add_argument("--department")
    add.set_defaults(run=add_employee)
    command(employees, "list", "every employee (all pages)").set_defaults(run=list_employees)
    show = command(employees, "show", "one employee")
    show.add_argument("employee_id")
    show.set_defaults(run=show_employee)
    update = command(employees, "update", "change an employee's name, email or department")
    update.add_argument("employee_id")
    update.add_argument("--name")
    update.add_argument("--email")
    update.add_argument("--department")
    update.set_defaults(run=update_employee)
    for name, active, help in (
        ("suspend", False, "the door stops opening for them (faces kept)"),
        ("resume", True, "the door opens for them again"),
    ):
        toggle = command(employees, name, help)
        toggle.add_argument("employee_id")
        toggle.set_defaults(run=set_active, active=active)
    erase = command(employees, "erase", "erase an employee, their faces and their photos (a job)")
    erase.add_argument("employee_id")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument("--wait", action="store_true", help="wait until the erasure job is DONE or FAILED")
    erase.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits (600)")
    erase.set_defaults(run=erase_employee)

    faces = subcommands.add_parser("faces", help="an employee's enrolled photos").add_subparsers(
        dest="action", required=True
    )
    enroll = command(faces, "add", "enroll photos (one clear face each)")
    enroll.add_argument("employee_id")
    enroll.add_argument("photos", nargs="+", metavar="PHOTO")
    enroll.set_defaults(run=add_faces)
    listing = command(faces, "list", "an employee's enrolled faces")
    listing.add_argument("employee_id")
    listing.set_defaults(run=list_faces)
    remove = command(faces, "remove", "remove one enrolled face")
    remove.add_argument("employee_id")
    remove.add_argument("face_id")
    remove.set_defaults(run=remove_face)
    pending.register_verbs(faces)  # pending | approve | reject: drop-folder photos waiting


def add_employee(args: argparse.Namespace, context: Context) -> int:
    body = {"employee_id": args.employee_id, "name": args.name}
    body |= _given(args, "email", "department")
    _show_employees(context, context.client.post("/employees", body))
    return 0


def list_employees(args: argparse.Namespace, context: Context) -> int:
    _show_employees(context, list(pages(context.client, "/employees", {})))
    return 0


def show_employee(args: argparse.Namespace, context: Context) -> int:
    _show_employees(context, context.client.get(f"/employees/{segment(args.employee_id)}"))
    return 0


def update_employee(args: argparse.Namespace, context: Context) -> int:
    changes = _given(args, "name", "email", "department")
    if not changes:
        raise UsageError("nothing to change: give --name, --email or --department")
    return _patch(context, args.employee_id, changes)


def set_active(args: argparse.Namespace, context: Context) -> int:
    return _patch(context, args.employee_id, {"active": args.active})


def erase_employee(args: argparse.Namespace, context: Context) -> int:
    if not args.yes and not _confirmed(args.employee_id):
        raise UsageError(f"not erased: confirm by typing {args.employee_id}, or pass --yes")
    job = context.client.delete(f"/employees/{segment(args.employee_id)}")
    if args.wait:
        job = _wait(context, job, args.timeout)
        if job.get("status") not in FINISHED:
            print(f"facegate: the job is still {job.get('status')} after {args.timeout:g}s", file=sys.stderr)
    context.show(job, ERASURE_COLUMNS)
    return 1 if args.wait and job.get("status") != "DONE" else 0


def add_faces(args: argparse.Namespace, context: Context) -> int:
    """Every photo is tried; one refused (no face, too small…) does not stop the others."""
    from facegate_cli.client import ApiError

    path = f"/employees/{segment(args.employee_id)}/faces"
    bodies = [(photo, photo_body(photo)) for photo in args.photos]  # a missing file: before any upload
    enrolled, failed = [], 0
    for photo, body in bodies:
        try:
            enrolled.append({**context.client.post(path, body), "photo": photo})
        except ApiError as error:
            if error.status in (401, 403, 404):  # the same for every photo: stop here
                raise
            failed += 1
            print(f"facegate: {photo}: the API answered {error.status}: {error.message}", file=sys.stderr)
    context.show(enrolled, ["photo", *FACE_COLUMNS])
    return 1 if failed else 0


def list_faces(args: argparse.Namespace, context: Context) -> int:
    answer = context.client.get(f"/employees/{segment(args.employee_id)}/faces")
    context.show(answer["items"], FACE_COLUMNS)
    return 0


def remove_face(args: argparse.Namespace, context: Context) -> int:
    employee, face = segment(args.employee_id), segment(args.face_id)
    answer = context.client.delete(f"/employees/{employee}/faces/{face}")
    if context.json:
        context.show(answer)
    else:
        print(f"removed face {args.face_id} of {args.employee_id}")
    return 0


def _patch(context: Context, employee_id: str, changes: dict[str, Any]) -> int:
    _show_employees(context, context.client.patch(f"/employees/{segment(employee_id)}", changes))
    return 0


def _show_employees(context: Context, employees: Any) -> None:
    """Employees as rows, their access groups in one cell (``it,staff``)."""
    if context.json:
        context.show(employees)
        return
    rows = employees if isinstance(employees, list) else [employees]
    context.show([{**row, "groups": joined(row.get("groups", []))} for row in rows], EMPLOYEE_COLUMNS)


def _given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _confirmed(employee_id: str) -> bool:
    if not sys.stdin.isatty():
        return False
    print(f"This erases {employee_id}, their faces and their photos, for good.", file=sys.stderr)
    return input(f"Type {employee_id} to go on: ").strip() == employee_id


def _wait(context: Context, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    path = f"/erasures/{segment(str(job['job_id']))}"
    deadline = time.monotonic() + timeout
    while job.get("status") not in FINISHED and time.monotonic() < deadline:
        time.sleep(1.0)
        job = context.client.get(path)
    return job
