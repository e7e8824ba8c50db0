"""``facegate import ROSTER.csv --photos DIR``: employees and their faces from a roster.

Resumable: a journal (default ``ROSTER.journal.jsonl``) records each finished step, so a
rerun skips what is done and retries the rest. Every refused row or photo goes to a CSV
(default ``ROSTER.refused.csv``) with its reason. Exit 0 when everything went in.
"""

from __future__ import annotations

import argparse
import csv
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from facegate_cli import journal, output
from facegate_cli.client import ApiError
from facegate_cli.commands.gallery import HealthUnfinished, health_report
from facegate_cli.context import Context
from facegate_cli.importer import Importer, Outcome
from facegate_cli.roster import Plan, Refusal, RosterError, parse, stays_inside

REFUSED_COLUMNS = ("line", "employee_id", "photo", "reason")


def register(subcommands: Any) -> None:
    command = subcommands.add_parser("import", help="create employees and enroll their photos from a CSV")
    command.add_argument("roster", type=Path, help="CSV: employee_id,name,email,department,photos")
    command.add_argument("--photos", type=Path, required=True, help="folder the photo names are relative to")
    command.add_argument("--workers", type=_positive, default=8, help="requests in parallel (default 8)")
    command.add_argument(
        "--refused", type=Path, help="CSV of refused rows and photos (default ROSTER.refused.csv)"
    )
    command.add_argument("--journal", type=Path, help="progress journal (default ROSTER.journal.jsonl)")
    command.add_argument("--dry-run", action="store_true", help="check the roster and show the plan only")
    command.set_defaults(run=run)


def run(args: argparse.Namespace, context: Context) -> int:
    roster: Path = args.roster
    refused_file = args.refused or roster.with_name(roster.stem + ".refused.csv")
    journal_file = args.journal or roster.with_name(roster.stem + ".journal.jsonl")
    photos: Path = args.photos
    try:
        text = roster.read_text(encoding="utf-8-sig")
        plan = parse(text, lambda name: (photos / name).is_file(), inside=stays_inside(photos))
    except (OSError, RosterError, UnicodeDecodeError) as error:
        print(f"facegate import: {error}", file=sys.stderr)
        return 2
    stage = context.stage
    this_stage = {"stage": stage.name, "api_url": stage.api_url, "user_pool_id": stage.user_pool_id}
    done = journal.read(journal_file)
    if done.lines and done.stage != this_stage:
        print(f"facegate import: {_other_stage(journal_file, done.stage, this_stage)}", file=sys.stderr)
        return 2
    steps_journal = journal.Journal(journal_file, this_stage)
    if done.photos:  # a roster imported before: re-enroll whoever the model upgrade left behind
        upgrading = _old_model_only(context, {person.employee_id for person in plan.people})
        if upgrading is None:
            return 2
        if args.dry_run:
            done.forget_photos_of(upgrading)
        else:
            done.reenroll(steps_journal, upgrading)
    if args.dry_run:
        return _dry_run(plan, done, context)
    steps = sum(1 + len(person.photos) for person in plan.people)
    bar = ProgressBar(steps, enabled=sys.stderr.isatty() and not context.json)
    importer = Importer(
        context.client,
        photos,
        steps_journal,
        done,
        workers=args.workers,
        progress=bar.advance,
    )
    try:
        outcome = importer.run(plan)
    finally:
        bar.close()
        _write_refused(refused_file, importer.outcome)
    _summary(outcome, refused_file, context)
    return 0 if outcome.ok else 1


