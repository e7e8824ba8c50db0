"""The daily email's faces, end to end: real photos, the real local engine, local S3 and SES."""

from __future__ import annotations

import io
import re
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client
from PIL import Image

from app import app
from chalicelib import wiring
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.config import Policy
from chalicelib.core.models import Employee, NormalisedImage, Status
from chalicelib.engines.local import LocalEngine
from chalicelib.reporting.thumbnails import MAX_THUMBNAIL_BYTES, MAX_THUMBNAILS, THUMBNAIL_PX
from sandbox.enroll import enroll_employee
from sandbox.mailbox import sent_emails, write_report_files
from sandbox.report import scheduled_event
from sandbox.stack import PROJECT_DIR, Stack
from tests.fakes import InMemoryFaceStore
from tests.report_mime import html_of, inline_images, shown_cids


def invoke(day: str) -> Any:
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        return client.lambda_.invoke("daily_report", scheduled_event(day)).payload


def a_day_at_the_door(stack: Stack, photos: Path) -> str:
    """Avery comes in; two strangers, a group and one stranger whose photo is gone by evening."""
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    stack.upload("front-door", "stranger.png", (photos / "astronaut.png").read_bytes())
    stack.upload("front-door", "visitor.jpg", (photos / "biden.jpg").read_bytes())
    stack.upload("lobby", "group.jpg", (photos / "group.jpg").read_bytes())
    gone = stack.upload("lobby", "erased.png", (photos / "astronaut.png").read_bytes())
    stack.pump(expected=5)
    bucket = stack.settings.camera_bucket
    for version in stack.s3.list_object_versions(Bucket=bucket, Prefix=gone)["Versions"]:
        stack.s3.delete_object(Bucket=bucket, Key=gone, VersionId=version["VersionId"])  # erased
    return datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()


def the_email(day: str) -> EmailMessage:
    outcome = invoke(day)
    assert outcome["sent"] is True, outcome
    [message] = sent_emails()
    return message


def test_each_face_to_review_is_an_inline_jpeg_the_html_shows_and_it_holds_a_face(
    stack: Stack, photos: Path
) -> None:
    day = a_day_at_the_door(stack, photos)
    scans = DynamoScanLog(wiring.table(stack.settings.scans_table)).by_day(day, 50).items
    statuses = {scan.object_key.rpartition("/")[2]: scan.status for scan in scans}
    assert statuses == {
        "avery.jpg": Status.AUTHORIZED,
        "stranger.png": Status.UNKNOWN,
        "visitor.jpg": Status.UNKNOWN,
        "group.jpg": Status.MULTIPLE_FACES,
        "erased.png": Status.UNKNOWN,
    }

    message = the_email(day)
    html = html_of(message)
    images = inline_images(message)
    cids = shown_cids(html)
    # Three faces to review whose photo is still there; the erased one shows none, Avery none.
    assert len(cids) == len(set(cids)) == len(images) == 3 <= MAX_THUMBNAILS
    assert set(cids) == set(images)
    detector = LocalEngine(InMemoryFaceStore(), Policy())
    for cid in cids:
        face = Image.open(io.BytesIO(images[cid]))
        assert face.format == "JPEG" and max(face.size) <= THUMBNAIL_PX
        assert len(images[cid]) <= MAX_THUMBNAIL_BYTES
        found = detector.detect(NormalisedImage(face.convert("RGB"), "JPEG"))
        assert len(found) == 1, f"{cid}: the crop should hold the one face it was cut around"
    text = message.get_body(("plain",))
    assert text is not None and "cid:" not in text.get_content()


def test_the_saved_report_page_shows_the_same_faces_from_files_beside_it(
    stack: Stack, photos: Path, tmp_path: Path
) -> None:
    """What `make demo` writes to out/: a page a browser opens, its images files next to it."""
    message = the_email(a_day_at_the_door(stack, photos))
    images = inline_images(message)
    saved = write_report_files(message, tmp_path, "report")
    page = (tmp_path / "report.html").read_text()
    sources = re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', page)
    assert len(sources) == len(images) == 3 and "cid:" not in page
    assert sorted((tmp_path / source).read_bytes() for source in sources) == sorted(images.values())
    assert {path.name for path in saved} >= {"report.html", "report.txt", *sources}


def test_a_site_that_must_not_email_faces_gets_none(
    stack: Stack, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = a_day_at_the_door(stack, photos)
    monkeypatch.setenv("FACEGATE_REPORT_THUMBNAILS", "off")
    message = the_email(day)
    html = html_of(message)
    assert inline_images(message) == {}
    assert "<img" not in html and "cid:" not in html
    assert not [part for part in message.walk() if part.get_content_maintype() == "image"]
    assert "X-Amz-Signature" in html  # the photo links are still there, for who may follow them
