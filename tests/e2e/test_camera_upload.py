"""The camera handler through Chalice's test client, on real photos, against local AWS (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.access.policy import ANY, DEFAULT_RULE, DEFAULT_RULE_ID, Door, Effect, Rule
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.errors import NotificationFailed, ScanNotRecorded
from chalicelib.core.keys import processed_key
from chalicelib.core.models import Employee, Reason, Scan, Status, Upload
from chalicelib.scanning.pipeline import scan_id_for
from sandbox.enroll import enroll_employee
from sandbox.moto_internals import MotoState
from sandbox.stack import PROJECT_DIR, Stack


@pytest.fixture
def client(stack: Stack) -> Iterator[Client]:
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as chalice_client:
        yield chalice_client


@pytest.fixture
def enrolled(stack: Stack, photos: Path) -> Stack:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    enroll_employee(stack, Employee("EMP002", "Jordan Lee"), [photos / "biden.jpg"])
    return stack


class Camera:
    """Puts photos in the bucket and hands the handler the S3 event, as Lambda would."""

    def __init__(self, stack: Stack, client: Client) -> None:
        self.stack = stack
        self.client = client

    def put(self, key: str, data: bytes) -> tuple[Upload, dict[str, Any]]:
        bucket = self.stack.settings.camera_bucket
        version = self.stack.s3.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"]
        event = self.client.events.generate_s3_event(bucket=bucket, key=key)
        record = event["Records"][0]
        record["eventTime"] = datetime.now(UTC).isoformat(timespec="milliseconds")
        record["s3"]["object"].update({"versionId": version, "size": len(data)})
        return Upload(bucket, key, version, None, record["eventTime"]), event

    def invoke(self, event: dict[str, Any]) -> None:
        self.client.lambda_.invoke("on_camera_upload", event)

    def scan(self, upload: Upload) -> Scan | None:
        return DynamoScanLog(wiring.table(self.stack.settings.scans_table)).get(scan_id_for(upload))


@pytest.fixture
def camera(stack: Stack, client: Client) -> Camera:
    return Camera(stack, client)


def test_an_enrolled_person_is_recorded_announced_and_published(
    enrolled: Stack, camera: Camera, photos: Path
) -> None:
    upload, event = camera.put("incoming/front-door/avery.jpg", (photos / "obama2.jpg").read_bytes())
    pending_before = enrolled.pending_events()
    camera.invoke(event)

    scan = camera.scan(upload)
    assert scan is not None
    assert scan.status is Status.AUTHORIZED
    assert (scan.decision.employee_id, scan.decision.employee_name) == ("EMP001", "Avery Stone")
    assert scan.decision.similarity is not None and scan.decision.similarity >= 80
    assert scan.camera_id == "front-door" and scan.object_version == upload.version_id
    assert scan.engine == "local" and scan.notification == "SENT"
    local_time = datetime.fromisoformat(scan.captured_at).astimezone(ZoneInfo(enrolled.settings.timezone))
    assert scan.day == local_time.date().isoformat()

    [notification] = enrolled.notifications()
    assert notification["attributes"] == {
        "status": "AUTHORIZED",
        "camera_id": "front-door",
        "door_id": "front-door",  # the camera is a door of its own: that door's queue gets it
        "employee_id": "EMP001",
    }
    assert notification["subject"].startswith("Door unlocks: EMP001 Avery Stone at front-door (")
    assert notification["body"]["scan_id"] == scan.scan_id

    processed = enrolled.s3.get_object(Bucket=upload.bucket, Key=processed_key(scan.scan_id, scan.day))
    assert json.loads(processed["Body"].read())["status"] == "AUTHORIZED"
    assert enrolled.pending_events() == pending_before  # processed/ did not trigger the handler


def published_texts(topic_arn: str) -> list[tuple[str, str]]:
    """(subject, text for people) of every message local SNS took on ``topic_arn``."""
    import json

    topic = MotoState().sns.topics[topic_arn]
    return [(str(sent[2]), json.loads(sent[1])["default"]) for sent in topic.sent_notifications]


def test_the_alert_a_person_reads_says_what_the_door_did_when_on_the_sites_clock_and_where_the_photo_is(
    enrolled: Stack, camera: Camera, photos: Path
) -> None:
    upload, event = camera.put("incoming/front-door/stranger.png", (photos / "astronaut.png").read_bytes())
    camera.invoke(event)
    scan = camera.scan(upload)
    assert scan is not None and scan.status is Status.UNKNOWN
    [(subject, text)] = published_texts(enrolled.settings.topic_arn)
    assert subject == "Door stays locked: unknown person at front-door"
    lines = text.splitlines()
    assert lines[0] == subject and "Camera: front-door" in lines
    local = datetime.fromisoformat(scan.captured_at).astimezone(ZoneInfo(enrolled.settings.timezone))
    offset = f"{local:%z}"
    assert f"Captured: {local:%Y-%m-%d %H:%M:%S} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})" in lines
    assert local.tzname() in ("CST", "CDT")  # the sandbox's site is in Chicago
    bucket = enrolled.settings.camera_bucket
    assert f"Photo: s3://{bucket}/incoming/front-door/stranger.png (version {upload.version_id})" in lines


def test_a_duplicate_event_gives_one_record_and_one_notification(
    enrolled: Stack, camera: Camera, photos: Path
) -> None:
    _, event = camera.put("incoming/front-door/stranger.png", (photos / "astronaut.png").read_bytes())
    camera.invoke(event)
    camera.invoke(event)
    scans = enrolled.session.client("dynamodb").scan(TableName=enrolled.settings.scans_table)["Items"]
    assert len(scans) == 1
    assert [n["attributes"]["status"] for n in enrolled.notifications()] == ["UNKNOWN"]


def test_an_upload_gone_before_processing_is_an_error(stack: Stack, camera: Camera, photos: Path) -> None:
    upload, event = camera.put("incoming/front-door/gone.jpg", (photos / "obama2.jpg").read_bytes())
    assert upload.version_id is not None  # the camera bucket is versioned
    stack.s3.delete_object(Bucket=upload.bucket, Key=upload.key, VersionId=upload.version_id)
    camera.invoke(event)
    scan = camera.scan(upload)
    assert scan is not None and scan.status is Status.ERROR
    assert "could not read the upload" in (scan.decision.reason or "")


@pytest.mark.fresh_stack
def test_an_engine_failure_is_an_error(enrolled: Stack, camera: Camera, photos: Path) -> None:
    enrolled.session.client("dynamodb").delete_table(TableName=enrolled.settings.faces_table)
    upload, event = camera.put("incoming/front-door/avery.jpg", (photos / "obama2.jpg").read_bytes())
    camera.invoke(event)
    scan = camera.scan(upload)
    assert scan is not None and scan.status is Status.ERROR
    assert "face engine failed" in (scan.decision.reason or "")
    assert [n["attributes"]["status"] for n in enrolled.notifications()] == ["ERROR"]


@pytest.mark.fresh_stack
def test_when_the_scan_table_fails_security_is_alerted_and_lambda_retries(
    enrolled: Stack, camera: Camera, photos: Path
) -> None:
    enrolled.session.client("dynamodb").delete_table(TableName=enrolled.settings.scans_table)
    _, event = camera.put("incoming/front-door/avery.jpg", (photos / "obama2.jpg").read_bytes())
    with pytest.raises(ScanNotRecorded):
        camera.invoke(event)
    [alert] = enrolled.notifications()
    assert alert["attributes"]["status"] == "ERROR"
    assert "decided AUTHORIZED" in alert["body"]["reason"]


@pytest.mark.fresh_stack
def test_when_sns_fails_an_alert_is_retried_and_a_match_stays_shut(
    enrolled: Stack, camera: Camera, photos: Path
) -> None:
    enrolled.session.client("sns").delete_topic(TopicArn=enrolled.settings.topic_arn)
    no_face, event = camera.put("incoming/front-door/hall.png", (photos / "coffee.png").read_bytes())
    with pytest.raises(NotificationFailed):
        camera.invoke(event)
    recorded = camera.scan(no_face)
    assert recorded is not None and recorded.status is Status.NO_FACE and recorded.notification == "FAILED"

    match, event = camera.put("incoming/front-door/avery.jpg", (photos / "obama2.jpg").read_bytes())
    camera.invoke(event)  # no retry: a late AUTHORIZED must never open the door
    recorded = camera.scan(match)
    assert recorded is not None and recorded.notification == "FAILED"


def test_an_employee_no_rule_lets_through_is_denied_and_security_hears_of_it(
    enrolled: Stack, camera: Camera, photos: Path
) -> None:
    store = wiring.access_store(enrolled.settings)
    lobby = Door("front-door", "Front door", frozenset({"front-door-in"}))
    jordan_only = Rule(
        "jordan-front-door", Effect.GRANT, frozenset({"front-door"}), employees=frozenset({"EMP002"})
    )
    assert store.commit(store.version(), put=[lobby, jordan_only])

    upload, event = camera.put("incoming/front-door-in/avery.jpg", (photos / "obama2.jpg").read_bytes())
    camera.invoke(event)
    scan = camera.scan(upload)
    assert scan is not None and scan.status is Status.DENIED
    decision = scan.decision
    assert (decision.employee_id, decision.employee_name) == ("EMP001", "Avery Stone")
    assert (decision.door_id, decision.access_rule, decision.reason_code) == (
        "front-door",
        None,
        Reason.NO_ACCESS_RULE,
    )
    assert scan.notification == "SENT"
    [notice] = enrolled.notifications()
    assert notice["attributes"]["status"] == "DENIED"
    assert notice["subject"].startswith("Door stays locked: EMP001 Avery Stone denied at front-door-in")
    assert (notice["body"]["door_id"], notice["body"]["reason_code"]) == ("front-door", "NO_ACCESS_RULE")


def test_a_rule_change_applies_from_the_next_scan_of_the_same_container(
    enrolled: Stack, camera: Camera, photos: Path
) -> None:
    first, event = camera.put("incoming/front-door/avery-1.jpg", (photos / "obama2.jpg").read_bytes())
    camera.invoke(event)  # never configured: the built-in rule lets her in
    scan = camera.scan(first)
    assert scan is not None and (scan.status, scan.decision.access_rule) == (
        Status.AUTHORIZED,
        DEFAULT_RULE_ID,
    )

    store = wiring.access_store(enrolled.settings)
    deny = Rule("no-avery", Effect.DENY, frozenset({ANY}), employees=frozenset({"EMP001"}))
    front = Door("front-door", "Front door", frozenset({"front-door"}))  # a site policy: cameras on doors
    assert store.commit(store.version(), put=[DEFAULT_RULE, deny, front])
    second, event = camera.put("incoming/front-door/avery-2.jpg", (photos / "obama2.jpg").read_bytes())
    camera.invoke(event)
    scan = camera.scan(second)
    assert scan is not None
    assert (scan.status, scan.decision.reason_code, scan.decision.access_rule) == (
        Status.DENIED,
        Reason.DENY_RULE,
        "no-avery",
    )
