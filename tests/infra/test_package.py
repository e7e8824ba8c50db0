"""`chalice package --pkg-format terraform` works for every stage and ships a small zip."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib.core.keys import DOOR_EVENTS_PREFIX, ENROLL_PREFIX, INCOMING_PREFIX
from infra.deploy import package
from sandbox.stack import PROJECT_DIR
from tests.infra.test_template import FUNCTIONS


@pytest.mark.slow(reason="chalice package pip-installs the Lambda's requirements once")
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_stage_packages_for_terraform(stage: str, tmp_path: Path) -> None:
    zipped = package(stage, tmp_path / stage)
    names = zipfile.ZipFile(zipped).namelist()
    assert "app.py" in names and "chalicelib/scanning/pipeline.py" in names
    assert "chalicelib/reporting/templates/daily_report.html" in names
    assert not [
        name for name in names if name.startswith(("numpy/", "dlib", "_dlib", "sandbox/", "tests/", "infra/"))
    ]
    assert zipped.stat().st_size < 10_000_000  # no numpy: the Rekognition path stays small
    # Every module of ours ships its bytecode (Lambda cannot write it): hash-based and checked.
    tag = sys.implementation.cache_tag
    modules = {path.relative_to(PROJECT_DIR) for path in (PROJECT_DIR / "chalicelib").rglob("*.py")}
    pycs = {f"{module.parent}/__pycache__/{module.stem}.{tag}.pyc" for module in modules}
    assert pycs <= set(names)
    with zipfile.ZipFile(zipped) as archive:
        flags = {int.from_bytes(archive.read(pyc)[4:8], "little") for pyc in pycs}
    assert flags == {0b11}

    terraform = json.loads((tmp_path / stage / "chalice.tf.json").read_text())["resource"]
    functions = terraform["aws_lambda_function"]
    assert set(functions) == set(FUNCTIONS)
    # Every function's logs expire, in the group Lambda writes to (the API's is facegate-<stage>).
    log_groups = terraform["aws_cloudwatch_log_group"]
    named = {f"/aws/lambda/{functions[function]['function_name']}" for function in functions}
    retention = {group["name"]: group["retention_in_days"] for group in log_groups.values()}
    assert retention == dict.fromkeys(named, 30)
    worker = functions["erasure_worker"]
    assert (worker["timeout"], worker["reserved_concurrent_executions"]) == (900, 1)
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())["stages"][stage]
    for function, settings in config["lambda_functions"].items():
        policy = terraform["aws_iam_role_policy"][f"{function}_role"]["policy"]
        hand_written = json.loads((PROJECT_DIR / ".chalice" / settings["iam_policy_file"]).read_text())
        assert json.loads(policy) == hand_written
    # Chalice imports app.py with the stage's variables set: the trigger is the stage's bucket.
    bucket = config["environment_variables"]["FACEGATE_CAMERA_BUCKET"]
    assert set(terraform["aws_s3_bucket_notification"]) == {f"{bucket}_notify"}
    [notify] = terraform["aws_s3_bucket_notification"].values()
    triggers = {t["lambda_function_arn"].split(".")[1]: t["filter_prefix"] for t in notify["lambda_function"]}
    assert triggers == {
        "on_camera_upload": INCOMING_PREFIX,
        "on_enrollment_upload": ENROLL_PREFIX,
        "on_door_event": DOOR_EVENTS_PREFIX,
    }
    # Likewise the erasure worker's trigger is the stage's erasure queue, one message at a time.
    # And the gallery health worker's, the stage's health queue.
    mappings = {
        mapping["function_name"].split(".")[1]: mapping
        for mapping in terraform["aws_lambda_event_source_mapping"].values()
    }
    assert set(mappings) == {"erasure_worker", "gallery_health_worker"}
    for function, setting in (
        ("erasure_worker", "FACEGATE_ERASURE_QUEUE"),
        ("gallery_health_worker", "FACEGATE_HEALTH_QUEUE"),
    ):
        queue = config["environment_variables"][setting]
        mapping = mappings[function]
        assert mapping["event_source_arn"].endswith(f":{queue}") and mapping["batch_size"] == 1
