"""``facegate faces pending | approve | reject``: drop-folder photos waiting for an admin.

A photo the drop folder would have enrolled for an employee it did not just create (or one
in an access group or named by a rule) waits instead; these verbs list and decide them.
"""

from __future__ import annotations

import argparse
from typing import Any

from facegate_cli.client import segment
from facegate_cli.commands.common import command
from facegate_cli.context import Context

PENDING_COLUMNS = ["pending_id", "employee_id", "held_at", "reason", "uploader"]
FACE_COLUMNS = ["employee_id", "face_id", "engine", "created_at"]


def register_verbs(faces: Any) -> None:
    """The three verbs, under ``facegate faces`` (registered by ``commands.employees``)."""
    command(faces, "pending", "drop-folder photos waiting for an admin's approval").set_defaults(
        run=list_pending
    )
    approve = command(faces, "approve", "enroll a waiting photo (the duplicate guard applies)")
    approve.add_argument("pending_id")
    approve.set_defaults(run=approve_pending)
    reject = command(faces, "reject", "delete a waiting photo")
    reject.add_argument("pending_id")
    reject.set_defaults(run=reject_pending)


def list_pending(args: argparse.Namespace, context: Context) -> int:
    context.show(context.client.get("/faces/pending")["items"], PENDING_COLUMNS)
    return 0


def approve_pending(args: argparse.Namespace, context: Context) -> int:
    face = context.client.post(f"/faces/pending/{segment(args.pending_id)}/approve", {})
    context.show(face, FACE_COLUMNS)
    return 0


def reject_pending(args: argparse.Namespace, context: Context) -> int:
    answer = context.client.post(f"/faces/pending/{segment(args.pending_id)}/reject", {})
    if context.json:
        context.show(answer if answer is not None else {"pending_id": args.pending_id, "rejected": True})
    else:
        print(f"rejected pending face {args.pending_id}")
    return 0
