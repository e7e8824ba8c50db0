"""The door's uploads against moto's S3: the bucket's key layout, the spool while S3 cannot be
reached (drained oldest first, marked spooled), and the clock measured from S3's ``Date``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from chalicelib.core.keys import camera_key, camera_of
from door.spool import Spool
from door.uploader import PhotoUploader, photo_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "facegate-test-cameras"
CAMERA = "front-door"
NAME = re.compile(r"[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-f]{16}\.jpg")


class AwsClock:
    """The time S3's ``Date`` header tells: the real clock unless a test pins it."""

    def __init__(self) -> None:
        self.now: Callable[[], float] = time.time


@pytest.fixture
def aws_clock() -> AwsClock:
    return AwsClock()


@pytest.fixture
def s3(aws_clock: AwsClock) -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client(  # AWS's own endpoint, whatever AWS_ENDPOINT_URL a suite's sandbox set
            "s3",
            region_name="us-east-1",
            endpoint_url="https://s3.us-east-1.amazonaws.com",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=BUCKET)

        # moto's responses carry no Date header (S3's always do): add it where botocore
        # hands the parsed response back, as S3 would have sent it.
        def dated(parsed: dict[str, Any], **_: Any) -> None:
            headers = parsed["ResponseMetadata"]["HTTPHeaders"]
            headers.setdefault("date", formatdate(aws_clock.now(), usegmt=True))

        client.meta.events.register("after-call.s3.PutObject", dated)
        yield client


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


def unreachable() -> S3Client:
    config = Config(connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1})
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=config,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def put_keys(client: S3Client) -> list[str]:
    """The keys of the client's PutObject calls, in the order made."""
    keys: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        keys.append(params["Key"])

    client.meta.events.register("provide-client-params.s3.PutObject", record)
    return keys


def test_a_photo_lands_under_its_cameras_prefix_as_a_jpeg(s3: S3Client, spool: Spool) -> None:
    taken = time.time()
    result = PhotoUploader(s3, BUCKET, CAMERA, spool).upload(b"\xff\xd8photo", taken)
    assert (result.uploaded, result.spooled, result.sent_from_spool, result.error) == (True, False, 0, "")
    prefix, name = result.key.rsplit("/", 1)
    assert prefix == f"incoming/{CAMERA}" and NAME.fullmatch(name)
    # The layout the cloud reads: the door agent writes it without importing chalicelib.
    assert result.key == camera_key(CAMERA, name) and camera_of(result.key).camera_id == CAMERA
    assert name.startswith(time.strftime("%Y%m%dT%H%M%S", time.gmtime(taken)))
    stored = s3.get_object(Bucket=BUCKET, Key=result.key)
    assert stored["ContentType"] == "image/jpeg"
    assert stored["Body"].read() == b"\xff\xd8photo"
    assert "spooled" not in stored["Metadata"]


def test_a_photo_name_is_utc_to_the_millisecond() -> None:
    assert photo_name(1_800_000_000.1239).startswith("20270115T080000.123Z-")


