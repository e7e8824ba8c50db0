"""``facegate faces pending | approve | reject``: drop-folder photos waiting for an admin;
``facegate faces allow-pair | remove-pair | allowed-pairs``: look-alikes (twins) the
duplicate guard lets through.

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
    allow = command(faces, "allow-pair", "let faces of two look-alikes (twins) resemble each other")
    allow.add_argument("employee_a")
    allow.add_argument("employee_b")
    allow.set_defaults(run=allow_pair)
    remove = command(faces, "remove-pair", "the duplicate guard refuses their look-alike faces again")
    remove.add_argument("employee_a")
    remove.add_argument("employee_b")
    remove.set_defaults(run=remove_pair)
    command(faces, "allowed-pairs", "the look-alike pairs allowed").set_defaults(run=list_pairs)


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


def _pair_path(args: argparse.Namespace) -> str:
    return f"/faces/allowed-pairs/{segment(args.employee_a)}/{segment(args.employee_b)}"


def allow_pair(args: argparse.Namespace, context: Context) -> int:
    pair = context.client.put(_pair_path(args), {})
    if context.json:
        context.show(pair)
    else:
        print("allowed look-alike pair " + " ".join(pair["employee_ids"]))
    return 0


def remove_pair(args: argparse.Namespace, context: Context) -> int:
    context.client.delete(_pair_path(args))
    if context.json:
        context.show({"employee_ids": [args.employee_a, args.employee_b], "removed": True})
    else:
        print(f"removed look-alike pair {args.employee_a} {args.employee_b}")
    return 0


def list_pairs(args: argparse.Namespace, context: Context) -> int:
    items = context.client.get("/faces/allowed-pairs")["items"]
    rows = [{"employee_a": a, "employee_b": b} for a, b in (item["employee_ids"] for item in items)]
    context.show(items if context.json else rows, ["employee_a", "employee_b"])
    return 0
