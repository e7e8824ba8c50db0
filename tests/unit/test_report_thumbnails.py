"""The daily email shows the faces of events to review: inline, capped, and never at the report's cost."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from chalicelib.core.config import Settings
from chalicelib.core.models import BoundingBox, DetectedFace, Reason, SearchResult, Status, Upload
from chalicelib.core.ports import StoredObject
from chalicelib.reporting.reports import run_daily_report
from chalicelib.reporting.thumbnails import MAX_THUMBNAILS, THUMBNAIL_PX
from tests.fakes import InMemoryImageStore
from tests.report_mime import html_of, inline_images, shown_cids
from tests.unit.test_reports import CHICAGO, Site

# astronaut.png (512x512): one face where the local engine finds it, nobody enrolled.
STRANGER = SearchResult(faces=[DetectedFace(BoundingBox(179, 83, 88, 88), 70.0)])
DAY = "2026-03-04"
NO_FACES = Settings.from_env(
    {
        "FACEGATE_TIMEZONE": "America/Chicago",
        "FACEGATE_REPORT_FROM": "facegate@example.com",
        "FACEGATE_REPORT_TO": "facilities@example.com",
        "FACEGATE_REPORT_THUMBNAILS": "off",
    }
)


class CountingImageStore(InMemoryImageStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def read(self, upload: Upload, max_bytes: int) -> StoredObject:
        self.reads.append(upload.key)
        return super().read(upload, max_bytes)


class CountingSite(Site):
    def __init__(self) -> None:
        super().__init__()
        self.images: CountingImageStore = CountingImageStore()


def site_with_strangers(photos: Path, count: int) -> CountingSite:
    site = CountingSite()
    stranger = (photos / "astronaut.png").read_bytes()
    start = datetime(2026, 3, 4, 15, tzinfo=UTC)  # 09:00 in Chicago
    for minute in range(count):
        utc = (start + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
        site.scan_at(utc, STRANGER)
        site.images.objects[("cams", f"incoming/front-door/{utc}.jpg")] = stranger  # what the camera sent
    site.scan_at("2026-03-04T14:00:00Z")  # an entry: never a face in the email
    site.images.reads.clear()
    return site


def sent(site: CountingSite, settings: Settings = CHICAGO) -> EmailMessage:
    outcome = run_daily_report(site.ports, settings, datetime.now(UTC), day=DAY)
    assert outcome.sent
    return site.outbox.sent[-1]


def test_every_event_to_review_shows_its_face_as_an_inline_part_the_html_names(photos: Path) -> None:
    message = sent(site_with_strangers(photos, 2))
    html = html_of(message)
    images = inline_images(message)
    cids = shown_cids(html)
    assert len(cids) == 2 and set(cids) <= set(images)
    for cid in cids:
        face = Image.open(io.BytesIO(images[cid]))
        assert face.format == "JPEG" and max(face.size) <= THUMBNAIL_PX
    assert 'alt="Face seen by front-door at 09:00:00 (UNKNOWN)"' in html
    related = message.get_body(("related",))
    assert related is not None and related.get_content_type() == "multipart/related"
    # The two strangers sent the same photo: one face, one part, named twice.
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain",
        "multipart/related", "text/html", "image/jpeg", "text/csv",
    ]  # fmt: skip


def test_thumbnails_off_reads_no_photo_and_mails_no_face(photos: Path) -> None:
    site = site_with_strangers(photos, 2)
    message = sent(site, NO_FACES)
    html = html_of(message)
    assert inline_images(message) == {}
    assert "<img" not in html and "cid:" not in html and "Face" not in html
    assert site.images.reads == []  # not one photo was opened for the email
    assert "memory://" in html  # the links to the photos remain


def test_a_photo_gone_or_hostile_gives_no_face_and_the_report_still_goes_out(photos: Path) -> None:
    site = site_with_strangers(photos, 3)
    keys = sorted(key for _, key in site.images.objects if "T15:" in key)
    del site.images.objects[("cams", keys[0])]  # erased, or expired by the lifecycle
    site.images.objects[("cams", keys[1])] = b"\xff\xd8\xff\xe0" + b"\x00" * 5000  # not a photo at all
    message = sent(site)
    html = html_of(message)
    [cid] = shown_cids(html)
    assert list(inline_images(message)) == [cid]
    assert html.count("<td>&ndash;</td><td>09:0") == 2  # the two without a face say so


def test_one_email_carries_at_most_the_cap_of_faces_and_reads_no_more_photos(photos: Path) -> None:
    site = site_with_strangers(photos, MAX_THUMBNAILS + 3)
    stranger = Image.open(photos / "astronaut.png").convert("RGB")
    for index, (_, key) in enumerate(sorted(site.images.objects)):  # each photo a little different
        shade = Image.new("RGB", stranger.size, (index * 9 % 256, 0, 0))
        site.images.objects[("cams", key)] = _png(Image.blend(stranger, shade, 0.05))
    message = sent(site)
    assert len(shown_cids(html_of(message))) == len(inline_images(message)) == MAX_THUMBNAILS
    assert len(site.images.reads) == MAX_THUMBNAILS


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("value", ["of", "no", "false", "0"])
def test_the_setting_is_on_or_off_and_nothing_else(value: str) -> None:
    from chalicelib.core.errors import ConfigError

    with pytest.raises(ConfigError, match="FACEGATE_REPORT_THUMBNAILS must be on or off"):
        Settings.from_env({"FACEGATE_REPORT_THUMBNAILS": value})


def test_a_face_the_record_ties_to_an_employee_is_never_mailed(photos: Path) -> None:
    """An ERROR after a match keeps who it was; a scan of someone being erased keeps their face box."""
    site = site_with_strangers(photos, 3)
    late, erased, _ = sorted(
        (scan for scan in site.scans.scans.values() if scan.status is Status.UNKNOWN), key=lambda s: s.scan_id
    )
    matched = replace(late.decision, status=Status.ERROR, employee_id="EMP001", reason_code=Reason.TOO_LATE)
    site.scans.scans[late.scan_id] = replace(late, decision=matched)
    site.scans.scans[erased.scan_id] = replace(
        erased, decision=replace(erased.decision, reason_code=Reason.EMPLOYEE_ERASED)
    )
    message = sent(site)
    assert len(shown_cids(html_of(message))) == 1 == len(inline_images(message))
