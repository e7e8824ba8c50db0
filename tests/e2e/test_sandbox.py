"""The whole offline system: real S3 events through SQS to the handler, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from unittest.mock import ANY

import pytest

from chalicelib import wiring
from chalicelib.core.models import Employee
from sandbox.enroll import enroll_employee
from sandbox.stack import Stack
from tests.e2e.cli import assert_demo_import, assert_demo_outcomes, run_sandbox
from tests.images import encoded, png_claiming, two_tone


def test_url_encoded_keys_with_spaces_and_non_ascii_reach_the_handler(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    key = stack.upload("front-door", "José Ñúñez 東京 +1.jpg", (photos / "obama2.jpg").read_bytes())
    [handled] = stack.pump(expected=1)
    assert handled.error is None
    [notification] = stack.notifications()
    assert notification["body"]["object_key"] == key == "incoming/front-door/José Ñúñez 東京 +1.jpg"
    assert notification["body"]["camera_id"] == "front-door"
    assert notification["attributes"]["status"] == "AUTHORIZED"


def test_enrolling_an_existing_employee_again_brings_their_record_up_to_date(stack: Stack) -> None:
    enroll_employee(stack, Employee("EMP009", "Avery Stone"), [])
    enroll_employee(stack, Employee("EMP009", "Avery Stone"), [])  # the same: nothing to change
    enroll_employee(stack, Employee("EMP009", "Avery Stone-Lee", active=False, email="a@example.com"), [])
    directory = wiring.pipeline_ports(stack.settings).directory
    assert directory.get("EMP009") == Employee(
        "EMP009", "Avery Stone-Lee", active=False, email="a@example.com", inactive_since=ANY
    )
    audit = stack.session.client("dynamodb").scan(TableName=stack.settings.audit_table)["Items"]
    assert sorted(item["action"]["S"] for item in audit) == ["employee.create", "employee.update"]


def test_hostile_uploads_are_rejected_with_reasons_and_nothing_escapes(
    stack: Stack, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEGATE_MAX_UPLOAD_BYTES", str(2_000_000))
    photo = (photos / "obama2.jpg").read_bytes()
    uploads = {
        "empty.jpg": (b"", "empty file"),
        "garbage.jpg": (os.urandom(4096), "not an image"),
        "notes.jpg": (b"a text file, not a photo\n", "not an image"),
        "truncated.jpg": (photo[: len(photo) // 3], "truncated"),
        "animated.gif": (encoded(two_tone(), "GIF"), "unsupported image format GIF"),
        "bomb.png": (png_claiming(30000, 30000), "image too large"),
        "huge.jpg": (b"\xff\xd8" + b"\x00" * 2_000_001, "file too large"),
    }
    keys = {stack.upload("front-door", name, data): reason for name, (data, reason) in uploads.items()}
    handled = stack.pump(expected=len(keys))
    assert [event.error for event in handled] == [None] * len(keys)
    by_key = {n["body"]["object_key"]: n for n in stack.notifications()}
    assert set(by_key) == set(keys)
    for key, reason in keys.items():
        body = by_key[key]["body"]
        assert body["status"] == "REJECTED", key
        assert reason in body["reason"], (key, body["reason"])


@pytest.mark.slow(
    reason="the whole demo (staff, consent, scans, door agents, retention, report) as make demo"
)
def test_the_demo_prints_every_decision_and_its_notification(photos: Path, tmp_path: Path) -> None:
    result = run_sandbox("demo", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert_demo_outcomes(lines)
    assert "Door unlocks: EMP001 Avery Stone at front-door" in result.stdout
    [denied] = [line for line in lines if line.startswith("not in IT, server room ")]
    assert "EMP001" in denied
    assert "  facegate rules remove everyone-everywhere-always" in lines  # the access policy, by the CLI
    assert "status=MULTIPLE_FACES" in result.stdout
    door = lines[lines.index("The front-door check on its own queue (every decision for this door):") :]
    assert door[1] == "  door unlocks for EMP001 at front-door"
    assert "  door stays shut: invalid signature" in door  # the forgery
    agents = lines[lines.index("Two door agents (facegate-door), each on a video of Avery at its door:") :]
    assert "  front-door: AUTHORIZED at front-door -> relay energised (door released)" in agents
    assert "  server-room: DENIED at server-room-cam -> relay off (door stays locked)" in agents
    assert any(
        line.startswith("  front-door: opened and left open") and "HELD_OPEN, CLOSED" in line
        for line in agents
    )
    remote = "  server-room: security's remote unlock (POST /doors/server-room/unlock) -> relay energised"
    assert any(line.startswith(remote) for line in agents)
    assert_demo_import(lines)
    refused = (tmp_path / "roster.refused.csv").read_text().splitlines()
    assert [line.split(",")[:3] for line in refused[1:]] == [
        ["4", "EMP003", "group.jpg"],
        ["5", "EMP004", "obama2.jpg"],
    ]
    report = sorted(path.name for path in tmp_path.iterdir() if not path.name.startswith("roster."))
    # The email's parts, and the two faces to review (the stranger, the group) beside its page.
    assert sorted(name.rsplit(".", 1)[1] for name in report) == ["csv", "html", "jpeg", "jpeg", "txt"]
    for name in report:
        assert str(tmp_path / name) in result.stdout


def test_the_report_command_writes_the_days_email(photos: Path, tmp_path: Path) -> None:
    result = run_sandbox("report", "--day", "2026-03-04", "--out", str(tmp_path), "--empty")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "report-2026-03-04.txt").read_text()
    assert "No activity" in text
    assert (tmp_path / "facegate-2026-03-04.csv").read_text().startswith("scan_id,captured_at")
    assert run_sandbox("report", "--day", "03/04/2026", "--empty").returncode == 2


def test_evaluate_enrolls_a_gallery_and_scans_probes_as_json_lines(photos: Path, tmp_path: Path) -> None:
    for person, files in {"EMP001": ["obama.jpg", "obama3.jpg"], "EMP002": ["biden.jpg"]}.items():
        (tmp_path / "gallery" / person).mkdir(parents=True)
        for name in files:
            shutil.copy(photos / name, tmp_path / "gallery" / person / name)
    (tmp_path / "probes").mkdir()
    for name in ["obama2.jpg", "astronaut.png", "coffee.png", "group.jpg"]:
        shutil.copy(photos / name, tmp_path / "probes" / name)

    result = run_sandbox(
        "evaluate", "--gallery", str(tmp_path / "gallery"), "--probes", str(tmp_path / "probes"), "--json"
    )
    assert result.returncode == 0, result.stderr
    rows = {row["probe"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert rows["obama2.jpg"]["status"] == "AUTHORIZED" and rows["obama2.jpg"]["employee_id"] == "EMP001"
    assert rows["obama2.jpg"]["similarity"] >= 80
    assert rows["astronaut.png"]["status"] == "UNKNOWN"
    assert rows["coffee.png"] == {
        "probe": "coffee.png",
        "status": "NO_FACE",
        "employee_id": None,
        "similarity": None,
    }
    assert rows["group.jpg"]["status"] == "MULTIPLE_FACES"


def test_facegate_variables_override_the_stage_defaults(photos: Path, tmp_path: Path) -> None:
    (tmp_path / "gallery" / "EMP001").mkdir(parents=True)
    shutil.copy(photos / "obama.jpg", tmp_path / "gallery" / "EMP001")
    (tmp_path / "probes").mkdir()
    shutil.copy(photos / "obama2.jpg", tmp_path / "probes")
    result = run_sandbox(
        "evaluate",
        "--gallery",
        str(tmp_path / "gallery"),
        "--probes",
        str(tmp_path / "probes"),
        "--json",
        env={"FACEGATE_MATCH_THRESHOLD": "99.5"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "UNKNOWN"
