"""Settings from FACEGATE_* variables, and S3 event records into uploads."""

from __future__ import annotations

import pytest

from chalicelib.core.config import Policy, Settings
from chalicelib.core.errors import ConfigError
from chalicelib.scanning.events import uploads_from_s3_event
from infra.stage import stage_variables


def test_defaults_without_any_variable() -> None:
    settings = Settings.from_env({})
    assert settings.engine == "local"
    assert settings.policy.match_threshold == 80.0
    assert settings.policy.min_face_px == 80
    assert settings.limits.max_bytes == 15 * 1024 * 1024
    assert settings.limits.max_pixels == 40_000_000
    assert settings.scans_table == "facegate-dev-scans"


@pytest.mark.parametrize(("engine", "threshold"), [("local", 80.0), ("rekognition", 99.0)])
def test_each_engine_has_its_own_default_match_threshold(engine: str, threshold: float) -> None:
    settings = Settings.from_env({"FACEGATE_ENGINE": engine})
    assert settings.policy.match_threshold == threshold
    assert settings.policy == Policy.for_engine(engine)
    assert settings.policy.match_margin == 5.0  # the margin is shared


@pytest.mark.parametrize("engine", ["local", "rekognition"])
def test_the_match_threshold_variable_overrides_either_engine_default(engine: str) -> None:
    settings = Settings.from_env({"FACEGATE_ENGINE": engine, "FACEGATE_MATCH_THRESHOLD": "95"})
    assert settings.policy.match_threshold == 95.0


@pytest.mark.parametrize(("stage", "threshold"), [("dev", 80.0), ("sandbox", 80.0), ("prod", 99.0)])
def test_each_stage_matches_at_its_engines_threshold(stage: str, threshold: float) -> None:
    settings = Settings.from_env(stage_variables(stage))
    assert settings.policy.match_threshold == threshold


def test_the_sandbox_on_rekognition_gets_rekognitions_threshold() -> None:
    # No stage-wide value may pin the local engine's threshold onto a Rekognition run.
    settings = Settings.from_env({**stage_variables("sandbox"), "FACEGATE_ENGINE": "rekognition"})
    assert settings.policy.match_threshold == 99.0


def test_every_threshold_is_a_setting() -> None:
    settings = Settings.from_env(
        {
            "FACEGATE_STAGE": "prod",
            "FACEGATE_MATCH_THRESHOLD": "92.5",
            "FACEGATE_MATCH_MARGIN": "3",
            "FACEGATE_MIN_FACE_PX": "120",
            "FACEGATE_MIN_SHARPNESS": "35",
            "FACEGATE_MAX_UPLOAD_BYTES": "1000",
            "FACEGATE_MAX_PIXELS": "2000",
            "FACEGATE_TIMEZONE": "America/Chicago",
        }
    )
    policy = settings.policy
    assert (policy.match_threshold, policy.match_margin, policy.min_face_px, policy.min_sharpness) == (
        92.5,
        3.0,
        120,
        35.0,
    )
    assert (settings.limits.max_bytes, settings.limits.max_pixels) == (1000, 2000)
    assert settings.scans_table == "facegate-prod-scans"
    assert settings.timezone == "America/Chicago"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FACEGATE_MATCH_THRESHOLD", "high"),
        ("FACEGATE_MATCH_THRESHOLD", "101"),
        ("FACEGATE_MIN_FACE_PX", "0"),
        ("FACEGATE_MIN_FACE_PX", "8.5"),
        ("FACEGATE_ENGINE", "magic"),
    ],
)
def test_malformed_settings_fail_loudly_with_the_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def s3_record(key: str, **object_fields: object) -> dict[str, object]:
    return {
        "eventName": "ObjectCreated:Put",
        "eventTime": "2026-03-08T08:30:00.000Z",
        "s3": {"bucket": {"name": "cams"}, "object": {"key": key, **object_fields}},
    }


