"""Retention and privacy: records expire, erasure leaves no biometric trace, logs stay clean."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.access.documents import rule_from
from sandbox.stack import PROJECT_DIR, Stack
from tests.images import side_by_side


def everything_stored(stack: Stack) -> tuple[str, list[bytes]]:
    """Every item of every table (as text) and every version of every object in the bucket."""
    dynamodb = stack.session.client("dynamodb")
    items: list[Any] = []
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items += page["Items"]
    bucket = stack.settings.camera_bucket
    objects = []
    for listing in stack.s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in listing.get("Versions", []):
            body = stack.s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])[
                "Body"
            ]
            objects.append(body.read())
    return json.dumps(items, default=str), objects


def call(client: Client, token: str, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = getattr(client.http, method.lower())(
        path, headers=headers, body=json.dumps(body or {}).encode()
    )
    assert response.status_code < 300, response.body
    if (method, path) == ("POST", "/employees"):  # their consent, as a site records it first
        call(client, token, "PUT", f"/employees/{body['employee_id']}/consent", CONSENT)
    return json.loads(response.body) if response.body else None


CONSENT = {"method": "paper", "reference": "F-0042"}  # holds no name: it outlives the erasure


def tables_as_text(stack: Stack) -> dict[str, str]:
    dynamodb = stack.session.client("dynamodb")
    return {
        table: json.dumps([item for page in dynamodb.get_paginator("scan").paginate(TableName=table)
                           for item in page["Items"]], default=str)
        for table in dynamodb.list_tables()["TableNames"]
    }  # fmt: skip


def test_erasure_leaves_no_photo_embedding_or_name_in_any_store(stack: Stack, photos: Path) -> None:
    token = stack.token("admins")
    enrolment_photo = (photos / "obama.jpg").read_bytes()
    door_photo = (photos / "obama2.jpg").read_bytes()
    group_photo = side_by_side(photos / "obama3.jpg", photos / "biden.jpg")  # them, never linked
    stranger_photo = (photos / "biden.jpg").read_bytes()
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        call(client, token, "POST", "/employees", {"employee_id": "EMP042", "name": "Quinn Zebedee"})
        call(
            client,
            token,
            "POST",
            "/employees/EMP042/faces",
            {"image": base64.b64encode(enrolment_photo).decode()},
        )
        stack.upload("front-door", "door.jpg", door_photo)
        stack.upload("front-door", "group.jpg", group_photo)
        stack.upload("side-door", "stranger.jpg", stranger_photo)
        stack.pump(expected=3)
        scans = call(client, token, "GET", "/scans")["items"]
        by_status = {scan["status"]: scan for scan in scans}
        assert set(by_status) == {"AUTHORIZED", "MULTIPLE_FACES", "UNKNOWN"}
        text, objects = everything_stored(stack)
        assert "Quinn Zebedee" in text and door_photo in objects  # there was something to erase
        assert '"embedding"' in text and group_photo in objects
        # In an access group, on a temporary pass of their own and on a shared rule.
        assert wiring.pipeline_ports(stack.settings).directory.set_membership("EMP042", "staff", True)
        own_pass = rule_from("quinn-pass", {"effect": "GRANT", "doors": ["*"], "employees": ["EMP042"]})
        shared = rule_from("night", {"effect": "GRANT", "doors": ["*"], "employees": ["EMP042", "EMP007"]})
        assert wiring.access_store(stack.settings).commit("", put=[own_pass, shared])
        assert "EMP042" in tables_as_text(stack)[stack.settings.access_table]

        job = call(client, token, "DELETE", "/employees/EMP042")
        assert job["status"] == "QUEUED"
        assert all(event.error is None for event in stack.run_erasures())
        done = call(client, token, "GET", f"/erasures/{job['job_id']}")

    assert done["status"] == "DONE"
    assert done["result"] == {
        "faces_removed": 1,
        "unlinked_photos_found": 1,
        "scans_anonymised": 1,
        "scans_purged": 1,
        "in_flight_purged": 0,
        "photos_deleted": 2,
    }
    for scan in by_status.values():  # counts only: the ids would say where they were seen
        assert scan["scan_id"] not in str(done)
    text, objects = everything_stored(stack)
    assert "Quinn Zebedee" not in text
    assert '"embedding"' not in text  # the only embeddings were theirs
    for gone in (door_photo, group_photo, enrolment_photo):
        assert gone not in objects
    assert stranger_photo in objects  # a stranger's photo that does not show them stays
    assert not [body for body in objects if b"EMP042" in body]  # no processed copy names them
    stranger = by_status["UNKNOWN"]["scan_id"]
    assert [body for body in objects if stranger.encode() in body]  # nor was its copy touched
    naming = [table for table, items in tables_as_text(stack).items() if "EMP042" in items]
    assert naming == [stack.settings.audit_table]  # ids only: who erased whom, and the job
    rules = wiring.access_store(stack.settings).load().rules  # their pass gone, the shared one kept
    assert [(rule.rule_id, sorted(rule.employees)) for rule in rules] == [("night", ["EMP007"])]
    scans = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    assert sorted(item["status"]["S"] for item in scans) == ["AUTHORIZED", "UNKNOWN"]
    assert [item.get("employee_id") for item in scans] == [None, None]
    door = next(item for item in scans if item["status"]["S"] == "AUTHORIZED")
    assert door["erased"] == {"BOOL": True}


def embedding_traces(embedding: bytes) -> list[str]:
    """How an embedding would show in text: base64 of its bytes, or its first floats printed
    (six decimals, truncated: a prefix of Python's repr, numpy's print and JSON alike)."""
    import numpy as np

    floats = np.frombuffer(embedding, dtype="<f4")[:4]
    printed = [f"{abs(float(value)):.9f}"[:8] for value in floats]
    return [base64.b64encode(embedding[:32]).decode()[:40], *printed]


def test_the_embedding_lives_only_in_the_faces_table_and_no_photo_there(
    stack: Stack, photos: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    token = stack.token("admins")
    enrolment_photo = (photos / "obama.jpg").read_bytes()
    caplog.set_level(logging.WARNING, logger="botocore")  # the levels configure_logging sets in Lambda
    caplog.set_level(logging.DEBUG)  # ours at every level
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        call(client, token, "POST", "/employees", {"employee_id": "EMP042", "name": "Quinn Zebedee"})
        body = {"image": base64.b64encode(enrolment_photo).decode()}
        call(client, token, "POST", "/employees/EMP042/faces", body)
        stack.upload("front-door", "door.jpg", (photos / "obama2.jpg").read_bytes())
        stack.pump(expected=1)
        assert call(client, token, "GET", "/scans")["items"][0]["status"] == "AUTHORIZED"
    dynamodb = stack.session.client("dynamodb")
    faces = dynamodb.scan(TableName=stack.settings.faces_table)["Items"]
    [embedding] = [item["embedding"]["B"] for item in faces if "embedding" in item]
    assert len(embedding) == 128 * 4
    for item in faces:  # ids, a timestamp, the vector: no room for a photo or a face chip
        assert len(json.dumps(item, default=str)) < 4000, sorted(item)
        assert enrolment_photo[:2000] not in json.dumps(item, default=str).encode()

    tables = tables_as_text(stack)
    others = {name: text for name, text in tables.items() if name != stack.settings.faces_table}
    _, objects = everything_stored(stack)
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    printed = capsys.readouterr()
    texts = {
        **others,
        "objects": "\n".join(body.decode("utf-8", "replace") for body in objects),
        "notifications": json.dumps(stack.notifications(), default=str),
        "logs": logged + printed.out + printed.err,
    }
    assert not [body for body in objects if embedding in body or embedding[:64] in body]
    traces = embedding_traces(embedding)
    leaks = {name: trace for name, text in texts.items() for trace in traces if trace in text}
    assert leaks == {}


def test_scan_records_expire_after_the_retention_period(stack: Stack, photos: Path) -> None:
    stack.upload("front-door", "hall.png", (photos / "coffee.png").read_bytes())
    stack.pump(expected=1)
    dynamodb = stack.session.client("dynamodb")
    ttl = dynamodb.describe_time_to_live(TableName=stack.settings.scans_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    [item] = dynamodb.scan(TableName=stack.settings.scans_table)["Items"]
    captured = datetime.fromisoformat(item["captured_at"]["S"].replace("Z", "+00:00"))
    expires = datetime.fromtimestamp(int(item["expires_at"]["N"]), captured.tzinfo)
    assert abs(expires - captured - timedelta(days=stack.settings.retention_days)) < timedelta(seconds=1)


def test_logs_hold_no_tokens_photos_or_embeddings_and_metrics_are_emf(
    stack: Stack, photos: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    token = stack.token("admins")
    photo = base64.b64encode((photos / "obama.jpg").read_bytes()).decode()
    caplog.set_level(logging.WARNING, logger="botocore")  # the levels configure_logging sets in Lambda
    caplog.set_level(logging.INFO)  # (last: it also sets the capturing handler's level)
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        call(client, token, "POST", "/employees", {"employee_id": "EMP042", "name": "Quinn Zebedee"})
        call(client, token, "POST", "/employees/EMP042/faces", {"image": photo})
        client.http.get("/employees", headers={"Authorization": f"Bearer {token}x"})  # a bad token, logged?
        stack.upload("front-door", "door.jpg", (photos / "obama2.jpg").read_bytes())
        stack.upload("front-door", "bad.jpg", b"\xff\xd8" + photo[:5000].encode())
        stack.pump(expected=2)
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    printed = capsys.readouterr()
    everything = logged + printed.out + printed.err
    assert token not in everything and token[:40] not in everything
    assert photo[:200] not in everything
    assert not any(len(line) > 5000 for line in everything.splitlines())  # no dumped bytes or vectors

    metrics = [json.loads(r.getMessage()) for r in caplog.records if r.name == "facegate.metrics"]
    assert sorted(metric["Status"] for metric in metrics) == ["AUTHORIZED", "REJECTED"]
    directive = metrics[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "facegate"
    assert ["Stage", "Status"] in directive["Dimensions"]
    assert {m["Name"] for m in directive["Metrics"]} == {"Scans", "ScanDuration"}
    assert all(metric["Scans"] == 1 and metric["ScanDuration"] > 0 for metric in metrics)


def test_the_log_scrubber_removes_what_must_never_be_written() -> None:
    from chalicelib.core.observability import scrub

    jwt = "eyJraWQiOiJkdW1teSJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    assert scrub(f"Authorization: Bearer {jwt}") == "Authorization: [redacted]"
    assert jwt not in scrub(f"token {jwt} rejected")
    assert scrub("image " + "QUJD" * 100) == "image [redacted]"
    assert scrub("scan 0123 recorded") == "scan 0123 recorded"


def test_in_lambda_logs_are_json_lines_and_metrics_raw_emf() -> None:
    import io

    from chalicelib.core.observability import METRICS, configure_logging, emit_scan_metrics

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, list(METRICS.handlers), METRICS.propagate)
    root.handlers = []
    try:
        configure_logging(logging.INFO, stream)
        logging.getLogger("chalicelib.scanning.pipeline").info("scan recorded", extra={"scan_id": "abc"})
        emit_scan_metrics("prod", "UNKNOWN", "front-door", 12.5)
    finally:
        root.handlers, root.level, METRICS.handlers, METRICS.propagate = (
            saved[0],
            saved[1],
            saved[2],
            saved[3],
        )
    log_line, metric_line = stream.getvalue().splitlines()
    entry = json.loads(log_line)
    assert (entry["level"], entry["logger"], entry["message"], entry["scan_id"]) == (
        "INFO", "chalicelib.scanning.pipeline", "scan recorded", "abc",
    )  # fmt: skip
    metric = json.loads(metric_line)
    assert metric["Status"] == "UNKNOWN" and metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "facegate"