def _old_model_only(context: Context, roster: set[str]) -> set[str] | None:
    """The roster's employees whose faces are all of the engine's old model (the gallery's
    health report names them), said on stderr when there are any; None, said too, when the
    report cannot be read (the import stops: it cannot tell whose photos are done)."""
    try:
        report = health_report(context)
        listed = report.get("old_model_only", []) if isinstance(report, dict) else None
    except (ApiError, OSError, HealthUnfinished) as error:
        listed, why = None, str(error)
    else:
        why = "its answer has no old_model_only list"
    if not isinstance(listed, list):
        print(
            f"facegate import: the gallery's health could not be read ({why}), so the photos the "
            "journal says are done may be of the engine's old model; run the import again",
            file=sys.stderr,
        )
        return None
    waiting = roster & {str(employee) for employee in listed}
    if waiting:
        print(
            f"facegate import: {len(waiting)} employees have faces of the old model only: "
            "their photos are enrolled again with the current model",
            file=sys.stderr,
        )
    return waiting


def _other_stage(path: Path, theirs: dict[str, str] | None, ours: dict[str, str]) -> str:
    """Why the journal at ``path`` cannot be resumed here: its steps were done elsewhere."""
    where = (
        "names no stage"
        if theirs is None
        else (f"is of stage {theirs['stage']} ({theirs['api_url']}, pool {theirs['user_pool_id']})")
    )
    return (
        f"the journal {path} {where}, not of {ours['stage']} ({ours['api_url']}, pool "
        f"{ours['user_pool_id']}): its steps are not done here; pass --journal FILE to start "
        "a journal for this stage"
    )


def _dry_run(plan: Plan, done: journal.JournalState, context: Context) -> int:
    employees = [p for p in plan.people if p.employee_id not in done.employees]
    rows: list[dict[str, object]] = [
        {"result": "rows to import", "count": len(plan.people)},
        {"result": "employees to create", "count": len(employees)},
        {"result": "photos listed", "count": sum(len(p.photos) for p in plan.people)},
        *(
            {"result": f"refused: {r.line} {r.employee_id} {r.photo}: {r.reason}", "count": 1}
            for r in plan.refused
        ),
    ]
    if context.json:
        output.as_json(rows)
    else:
        output.table(rows, ["result", "count"])
    return 0 if not plan.refused else 1


def _summary(outcome: Outcome, refused_file: Path, context: Context) -> None:
    if context.json:
        output.as_json({row["result"]: row["count"] for row in outcome.rows()})
    else:
        output.table(outcome.rows(), ["result", "count"])
    for problem, count in outcome.retried.most_common(5):
        print(f"retried {count}×: {problem}", file=sys.stderr)
    if outcome.refused or outcome.failed:
        print(f"refused and failed rows: {refused_file}", file=sys.stderr)


def _write_refused(path: Path, outcome: Outcome) -> None:
    entries: list[Refusal] = sorted([*outcome.refused, *outcome.failures], key=lambda r: (r.line, r.photo))
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(REFUSED_COLUMNS)
        writer.writerows(
            (r.line, spreadsheet_safe(r.employee_id), spreadsheet_safe(r.photo), spreadsheet_safe(r.reason))
            for r in entries
        )


# What a spreadsheet would run as a formula (chalicelib/reporting/report_email.py's rule: the CLI imports
# nothing from chalicelib; tests/cli/test_hardening.py holds the two to the same answers).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a cell a spreadsheet shows and never runs: quoted when it could start a formula."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _positive(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("workers must be 1–64")
    return value


class ProgressBar:
    """``[#####     ] 12/40`` redrawn in place on stderr; nothing at all when disabled."""

    WIDTH = 30

    def __init__(self, total: int, enabled: bool, out: TextIO = sys.stderr) -> None:
        self._total, self._enabled, self._out = max(total, 1), enabled, out
        self._done = 0
        self._lock = threading.Lock()

    def advance(self, steps: int) -> None:
        if not self._enabled:
            return
        with self._lock:
            self._done = min(self._done + steps, self._total)
            filled = self.WIDTH * self._done // self._total
            bar = "#" * filled + " " * (self.WIDTH - filled)
            self._out.write(f"\r[{bar}] {self._done}/{self._total}")
            self._out.flush()

    def close(self) -> None:
        if self._enabled:
            self._out.write("\n")
            self._out.flush()