def test_keys_arrive_url_encoded_with_spaces_and_non_ascii() -> None:
    event = {"Records": [s3_record("incoming/front+door/Jos%C3%A9+%C3%B1+%E6%9D%B1.jpg", size=12)]}
    [upload] = uploads_from_s3_event(event)
    assert upload.key == "incoming/front door/José ñ 東.jpg"
    assert upload.size == 12


def test_version_and_sequencer_are_kept_for_idempotency() -> None:
    event = {"Records": [s3_record("incoming/a/b.jpg", versionId="v1", sequencer="00AB")]}
    [upload] = uploads_from_s3_event(event)
    assert (upload.version_id, upload.sequencer, upload.event_time) == (
        "v1",
        "00AB",
        "2026-03-08T08:30:00.000Z",
    )


def test_records_other_than_object_created_are_ignored() -> None:
    removed = {**s3_record("incoming/a/b.jpg"), "eventName": "ObjectRemoved:Delete"}
    assert uploads_from_s3_event({"Records": [removed]}) == []
    assert uploads_from_s3_event({"Event": "s3:TestEvent"}) == []


def test_the_uploader_is_the_events_principal() -> None:
    record = {**s3_record("enroll/EMP001/a.jpg"), "userIdentity": {"principalId": "AWS:AIDAHR"}}
    [upload] = uploads_from_s3_event({"Records": [record]})
    assert upload.uploader == "AWS:AIDAHR"
    [anonymous] = uploads_from_s3_event({"Records": [s3_record("enroll/EMP001/a.jpg")]})
    assert anonymous.uploader is None


BAD_ID = "employee id must be 1–64 characters of A–Z, a–z, 0–9, _ . : - (not only dots)"


@pytest.mark.parametrize(
    ("key", "employee_id", "problem"),
    [
        ("enroll/EMP001/a.jpg", "EMP001", None),
        ("enroll/a.b:c_d-e/photo one.JPG", "a.b:c_d-e", None),
        ("enroll/" + "E" * 64 + "/a.jpg", "E" * 64, None),
        ("enroll/" + "E" * 65 + "/a.jpg", None, BAD_ID),
        ("enroll/EMP 1/a.jpg", None, BAD_ID),
        ("enroll/../a.jpg", None, BAD_ID),
        ("enroll/./a.jpg", None, BAD_ID),
        ("enroll/...../a.jpg", None, BAD_ID),
        ("enroll/.a./a.jpg", ".a.", None),
        ("enroll/daily-report/a.jpg", None, "employee id daily-report is reserved"),
        ("enroll/EMP001/", None, "key is not enroll/<employee-id>/<file>"),
        ("enroll/EMP001", None, "key is not enroll/<employee-id>/<file>"),
        ("enroll//a.jpg", None, "key is not enroll/<employee-id>/<file>"),
        ("enroll/EMP001/sub/a.jpg", None, "key is not enroll/<employee-id>/<file>"),
        ("enroll/", None, "key is not enroll/<employee-id>/<file>"),
        ("incoming/EMP001/a.jpg", None, "key is not enroll/<employee-id>/<file>"),
    ],
)
def test_drop_folder_keys_name_one_valid_employee(
    key: str, employee_id: str | None, problem: str | None
) -> None:
    from chalicelib.core.keys import enrollment_of

    parsed = enrollment_of(key)
    assert (parsed.employee_id, parsed.problem) == (employee_id, problem)


def test_drop_folder_keys_arrive_url_encoded_too() -> None:
    from chalicelib.core.keys import enrollment_of

    [upload] = uploads_from_s3_event({"Records": [s3_record("enroll/EMP%3A1/Jos%C3%A9+1.jpg")]})
    assert enrollment_of(upload.key).employee_id == "EMP:1" and upload.key.endswith("José 1.jpg")


def test_the_api_and_the_drop_folder_share_one_employee_id_rule() -> None:
    from chalicelib.api import validation
    from chalicelib.core import keys

    assert validation.EMPLOYEE_ID is keys.EMPLOYEE_ID and validation.RESERVED_IDS is keys.RESERVED_IDS
