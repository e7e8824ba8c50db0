"""The roster's rules, the journal's reading and the progress bar: pure, no API."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from facegate_cli.commands.importer import ProgressBar
from facegate_cli.journal import Journal, read
from facegate_cli.roster import RosterError, parse

HEADER = "employee_id,name,email,department,photos\n"


def test_valid_rows_become_people_with_their_photos() -> None:
    plan = parse(HEADER + "E1,Ada Lovelace,ada@example.com,R&D, a.jpg ; b.jpg;;a.jpg\n", lambda _: True)
    assert plan.refused == []
    [person] = plan.people
    assert person.photos == ("a.jpg", "b.jpg")  # trimmed, empty and repeated names dropped
    assert person.body() == {
        "employee_id": "E1",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "department": "R&D",
    }


def test_each_refusal_names_its_line_and_reason() -> None:
    text = (
        HEADER
        + "E1,One,,,\n"
        + "bad id,Two,,,\n"
        + "daily-report,Three,,,\n"
        + "E1,Four,,,\n"
        + ",Five,,,\n"
        + "E6,,,,\n"
        + "E7,Seven,,,here.jpg;gone.jpg;../etc/passwd\n"
    )
    plan = parse(text, lambda name: name == "here.jpg")
    reasons = [(r.line, r.employee_id, r.photo, r.reason) for r in plan.refused]
    assert reasons == [
        (
            3,
            "bad id",
            "",
            "bad employee_id: must be 1–64 characters of A–Z, a–z, 0–9, _ . : - (not only dots)",
        ),
        (4, "daily-report", "", "bad employee_id: daily-report is reserved"),
        (5, "E1", "", "duplicate employee_id: already on line 2"),
        (6, "", "", "employee_id is empty"),
        (7, "E6", "", "name is empty"),
        (8, "E7", "gone.jpg", "photo file not found"),
        (8, "E7", "../etc/passwd", "photo path leaves the photos folder"),
    ]
    assert [(p.employee_id, p.photos) for p in plan.people] == [("E1", ()), ("E7", ("here.jpg",))]


def test_the_id_rule_is_the_api_s() -> None:
    from chalicelib.api import validation
    from chalicelib.core import keys
    from chalicelib.core.errors import BadRequest
    from facegate_cli import roster

    assert roster.EMPLOYEE_ID.pattern == keys.EMPLOYEE_ID.pattern
    assert roster.RESERVED_IDS == keys.RESERVED_IDS
    assert roster.ID_RULE == keys.EMPLOYEE_ID_RULE

    def api_accepts(employee_id: str) -> bool:
        try:
            validation.employee_id(employee_id)
        except BadRequest:
            return False
        return True

    samples = ["E1", "e-1.a:b_c", "x" * 64, "x" * 65, "bad id", "a/b", "é", "daily-report", "erasure"]
    samples += [".a", "a.", ":", "-", ".", "..", "..."]
    plans = {s: parse(HEADER + f"{s},Name,,,\n", lambda _: True) for s in samples}
    assert {s: bool(plan.people) for s, plan in plans.items()} == {s: api_accepts(s) for s in samples}


def test_an_id_of_only_dots_is_refused() -> None:
    # The API's rule refuses these too (chalicelib/core/keys.py): in a URL path they mean "here" and "up".
    plan = parse(HEADER + ".,One,,,\n..,Two,,,\n...,Three,,,\n.a.,Four,,,\n", lambda _: True)
    assert [r.employee_id for r in plan.refused] == [".", "..", "..."]
    assert all(r.reason.endswith("(not only dots)") for r in plan.refused)
    assert [p.employee_id for p in plan.people] == [".a."]


def test_a_missing_column_refuses_the_whole_file() -> None:
    with pytest.raises(RosterError, match="no column photos"):
        parse("employee_id,name,email,department\nE1,One,,\n", lambda _: True)


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("employee_id,name,email,department,photos,employee_id", "employee_id"),
        ("employee_id,name,email,department,photos, name ", "name"),  # spaces stripped, as parsed
        ("employee_id,name,email,department,photos,Photos", "photos"),
        ("employee_id,name,email,department,photos,consent_method,CONSENT_METHOD", "consent_method"),
        ("employee_id,name,email,department,photos,notes,Notes", "notes"),  # unknown ones too
    ],
)
def test_a_column_named_twice_refuses_the_whole_file(header: str, named: str) -> None:
    # csv.DictReader would keep the later column's value: the row's id, name or photos guessed
    with pytest.raises(RosterError, match=f"names a column more than once: {named}$"):
        parse(header + "\nE1,One,,,,EVIL,x\n", lambda _: True)


def test_empty_trailing_columns_are_no_duplicates() -> None:
    assert [
        p.employee_id for p in parse(HEADER.rstrip("\n") + ",,\nE1,One,,,,,\n", lambda _: True).people
    ] == ["E1"]


def test_excel_s_byte_order_mark_is_not_part_of_the_first_column() -> None:
    assert [p.employee_id for p in parse("\ufeff" + HEADER + "E1,One,,,\n", lambda _: True).people] == ["E1"]


def test_the_journal_ignores_a_torn_last_line_and_knows_unfinished_enrollments(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.append(step="employee", employee_id="E1", outcome="created")
    journal.append(step="employee", employee_id="E2", outcome="refused", reason="no")
    photo = {"step": "photo", "employee_id": "E1", "photo": "a.jpg", "sha256": "aa"}
    journal.append(**photo, outcome="started")
    journal.append(**photo, outcome="enrolled", face_id="f1")
    journal.append(**{**photo, "sha256": "bb"}, outcome="started", before=["f0", "f1"])
    journal.append(**{**photo, "sha256": "cc"}, outcome="started")  # an older journal: no before
    with path.open("a") as file:
        file.write('{"step": "photo", "employee_id": "E1", "sha')  # the crash mid-write
    state = read(path)
    assert state.employees == {"E1"}
    assert state.photos == {("E1", "aa"): "f1"}
    assert state.pending == {("E1", "bb"): frozenset({"f0", "f1"}), ("E1", "cc"): None}
    assert all("at" in json.loads(line) for line in path.read_text().splitlines()[:6])


def test_the_progress_bar_draws_in_place_and_is_silent_when_disabled() -> None:
    out = io.StringIO()
    bar = ProgressBar(4, enabled=True, out=out)
    bar.advance(1)
    bar.advance(3)
    bar.close()
    assert out.getvalue().startswith("\r[" + "#" * 7 + " " * 23 + "] 1/4\r[")
    assert out.getvalue().endswith("] 4/4\n")
    silent = io.StringIO()
    quiet = ProgressBar(4, enabled=False, out=silent)
    quiet.advance(2)
    quiet.close()
    assert silent.getvalue() == ""


def test_the_summary_groups_refusals_by_kind_without_their_particulars() -> None:
    from facegate_cli.importer import refusal_kind

    assert refusal_kind("6 faces in the photo: enroll a photo of one person") == "N faces in the photo"
    assert refusal_kind("3 faces in the photo: enroll a photo of one person") == "N faces in the photo"
    duplicate = "this face matches employee EMP001 (similarity 85.8): enrolled for a second employee"
    assert refusal_kind(duplicate) == "this face matches employee N"
    assert refusal_kind("face too small: 62px across, minimum 80px") == "face too small"
    assert refusal_kind("no face found in the photo") == "no face found in the photo"
