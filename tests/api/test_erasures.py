"""The erasure job over HTTP when something stays broken: FAILED, dead-lettered, resumable."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib import wiring
from tests.api.conftest import Api


def test_a_job_that_keeps_failing_is_failed_dead_lettered_and_resumed_by_a_new_delete(
    api: Api, photos: Path
) -> None:
    stack = api.stack
    api.create("EMP001", "Avery Stone")
    api.enroll("EMP001", photos / "obama.jpg")
    faces = stack.session.client("dynamodb")
    table = faces.describe_table(TableName=stack.settings.faces_table)["Table"]
    job_id = api.call("DELETE", "/employees/EMP001").json["job_id"]
    faces.delete_table(TableName=stack.settings.faces_table)  # the faces step cannot succeed

    handled = stack.run_erasures(timeout=180)  # five receives, one second apart: slow under load
    assert len(handled) == stack.settings.erasure_max_receives
    assert all(event.error and "ResourceNotFoundException" in event.error for event in handled)
    failed = api.call("GET", f"/erasures/{job_id}").json
    assert (failed["status"], failed["step"], failed["attempts"]) == ("FAILED", "faces", 5)
    assert "ResourceNotFoundException" in failed["error"]
    dead = stack.sqs.get_queue_url(QueueName=f"facegate-{stack.settings.stage}-failed-erasures")["QueueUrl"]
    [message] = stack.sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"]) == {"job_id": job_id}

    faces.create_table(  # repaired (empty: the lost embeddings are gone with the table)
        TableName=table["TableName"],
        KeySchema=table["KeySchema"],
        AttributeDefinitions=table["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    wiring.reset()
    again = api.call("DELETE", "/employees/EMP001")
    assert (again.status, again.json["job_id"], again.json["status"]) == (202, job_id, "QUEUED")
    assert all(event.error is None for event in stack.run_erasures())
    done = api.call("GET", f"/erasures/{job_id}").json
    assert (done["status"], done["error"]) == ("DONE", None)
    assert api.call("DELETE", "/employees/EMP001").status == 404