def test_photos_are_spooled_while_s3_is_unreachable_then_sent_oldest_first_after_the_new_one(
    s3: S3Client, spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    offline = PhotoUploader(unreachable(), BUCKET, CAMERA, spool)
    first = offline.upload(b"first", time.time() - 20)
    second = offline.upload(b"second", time.time() - 10)
    assert (first.uploaded, first.spooled, second.spooled) == (False, True, True)
    assert first.error == "EndpointConnectionError"
    assert "cloud unreachable (EndpointConnectionError): photo spooled, door stays locked" in caplog.text
    assert (offline.consecutive_failures, offline.spooled_count, offline.last_success) == (2, 2, None)

    sent = put_keys(s3)
    online = PhotoUploader(s3, BUCKET, CAMERA, spool)
    third = online.upload(b"third", time.time())
    assert (third.uploaded, third.sent_from_spool) == (True, 2)
    assert sent == [third.key, first.key, second.key]  # the person at the door first
    for result, body in [(first, b"first"), (second, b"second")]:
        stored = s3.get_object(Bucket=BUCKET, Key=result.key)
        assert stored["Body"].read() == body
        assert stored["Metadata"]["spooled"] == "1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stored["Metadata"]["taken-at"])
    assert "spooled" not in s3.head_object(Bucket=BUCKET, Key=third.key)["Metadata"]
    assert (online.spooled_count, online.consecutive_failures) == (0, 0)
    assert online.last_success is not None


def test_an_error_from_s3_spools_the_photo(s3: S3Client, spool: Spool) -> None:
    result = PhotoUploader(s3, "no-such-bucket-here", CAMERA, spool).upload(b"photo", time.time())
    assert (result.uploaded, result.spooled, result.error) == (False, True, "NoSuchBucket (HTTP 404)")
    assert spool.count == 1


def test_a_photo_the_spool_cannot_hold_is_reported_lost(tmp_path: Path) -> None:
    uploader = PhotoUploader(unreachable(), BUCKET, CAMERA, Spool(tmp_path, max_bytes=4))
    result = uploader.upload(b"too large", time.time())
    assert (result.uploaded, result.spooled) == (False, False)
    assert "not spooled: photo of 9 bytes is larger than the whole spool" in result.error


def test_a_clock_30_s_ahead_of_aws_raises_the_alarm(s3: S3Client, spool: Spool) -> None:
    uploader = PhotoUploader(s3, BUCKET, CAMERA, spool, clock=lambda: time.time() + 30)
    assert (uploader.skew_seconds, uploader.skew_alarm) == (None, False)
    uploader.upload(b"photo", time.time())
    assert uploader.skew_seconds == pytest.approx(30, abs=1.0)
    assert uploader.skew_alarm


def test_a_clock_0_4_s_off_raises_no_alarm(s3: S3Client, spool: Spool) -> None:
    uploader = PhotoUploader(s3, BUCKET, CAMERA, spool, clock=lambda: time.time() + 0.4)
    uploader.upload(b"photo", time.time())
    assert uploader.skew_seconds == pytest.approx(0.4, abs=1.0)
    assert not uploader.skew_alarm


@pytest.mark.parametrize(("offset", "alarm"), [(0.4, False), (-0.4, False), (1.2, True), (-2.0, True)])
def test_date_s_whole_seconds_are_not_mistaken_for_skew(
    s3: S3Client, spool: Spool, aws_clock: AwsClock, offset: float, alarm: bool
) -> None:
    # S3's clock at .9 of a second: Date says .0, the reading furthest from the truth.
    aws = 1_800_000_000.9
    aws_clock.now = lambda: aws
    uploader = PhotoUploader(s3, BUCKET, CAMERA, spool, clock=lambda: aws + offset, max_skew_seconds=0.5)
    uploader.upload(b"photo", aws)
    assert uploader.skew_seconds == pytest.approx(offset + 0.4)
    assert uploader.skew_alarm is alarm


def test_the_skew_is_the_median_of_the_last_uploads(s3: S3Client, spool: Spool) -> None:
    offset = [0.0]
    uploader = PhotoUploader(s3, BUCKET, CAMERA, spool, clock=lambda: time.time() + offset[0])
    for seconds in [0.0, 0.0, 30.0]:  # one odd reading
        offset[0] = seconds
        uploader.upload(b"photo", time.time())
    assert uploader.skew_seconds == pytest.approx(0, abs=1.0) and not uploader.skew_alarm
    for _ in range(3):
        uploader.upload(b"photo", time.time())
    assert uploader.skew_seconds == pytest.approx(30, abs=1.0) and uploader.skew_alarm


def test_a_camera_id_outside_the_layout_is_refused(s3: S3Client, spool: Spool) -> None:
    with pytest.raises(ValueError, match="not a camera id"):
        PhotoUploader(s3, BUCKET, "../other-door", spool)
