"""Records an analyst can query: real photos through the camera handler, the processed copies
read line by line from local S3, and the template's named query run on them by DuckDB."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.keys import PROCESSED_PREFIX, camera_key
from chalicelib.core.models import Employee, Scan, Status, Upload
from chalicelib.scanning.pipeline import scan_id_for
from sandbox.enroll import enroll_employee
from sandbox.moto_internals import MotoState
from sandbox.stack import PROJECT_DIR, Stack
from tests.records import named_query, scans_table

CHICAGO = ZoneInfo("America/Chicago")  # the sandbox stage's FACEGATE_TIMEZONE
COPY_KEY = re.compile(rf"{PROCESSED_PREFIX}dt=(\d{{4}}-\d{{2}}-\d{{2}})/([0-9a-f]{{32}})\.json")


@pytest.fixture
def client(stack: Stack) -> Iterator[Client]:
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as chalice_client:
        yield chalice_client


def taken(stack: Stack, client: Client, photos: Path, camera: str, photo: str, at: datetime) -> Scan:
    """A camera's photo taken at local time ``at``, handled as Lambda would hand it the event."""
    bucket, key = stack.settings.camera_bucket, camera_key(camera, f"{at:%Y%m%dT%H%M}-{photo}")
    data = (photos / photo).read_bytes()
    version = stack.s3.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"]
    # S3 stamped it then: a scan's time and day are S3's LastModified, never the event's
    [stored] = [v for v in MotoState().s3.buckets[bucket].keys.getlist(key) if v.version_id == version]
    stored.last_modified = at.astimezone(UTC).replace(tzinfo=None)
    event = client.events.generate_s3_event(bucket=bucket, key=key)
    record = event["Records"][0]
    record["eventTime"] = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record["s3"]["object"].update({"versionId": version, "size": len(data)})
    client.lambda_.invoke("on_camera_upload", event)
    scan = DynamoScanLog(wiring.table(stack.settings.scans_table)).get(
        scan_id_for(Upload(bucket, key, version, None, record["eventTime"]))
    )
    assert scan is not None
    return scan


def copies(stack: Stack, into: Path) -> dict[str, list[str]]:
    """Every processed copy in the bucket, downloaded under ``into`` by its key: its lines."""
    listing = stack.s3.list_objects_v2(Bucket=stack.settings.camera_bucket, Prefix=PROCESSED_PREFIX)
    lines = {}
    for entry in listing.get("Contents", []):
        body = stack.s3.get_object(Bucket=stack.settings.camera_bucket, Key=entry["Key"])["Body"].read()
        (into / entry["Key"]).parent.mkdir(parents=True, exist_ok=True)
        (into / entry["Key"]).write_bytes(body)
        lines[entry["Key"]] = body.decode().splitlines(keepends=True)
    return lines


def test_every_unknown_at_the_loading_dock_in_march_is_one_query(
    stack: Stack, client: Client, photos: Path, tmp_path: Path
) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])

    def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)

    in_march = [
        taken(stack, client, photos, "loading-dock", "astronaut.png", at(3, 2, 10)),
        # 04:30 UTC on 1 April, but the site's 31 March: partitions are the site's days
        taken(stack, client, photos, "loading-dock", "biden.jpg", at(3, 31, 23, 30)),
    ]
    others = [
        # 04:00 UTC on 1 March, but the site's 28 February
        taken(stack, client, photos, "loading-dock", "astronaut.png", at(2, 28, 22)),
        taken(stack, client, photos, "loading-dock", "biden.jpg", at(4, 1, 9)),  # April
        taken(stack, client, photos, "front-door", "astronaut.png", at(3, 10, 9)),  # another camera
        taken(stack, client, photos, "loading-dock", "obama2.jpg", at(3, 10, 9)),  # known (too late: ERROR)
        taken(stack, client, photos, "loading-dock", "group.jpg", at(3, 11, 9)),  # MULTIPLE_FACES
    ]
    assert [scan.status for scan in in_march] == [Status.UNKNOWN, Status.UNKNOWN]
    assert [scan.status for scan in others][:3] == [Status.UNKNOWN] * 3
    assert {scan.status for scan in others[3:]}.isdisjoint({Status.UNKNOWN})
    assert [scan.day for scan in in_march + others[:1]] == ["2026-03-02", "2026-03-31", "2026-02-28"]

    # Line by line: each copy is one JSON object on one line, filed under its scan's day.
    recorded = {scan.scan_id: scan for scan in in_march + others}
    lines = copies(stack, tmp_path)
    assert len(lines) == len(recorded)
    for key, [line] in lines.items():
        match = COPY_KEY.fullmatch(key)
        assert match is not None, key
        day, scan_id = match.groups()
        assert line.endswith("\n") and json.loads(line) == recorded[scan_id].to_dict()
        assert day == recorded[scan_id].day

    with duckdb.connect() as connection:
        scans_table(connection, tmp_path / PROCESSED_PREFIX)
        rows = connection.execute(named_query(), ["loading-dock", "2026-03-01", "2026-03-31"]).fetchall()
        columns = [column[0] for column in connection.description or []]
    found = [dict(zip(columns, row, strict=True)) for row in rows]
    assert [row["scan_id"] for row in found] == [scan.scan_id for scan in in_march]
    assert [row["captured_at"] for row in found] == ["2026-03-02T16:00:00.000Z", "2026-04-01T04:30:00.000Z"]
    assert {row["camera_id"] for row in found} == {"loading-dock"}
    assert {row["reason_code"] for row in found} == {"NO_MATCH"}
