"""One key layout: the trigger, the lifecycle rules, the IAM policies and the code all use
the prefixes of ``chalicelib/core/keys.py``, so none can drift apart from the pipeline."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.keys import (
    ALERTS_PREFIX,
    DOOR_EVENTS_PREFIX,
    ENROLL_PREFIX,
    GALLERY_PREFIX,
    INCOMING_PREFIX,
    PENDING_DAYS,
    PENDING_PREFIX,
    PROCESSED_PREFIX,
)
from sandbox.stack import PROJECT_DIR
from tests.infra.test_template import resource

LAYOUT = (
    INCOMING_PREFIX,
    PROCESSED_PREFIX,
    ENROLL_PREFIX,
    GALLERY_PREFIX,
    DOOR_EVENTS_PREFIX,
    PENDING_PREFIX,
    ALERTS_PREFIX,
)
POLICIES = sorted((PROJECT_DIR / ".chalice").glob("policy-*.json"))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def object_paths(policy: dict[str, Any]) -> list[str]:
    """The key part of every S3 object ARN and every ``s3:prefix`` condition in a policy."""
    paths = []
    for statement in policy["Statement"]:
        for text in _strings(statement.get("Resource", [])):
            bucket_and_key = text.removeprefix("arn:aws:s3:::")
            if bucket_and_key != text and "/" in bucket_and_key:
                paths.append(bucket_and_key.split("/", 1)[1])
        for condition in statement.get("Condition", {}).values():
            paths.extend(_strings(condition.get("s3:prefix", [])))
    return paths


def outside_layout(paths: list[str]) -> list[str]:
    return [path for path in paths if not path.startswith(LAYOUT)]


@pytest.mark.parametrize("policy_file", POLICIES, ids=lambda path: path.name)
def test_every_object_a_policy_names_is_under_the_layout(policy_file: Path) -> None:
    assert outside_layout(object_paths(json.loads(policy_file.read_text()))) == []


def test_the_camera_function_reads_photos_and_writes_copies_where_the_pipeline_does() -> None:
    for stage in ("dev", "prod"):
        paths = object_paths(json.loads((PROJECT_DIR / f".chalice/policy-{stage}-camera.json").read_text()))
        assert f"{INCOMING_PREFIX}*" in paths
        assert f"{PROCESSED_PREFIX}*" in paths


def test_the_enrollment_function_reads_and_deletes_only_the_drop_folder() -> None:
    for stage in ("dev", "prod"):
        paths = object_paths(json.loads((PROJECT_DIR / f".chalice/policy-{stage}-enroll.json").read_text()))
        snapshot = {f"{GALLERY_PREFIX}*"} if stage == "dev" else set()  # the local engine's, read only
        held = {f"{PENDING_PREFIX}*"}  # photos it holds for an admin's approval (put only)
        assert paths and set(paths) == {f"{ENROLL_PREFIX}*"} | snapshot | held


def test_held_photos_expire_after_pending_days() -> None:
    rules = resource("CameraBucket")["LifecycleConfiguration"]["Rules"]
    [rule] = [rule for rule in rules if rule.get("Prefix") == PENDING_PREFIX]
    assert (
        rule["ExpirationInDays"] == PENDING_DAYS
        and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    )


def test_the_hr_policy_names_only_the_drop_folder() -> None:
    [statement] = resource("HrEnrollmentPolicy")["PolicyDocument"]["Statement"]
    assert statement["Resource"] == f"${{CameraBucket.Arn}}/{ENROLL_PREFIX}*"


def test_a_policy_naming_another_prefix_is_caught() -> None:
    policy = {"Statement": [{"Resource": "arn:aws:s3:::bucket/uploads/*"}]}
    assert outside_layout(object_paths(policy)) == ["uploads/*"]


def test_the_lifecycle_rules_expire_exactly_the_layout() -> None:
    rules = resource("CameraBucket")["LifecycleConfiguration"]["Rules"]
    assert sorted(rule["Prefix"] for rule in rules if "Prefix" in rule) == sorted(LAYOUT)


def test_the_s3_triggers_watch_the_incoming_enroll_and_door_events_prefixes() -> None:
    import app

    triggers = [source for source in app.app.event_sources if hasattr(source, "prefix")]
    assert {trigger.name: trigger.prefix for trigger in triggers} == {
        "on_camera_upload": INCOMING_PREFIX,
        "on_enrollment_upload": ENROLL_PREFIX,
        "on_door_event": DOOR_EVENTS_PREFIX,
    }


def layout_literals(path: Path) -> list[str]:
    """String constants in ``path`` that spell out a prefix instead of importing it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(LAYOUT):
            found.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno}: {node.value!r}")
    return found


# The door agent never imports chalicelib (a separate deployable): its one copy of the camera
# prefixes (door/keys.py) are pinned to keys.py by contract tests in tests/door.
DOOR_AGENT_COPY = PROJECT_DIR / "door" / "keys.py"


def test_no_code_outside_keys_spells_the_prefixes() -> None:
    sources = [PROJECT_DIR / "app.py"] + [
        path
        for folder in ("chalicelib", "sandbox", "infra", "bench", "door")
        for path in sorted((PROJECT_DIR / folder).rglob("*.py"))
        if path not in (PROJECT_DIR / "chalicelib" / "core" / "keys.py", DOOR_AGENT_COPY)
    ]
    assert [literal for path in sources for literal in layout_literals(path)] == []


def _gallery_actions(policy: dict[str, Any]) -> set[str]:
    return {
        action
        for statement in policy["Statement"]
        if any(path.startswith(GALLERY_PREFIX) for path in object_paths({"Statement": [statement]}))
        for action in _strings(statement["Action"])
    }


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_only_the_snapshot_function_and_erasure_write_the_gallery_and_the_report_never_reads_it(
    stage: str,
) -> None:
    # The snapshot holds every embedding: whoever may write it chooses who the door knows.
    read = {"s3:GetObject", "s3:GetObjectVersion"}
    write = {"s3:PutObject", "s3:DeleteObjectVersion", "s3:ListBucketVersions"}
    expected = {
        "camera": read,
        "api": read,
        "enroll": read,
        "erasure": write,
        "gallery": write,
        "report": set(),
    }
    for function, actions in expected.items():
        policy = json.loads((PROJECT_DIR / f".chalice/policy-{stage}-{function}.json").read_text())
        assert _gallery_actions(policy) == (actions if stage == "dev" else set()), function
