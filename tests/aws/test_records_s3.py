"""A processed copy in S3 is one line of JSON, whatever its strings hold, and a line reader
(DuckDB's, as Athena's) reads it as exactly one record."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from chalicelib import wiring
from chalicelib.aws.s3 import S3ImageStore
from chalicelib.core.keys import PROCESSED_PREFIX, processed_key
from chalicelib.core.models import Decision, Scan, Status
from sandbox.stack import Stack
from tests.records import scans_table

# Every way a string can end a line: control characters, and the Unicode line breaks that
# ``str.splitlines`` (and readers like it) split on.
BREAKS = "\n\r\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def test_a_copy_with_line_breaks_in_its_strings_is_one_line_and_one_record(
    stack: Stack, tmp_path: Path
) -> None:
    hostile = f'incoming/front-door/a{BREAKS}"{{}}\\b José 東京.jpg'
    scan = Scan(
        "0123456789abcdef0123456789abcdef",
        "front-door",
        hostile,
        "v1",
        "2026-03-08T14:29:59.500Z",
        "2026-03-08T14:30:00.000Z",
        "2026-03-08",
        Decision(Status.UNKNOWN, reason=f"no match{BREAKS}", employee_name=f"Avery{BREAKS}Stone"),
        "local",
        expires_at=1_775_000_000,
    )
    bucket, key = stack.settings.camera_bucket, processed_key(scan.scan_id, scan.day)
    S3ImageStore(wiring.client("s3")).write_json(bucket, key, scan.to_dict())

    stored = stack.s3.get_object(Bucket=bucket, Key=key)
    assert stored["ContentType"] == "application/json"  # one object: a JSON document too
    body = stored["Body"].read()
    [line] = body.decode().splitlines(keepends=True)
    assert line.endswith("}\n") and json.loads(line) == scan.to_dict()

    (tmp_path / key).parent.mkdir(parents=True)
    (tmp_path / key).write_bytes(body)
    with duckdb.connect() as connection:
        scans_table(connection, tmp_path / PROCESSED_PREFIX)
        rows = connection.execute("SELECT object_key, employee_name, dt FROM scans").fetchall()
    assert rows == [(hostile, f"Avery{BREAKS}Stone", "2026-03-08")]


def test_a_lone_surrogate_in_a_name_is_escaped_not_a_lost_copy(stack: Stack) -> None:
    """A name can hold one (the directory stores what the API took); UTF-8 cannot carry it."""
    name = "Avery \ud800 Stone"
    document: dict[str, object] = {"scan_id": "s1", "decision": {"employee_name": name}, "note": "José"}
    bucket = stack.settings.camera_bucket
    S3ImageStore(wiring.client("s3")).write_json(bucket, "processed/dt=2026-03-08/s1.json", document)
    body = stack.s3.get_object(Bucket=bucket, Key="processed/dt=2026-03-08/s1.json")["Body"].read()
    [line] = body.decode("ascii").splitlines()
    assert json.loads(line) == document
