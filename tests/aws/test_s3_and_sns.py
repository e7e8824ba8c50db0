"""The S3 image store and the SNS notifier against local AWS (moto)."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from chalicelib import wiring
from chalicelib.aws.kms import KmsMessageSigner
from chalicelib.aws.s3 import S3ImageStore
from chalicelib.aws.sns import SnsNotifier
from chalicelib.core.errors import ObjectGone, ObjectUnreadable, UploadTooLarge
from chalicelib.core.models import Decision, Scan, Status, Upload
from sandbox.stack import Stack


def upload_of(stack: Stack, key: str, data: bytes) -> Upload:
    response = stack.s3.put_object(Bucket=stack.settings.camera_bucket, Key=key, Body=data)
    return Upload(stack.settings.camera_bucket, key, response.get("VersionId"), None, "")


def test_reads_the_exact_version_that_triggered_the_event(stack: Stack) -> None:
    store = S3ImageStore(wiring.client("s3"))
    first = upload_of(stack, "incoming/cam/a.jpg", b"first")
    upload_of(stack, "incoming/cam/a.jpg", b"second")
    assert store.read(first, max_bytes=100).data == b"first"
    unversioned_event = Upload(first.bucket, first.key, None, None, "")
    latest = store.read(unversioned_event, max_bytes=100)
    assert latest.data == b"second" and latest.version_id not in (None, first.version_id)


def test_refuses_to_read_past_the_limit(stack: Stack) -> None:
    store = S3ImageStore(wiring.client("s3"))
    upload = upload_of(stack, "incoming/cam/big.jpg", b"x" * 101)
    with pytest.raises(UploadTooLarge, match="101 bytes"):
        store.read(upload, max_bytes=100)


def test_writes_json_documents(stack: Stack) -> None:
    S3ImageStore(wiring.client("s3")).write_json(
        stack.settings.camera_bucket, "processed/x.json", {"name": "José"}
    )
    body = stack.s3.get_object(Bucket=stack.settings.camera_bucket, Key="processed/x.json")
    assert body["ContentType"] == "application/json"
    assert json.loads(body["Body"].read()) == {"name": "José"}


def test_publishes_text_json_and_filterable_attributes(stack: Stack) -> None:
    scan = Scan(
        "s1",
        "front-door",
        "incoming/front-door/a.jpg",
        "v1",
        "2026-03-08T14:29:59.500Z",
        "2026-03-08T14:30:00.000Z",
        "2026-03-08",
        Decision(Status.MULTIPLE_FACES, reason="2 usable faces in the photo", faces_in_frame=2),
        "local",
        0,
    )
    signer = KmsMessageSigner(wiring.client("kms"), stack.settings.signing_key)
    SnsNotifier(wiring.client("sns"), stack.settings.topic_arn, signer).publish(scan)
    [received] = stack.notifications()
    assert received["subject"] == "Door stays locked: several faces at front-door, possible tailgating"
    assert received["attributes"] == {
        "status": "MULTIPLE_FACES",
        "camera_id": "front-door",
        "door_id": "front-door",
        "employee_id": "none",
    }
    assert received["body"]["faces_in_frame"] == 2


def test_reads_the_objects_user_metadata_with_lowercase_names(stack: Stack) -> None:
    key = "enroll/EMP001/a.jpg"
    stack.s3.put_object(
        Bucket=stack.settings.camera_bucket, Key=key, Body=b"x", Metadata={"Name": "Avery Stone"}
    )
    upload = Upload(stack.settings.camera_bucket, key, None, None, "")
    read = S3ImageStore(wiring.client("s3")).read(upload, 10)
    assert read.metadata == {"name": "Avery Stone"}


def test_a_read_carries_when_s3_stored_the_object(stack: Stack) -> None:
    """The pipeline's 60 s rule judges LastModified beside the event's time."""
    from datetime import UTC, datetime, timedelta

    key = stack.upload("front-door", "fresh.jpg", b"jpeg")
    upload = Upload(stack.settings.camera_bucket, key, None, None, "")
    read = S3ImageStore(wiring.client("s3")).read(upload, 10)
    assert read.last_modified is not None and read.last_modified.tzinfo is not None
    assert abs(datetime.now(UTC) - read.last_modified) < timedelta(seconds=30)


def test_the_admin_notifier_publishes_plain_text_on_the_admin_topic(stack: Stack) -> None:
    from chalicelib.aws.sns import SnsAdminNotifier

    SnsAdminNotifier(wiring.client("sns"), stack.settings.admin_topic_arn).publish(
        "facegate: EMP001 enrolled", "A photo was enrolled.\n", {"event": "enrollment.enrolled"}
    )
    [notice] = stack.admin_notifications()
    assert notice == {
        "subject": "facegate: EMP001 enrolled",
        "message": "A photo was enrolled.\n",
        "attributes": {"event": "enrollment.enrolled"},
    }
    assert stack.notifications() == []  # the door-decision topic heard nothing


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDenied", 403),
        ("InvalidRequest", 400),  # SSE-C, read without its key
        ("InvalidObjectState", 403),  # archived (a camera may upload as GLACIER)
        ("KMS.DisabledException", 400),
        ("KeyTooLongError", 400),
        ("InvalidArgument", 400),
        ("SomethingS3SaysOneDay", 400),  # an answer for good we have never seen
    ],
)
def test_a_photo_that_may_not_be_read_is_unreadable_not_retried(code: str, status: int) -> None:
    store, stubber = stubbed_store()
    stubber.add_client_error("get_object", code, http_status_code=status)
    with stubber, pytest.raises(ObjectUnreadable, match=code):
        store.read(Upload("cams", "enroll/EMP001/a.jpg", "v1", None, ""), max_bytes=100)


@pytest.mark.parametrize("code", ["NoSuchKey", "NoSuchVersion", "404", ""])
def test_a_photo_that_is_not_there_is_gone_whatever_the_404_says(code: str) -> None:
    store, stubber = stubbed_store()
    stubber.add_client_error("get_object", code, http_status_code=404)
    with stubber, pytest.raises(ObjectGone):
        store.read(Upload("cams", "incoming/door/\x1b.jpg", "v1", None, ""), max_bytes=100)


def _botocore_passing_codes() -> list[str]:
    """botocore's own lists of throttling and transient codes (private, so read loosely)."""
    from botocore.retries import standard

    lists = (
        getattr(standard.ThrottledRetryableChecker, "_THROTTLED_ERROR_CODES", []),
        getattr(standard.TransientRetryableChecker, "_TRANSIENT_ERROR_CODES", []),
    )
    codes = sorted({str(code) for found in lists for code in found})
    assert "SlowDown" in codes  # botocore still keeps them where this looks
    return codes


