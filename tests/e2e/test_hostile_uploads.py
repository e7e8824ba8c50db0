"""Hostile and awkward uploads, made by code: each gets one record with a defined status."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from PIL import Image

from app import on_camera_upload
from chalicelib.core.keys import INVALID_CAMERA, NO_CAMERA
from chalicelib.core.models import Employee
from sandbox.enroll import enroll_employee
from sandbox.stack import Stack
from tests.images import encoded, jpeg_with_orientation, png_claiming, two_tone

DOOR_STAYS_SHUT = {"UNKNOWN", "NO_FACE", "MULTIPLE_FACES", "LOW_QUALITY", "REJECTED", "ERROR"}


def hostile_uploads(photos: Path) -> dict[str, tuple[bytes, set[str], str]]:
    """name → (bytes, acceptable statuses, words the reason must hold)."""
    photo = (photos / "obama2.jpg").read_bytes()
    png = encoded(two_tone(400, 300), "PNG")
    upright = Image.open(photos / "obama2.jpg")
    sideways = jpeg_with_orientation(upright.transpose(Image.Transpose.ROTATE_90), 6)
    tiny_face = encoded(upright.resize((upright.width // 5, upright.height // 5)), "JPEG")
    return {
        "zero.jpg": (b"", {"REJECTED"}, "empty file"),
        "garbage.jpg": (os.urandom(5000), {"REJECTED"}, "not an image"),
        "truncated.jpg": (photo[: len(photo) // 2], {"REJECTED"}, "truncated"),
        "truncated.png": (png[: len(png) // 2], {"REJECTED"}, "image"),
        "notes.jpg": (b"Meeting notes, definitely not a photo.\n" * 20, {"REJECTED"}, "not an image"),
        "anim.gif": (encoded(two_tone(), "GIF"), {"REJECTED"}, "unsupported image format GIF"),
        "pic.webp": (encoded(two_tone(), "WEBP"), {"REJECTED"}, "unsupported image format WEBP"),
        "scan.tiff": (encoded(two_tone(), "TIFF"), {"REJECTED"}, "unsupported image format TIFF"),
        "cmyk.jpg": (encoded(Image.new("CMYK", (120, 90), (0, 80, 80, 0)), "JPEG"), {"NO_FACE"}, "no face"),
        "deep.png": (encoded(Image.new("I;16", (120, 90), 40000), "PNG"), {"NO_FACE"}, "no face"),
        "palette.png": (encoded(two_tone().convert("P"), "PNG"), {"NO_FACE"}, "no face"),
        "alpha.png": (encoded(Image.new("RGBA", (120, 90), (9, 9, 9, 0)), "PNG"), {"NO_FACE"}, "no face"),
        "dot.png": (encoded(Image.new("RGB", (1, 1)), "PNG"), {"NO_FACE"}, "no face"),
        "bomb.png": (png_claiming(30000, 30000), {"REJECTED"}, "image too large"),
        "sideways.jpg": (sideways, {"AUTHORIZED"}, ""),
        "far-away.jpg": (tiny_face, {"LOW_QUALITY", "NO_FACE"}, ""),
        "東" * 300 + ".jpg": (photo, {"AUTHORIZED"}, ""),
    }


def test_every_hostile_upload_ends_with_exactly_one_defined_record(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    uploads = hostile_uploads(photos)
    keys = {stack.upload("front-door", name, data): name for name, (data, _, _) in uploads.items()}
    folder_marker = "incoming/front-door/"
    stack.s3.put_object(Bucket=stack.settings.camera_bucket, Key=folder_marker, Body=b"")
    handled = stack.pump(expected=len(keys) + 1, workers=2)
    assert [event.error for event in handled] == [None] * (len(keys) + 1)

    records = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    by_key = {item["object_key"]["S"]: item for item in records}
    assert len(records) == len(keys) + 1 == len(by_key)
    for key, name in keys.items():
        _, statuses, reason = uploads[name]
        item = by_key[key]
        assert item["status"]["S"] in statuses, (name, item["status"]["S"], item.get("reason"))
        if reason:
            assert reason in item["reason"]["S"], (name, item["reason"]["S"])
    assert by_key[folder_marker]["status"]["S"] == "REJECTED"
    assert "incoming/<camera-id>/<file>" in by_key[folder_marker]["reason"]["S"]


def test_a_key_outside_incoming_is_recorded_as_rejected(stack: Stack) -> None:
    key = "elsewhere/front-door/x.jpg"
    stack.s3.put_object(Bucket=stack.settings.camera_bucket, Key=key, Body=b"x")
    record = {
        "eventName": "ObjectCreated:Put",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "s3": {"bucket": {"name": stack.settings.camera_bucket}, "object": {"key": key, "size": 1}},
    }
    on_camera_upload({"Records": [record]}, None)
    [item] = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    assert item["status"]["S"] == "REJECTED" and item["camera_id"]["S"] == NO_CAMERA


def test_the_same_event_handled_twice_at_once_gives_one_record_and_one_notification(
    stack: Stack, photos: Path
) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    event = _next_upload_event(stack)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def invocation() -> None:
        start.wait()
        try:
            on_camera_upload(event, None)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=invocation) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    records = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    assert len(records) == 1
    assert [n["attributes"]["status"] for n in stack.notifications()] == ["AUTHORIZED"]


@pytest.mark.slow(reason="1,000 uploads from concurrent writers, each through the real handler")
@pytest.mark.parametrize("writers", [4])
def test_a_thousand_uploads_from_concurrent_writers_give_a_thousand_records(
    stack: Stack, writers: int, capsys: pytest.CaptureFixture[str]
) -> None:
    total = 1000
    frames = [_noise_png(number) for number in range(total)]

    def writer(offset: int) -> None:
        for number in range(offset, total, writers):
            stack.upload(f"cam-{offset}", f"frame-{number:04d}.png", frames[number])

    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(offset,)) for offset in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handled = stack.pump(expected=total, timeout=600, workers=2)
    elapsed = time.perf_counter() - started
    assert len(handled) == total and all(event.error is None for event in handled)

    dynamodb = stack.session.client("dynamodb")
    keys: list[str] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=stack.settings.scans_table):
        keys += [item["object_key"]["S"] for item in page["Items"]]
    assert len(keys) == total and len(set(keys)) == total
    with capsys.disabled():
        print(f"\n[load] {total} uploads, {writers} writers, 2 workers: {total / elapsed:.1f} photos/s")


def _next_upload_event(stack: Stack) -> dict[str, object]:
    """The S3 event as it waits in the queue for the handler (skipping S3's test event)."""
    while True:
        [message] = stack.sqs.receive_message(QueueUrl=stack.names["uploads_queue"], WaitTimeSeconds=2)[
            "Messages"
        ]
        stack.sqs.delete_message(
            QueueUrl=stack.names["uploads_queue"], ReceiptHandle=message["ReceiptHandle"]
        )
        event: dict[str, object] = json.loads(message["Body"])
        if "Records" in event:
            return event


def _noise_png(seed: int) -> bytes:
    image = Image.frombytes("RGB", (48, 48), (seed.to_bytes(4, "big") * 1728)[: 48 * 48 * 3])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "camera",
    [
        "front-door\nStatus: AUTHORIZED\nEmployee: EMP001",
        "lobby\u2028Status: AUTHORIZED",
        "door\u202e",
        "d" * 65,
    ],
)
def test_a_forged_camera_id_is_rejected_and_forges_no_line_of_the_alert(stack: Stack, camera: str) -> None:
    # moto's S3 cannot store keys with line breaks; S3 can, and sends them URL-encoded.
    key = f"incoming/{camera}/x\nStatus: AUTHORIZED.jpg"
    record = {
        "eventName": "ObjectCreated:Put",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "s3": {
            "bucket": {"name": stack.settings.camera_bucket},
            "object": {"key": quote_plus(key), "size": 1000, "versionId": "v1"},
        },
    }
    on_camera_upload({"Records": [record]}, None)
    [item] = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    assert item["object_key"]["S"] == key  # the record keeps the data as it came
    assert (item["status"]["S"], item["camera_id"]["S"]) == ("REJECTED", INVALID_CAMERA)
    assert "employee_id" not in item  # never searched, never matched
    [note] = stack.notifications()  # what SQS subscribers get: the subject and the JSON body
    assert note["attributes"] == {
        "status": "REJECTED",
        "camera_id": INVALID_CAMERA,
        "door_id": INVALID_CAMERA,  # no door's queue: no door id can be "(invalid)"
        "employee_id": "none",
    }
    assert len(note["subject"].splitlines()) == 1
    assert note["body"]["reason_code"] == "BAD_CAMERA_ID"


def test_each_upload_of_one_key_is_its_own_record_and_a_redelivery_is_not(stack: Stack) -> None:
    # moto's events carry neither versionId nor sequencer, and equal bytes share an eTag:
    # the record's identity is the version read from S3.
    photo = encoded(two_tone(), "JPEG")
    key = ""
    for _ in range(3):
        key = stack.upload("front-door", "same.jpg", photo)
        [event] = stack.pump(expected=1)
        assert event.error is None
    record = {
        "eventName": "ObjectCreated:Put",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "s3": {"bucket": {"name": stack.settings.camera_bucket}, "object": {"key": key, "size": len(photo)}},
    }
    on_camera_upload({"Records": [record]}, None)  # the latest version, delivered once more
    items = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    versions = stack.s3.list_object_versions(Bucket=stack.settings.camera_bucket, Prefix=key)["Versions"]
    assert sorted(item["object_version"]["S"] for item in items) == sorted(v["VersionId"] for v in versions)
    assert len(items) == 3
