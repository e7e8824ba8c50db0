"""The Rekognition engine end to end: the sandbox and the handler talk to the named endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib import wiring
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.models import Status, Upload
from chalicelib.scanning.pipeline import scan_id_for
from sandbox.rekognition import RekognitionEndpoint
from sandbox.stack import PROJECT_DIR, LocalAws, Stack, patched_environ, stage_environment
from tests.e2e.cli import assert_demo_import, assert_demo_outcomes, run_sandbox


@pytest.fixture
def endpoint() -> Iterator[RekognitionEndpoint]:
    with RekognitionEndpoint() as served:
        yield served


def test_the_sandbox_uses_the_rekognition_endpoint_it_is_given(
    endpoint: RekognitionEndpoint, photos: Path, tmp_path: Path
) -> None:
    (tmp_path / "gallery" / "EMP001").mkdir(parents=True)
    shutil.copy(photos / "obama.jpg", tmp_path / "gallery" / "EMP001")
    (tmp_path / "probes").mkdir()
    for name in ["obama2.jpg", "coffee.png"]:
        shutil.copy(photos / name, tmp_path / "probes")
    result = run_sandbox(
        "evaluate",
        "--gallery",
        str(tmp_path / "gallery"),
        "--probes",
        str(tmp_path / "probes"),
        "--json",
        env={"FACEGATE_ENGINE": "rekognition", "AWS_ENDPOINT_URL_REKOGNITION": endpoint.url},
    )
    assert result.returncode == 0, result.stderr
    rows = {row["probe"]: row for row in map(json.loads, result.stdout.splitlines())}
    row = rows["obama2.jpg"]
    assert (row["status"], row["employee_id"]) == ("AUTHORIZED", "EMP001")
    assert row["similarity"] > 99  # the bundled model's distance on the endpoint's scale
    assert rows["coffee.png"]["status"] != "AUTHORIZED"
    assert set(endpoint.service.collections) == {"facegate-sandbox-faces"}
    assert endpoint.calls == [
        "CreateCollection",
        "IndexFaces",
        "SearchUsers",  # the duplicate-face guard, by the new face's id
        "SearchFaces",  # and against faces not associated yet (enrollments in flight)
        "CreateUser",
        "AssociateFaces",
        "SearchUsersByImage",
        "SearchUsersByImage",
    ]


@pytest.mark.slow(
    reason="the whole demo (staff, consent, scans, door agents, retention, report) on Rekognition"
)
def test_the_rekognition_demo_runs_offline_on_its_own_endpoint(tmp_path: Path) -> None:
    # No AWS_ENDPOINT_URL_REKOGNITION: the sandbox starts the local endpoint itself, and the
    # unmodified engine reaches the local engine's six decisions at Rekognition's threshold.
    result = run_sandbox("demo", "--out", str(tmp_path), env={"FACEGATE_ENGINE": "rekognition"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "engine: rekognition" in lines[0]
    assert_demo_outcomes(lines)
    assert_demo_import(lines)
    # Counted by the endpoint, not by our client: one SearchUsersByImage per scanned photo.
    assert "Rekognition calls per scan: 1, counted by the local endpoint (SearchUsersByImage × 5\n" in (
        result.stdout
    )
    assert "door unlocks for EMP001 at front-door" in result.stdout


COLD_SCAN = textwrap.dedent(
    """
    import json, sys
    import app
    event = json.loads(sys.argv[1])
    app.on_camera_upload(event, None)
    heavy = ["numpy", "dlib", "chalicelib.engines.local", "chalicelib.aws.faces",
             "chalicelib.reporting.reports", "jinja2"]
    print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
    """
)


def test_a_rekognition_scan_imports_neither_numpy_nor_dlib_nor_the_local_engine(
    local_aws: LocalAws, endpoint: RekognitionEndpoint, photos: Path
) -> None:
    local_aws.reset()
    env = {
        **stage_environment("sandbox", {"FACEGATE_ENGINE": "rekognition"}),
        "AWS_ENDPOINT_URL_REKOGNITION": endpoint.url,
    }
    with patched_environ(env):
        wiring.reset()
        stack = Stack(local_aws)
        bucket = stack.settings.camera_bucket
        key = "incoming/front-door/someone.jpg"
        version = stack.s3.put_object(Bucket=bucket, Key=key, Body=(photos / "obama2.jpg").read_bytes())[
            "VersionId"
        ]
        now = datetime.now(UTC).isoformat()
        record = {
            "eventName": "ObjectCreated:Put",
            "eventTime": now,
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "versionId": version}},
        }
        result = subprocess.run(
            [sys.executable, "-c", COLD_SCAN, json.dumps({"Records": [record]})],
            cwd=PROJECT_DIR,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.splitlines()[-1]) == []
        scan = DynamoScanLog(wiring.table(stack.settings.scans_table)).get(
            scan_id_for(Upload(bucket, key, version, None, now))
        )
        wiring.reset()
    assert scan is not None and scan.engine == "rekognition"
    assert scan.status is Status.UNKNOWN  # nobody enrolled in the endpoint's collection
    assert endpoint.calls == ["CreateCollection", "SearchUsersByImage"]