@pytest.mark.parametrize("code", [*_botocore_passing_codes(), "RequestTimeTooSkewed", "ExpiredToken"])
def test_a_throttled_or_timed_out_4xx_read_is_raised_for_a_retry(code: str) -> None:
    from botocore.exceptions import ClientError

    store, stubber = stubbed_store()
    stubber.add_client_error("get_object", code, http_status_code=400)
    with stubber, pytest.raises(ClientError):
        store.read(Upload("cams", "incoming/door/a.jpg", "v1", None, ""), max_bytes=100)


@pytest.mark.parametrize(
    ("code", "status"), [("SlowDown", 503), ("InternalError", 500), ("", 429), ("", 408)]
)
def test_a_passing_read_failure_is_raised_for_a_retry(code: str, status: int) -> None:
    from botocore.exceptions import ClientError

    store, stubber = stubbed_store()
    stubber.add_client_error("get_object", code, http_status_code=status)
    with stubber, pytest.raises(ClientError):
        store.read(Upload("cams", "enroll/EMP001/a.jpg", "v1", None, ""), max_bytes=100)


def stubbed_store() -> tuple[S3ImageStore, Stubber]:
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )
    return S3ImageStore(s3), Stubber(s3)


def test_a_claim_creates_a_marker_once_and_again_only_after_it_is_given_back(stack: Stack) -> None:
    """S3's conditional write (If-None-Match: *) in the versioned camera bucket."""
    store, bucket = S3ImageStore(wiring.client("s3")), stack.settings.camera_bucket
    key = "alerts/unrecorded/0123456789abcdef0123456789abcdef"
    assert store.claim(bucket, key) is True
    assert store.claim(bucket, key) is False
    store.delete(bucket, key)  # every version
    assert store.claim(bucket, key) is True


def test_ensuring_a_copy_puts_it_only_where_none_is(stack: Stack) -> None:
    store, bucket = S3ImageStore(wiring.client("s3")), stack.settings.camera_bucket
    key = "processed/dt=2026-03-08/0123456789abcdef0123456789abcdef.json"
    assert store.ensure_json(bucket, key, {"status": "UNKNOWN"}) is True
    assert store.ensure_json(bucket, key, {"status": "other"}) is False
    versions = stack.s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 1
    body = stack.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert json.loads(body) == {"status": "UNKNOWN"}
