"""What ``facegate_cli.dead_letters`` replays, refuses or calls malformed, read offline: the
function's ARN matched whole (partition, region and account the stage's own), object-created
events for keys S3 could hold, and records the function could parse at all (the camera
function's ``chalicelib.scanning.events`` leaves out the same ones instead of failing every retry)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import botocore
import pytest

from chalicelib.scanning.events import uploads_from_s3_event
from facegate_cli.dead_letters import PARTITION_REGIONS, DeadLetter, partition_of, read_letter
from facegate_cli.stages import AwsTarget, account_in
from infra.warm_start import ALIAS

OURS = "arn:aws:lambda:us-east-1:123456789012:function:facegate-prod-on_camera_upload"
STAGE = AwsTarget("prod", "us-east-1", "cams", account="123456789012")


def letter(
    arn: str = OURS, target: AwsTarget = STAGE, *, raw_body: str | None = None, **record_fields: Any
) -> DeadLetter:
    now = time.time()
    obj = {"key": "incoming/front-door/x.jpg", "size": 10}
    obj.update(record_fields.pop("object", {}))
    record = {
        "eventName": "ObjectCreated:Put",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 5)),
        "s3": {"bucket": {"name": "cams"}, "object": obj},
        **record_fields,
    }
    body = {"requestContext": {"functionArn": arn}, "requestPayload": {"Records": [record]}}
    return read_letter(
        {
            "MessageId": "m",
            "ReceiptHandle": "r",
            "Body": raw_body if raw_body is not None else json.dumps(body),
            "Attributes": {"SentTimestamp": str(int(now * 1000))},
        },
        target,
    )


def test_a_record_of_the_stages_own_function_is_replayed() -> None:
    assert letter().function == "facegate-prod-on_camera_upload"
    assert letter(OURS + ":$LATEST").function == "facegate-prod-on_camera_upload"
    # a stage with SnapStart or provisioned concurrency calls the camera function through its alias
    assert letter(f"{OURS}:{ALIAS}").function == "facegate-prod-on_camera_upload"


@pytest.mark.parametrize(
    ("arn", "why"),
    [
        (OURS.replace("123456789012", "999999999999"), "a function in account 999999999999"),
        (OURS.replace("arn:aws:", "arn:aws-evil:"), "partition aws-evil"),
        (OURS.replace("arn:aws:", "arn:aws-cn:"), "partition aws-cn"),
        (OURS + "\n", "not one of this stage's"),  # `$` would have matched before the newline
        (OURS + ":7", "not one of this stage's"),
        (OURS + ":LIVE", "not one of this stage's"),
        (OURS + ":live\n", "not one of this stage's"),
        (OURS + ":live:$LATEST", "not one of this stage's"),
        (OURS.replace("123456789012", "١٢٣٤٥٦٧٨٩٠١٢"), "not one of this stage's"),  # Unicode digits
        (OURS.replace("us-east-1", "ap-south-1"), "a function in ap-south-1"),
    ],
    ids=[
        "other-account",
        "made-up-partition",
        "other-partition",
        "newline",
        "qualifier",
        "other-alias",
        "alias-newline",
        "two-qualifiers",
        "digits",
        "region",
    ],
)
def test_a_function_that_is_not_the_stages_own_is_refused(arn: str, why: str) -> None:
    refused = letter(arn)
    assert refused.function is None and refused.problem is not None
    assert refused.problem.startswith("refused: ") and why in refused.problem


@pytest.mark.parametrize(
    ("target", "why"),
    [
        (AwsTarget("prod", None, "cams", account="123456789012"), "region is unknown"),
        (AwsTarget("prod", "us-east-1", "cams"), "account is unknown"),
        (AwsTarget("prod", "us-east-1", None, account="123456789012"), "bucket is unknown"),
    ],
)
def test_a_check_that_cannot_be_made_refuses_instead_of_being_skipped(target: AwsTarget, why: str) -> None:
    refused = letter(target=target)
    assert refused.function is None and refused.problem is not None and why in refused.problem


def test_a_stage_in_another_partition_replays_its_own_functions_only() -> None:
    china = AwsTarget("prod", "cn-north-1", "cams", account="123456789012")
    arn = OURS.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1", "cn-north-1")
    assert letter(arn, china).function == "facegate-prod-on_camera_upload"
    assert "partition aws" in str(letter(arn.replace("arn:aws-cn:", "arn:aws:"), china).problem)


def test_the_partitions_are_the_ones_botocore_knows() -> None:
    known = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    partitions = {partition["id"]: partition for partition in known["partitions"]}
    assert set(partitions) == {"aws", *PARTITION_REGIONS}
    for partition_id, partition in partitions.items():
        for region in partition["regions"]:  # not the pseudo-regions (aws-global, aws-cn-global)
            if re.match(partition["regionRegex"], region):
                assert partition_of(region) == partition_id, region


@pytest.mark.parametrize("name", ["ObjectRemoved:Delete", "ObjectRestore:Completed", None, 7])
def test_an_event_other_than_object_created_is_refused_and_kept(name: object) -> None:
    fields = {"eventName": name} if name is not None else {"eventName": None}
    refused = letter(**fields)
    assert refused.function is None and str(refused.problem).startswith("refused: ")
    assert "not ObjectCreated" in str(refused.problem)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("incoming/front-door/" + "x" * 1010, "longer than S3's 1024 bytes"),
        ("incoming/front-door/" + "é" * 503, "longer than S3's 1024 bytes"),  # 1,006 bytes in UTF-8
        ("incoming/front-door/%1B%5B2J.jpg", "control characters"),
        ("incoming/front-door/a%00.jpg", "control characters"),
        ("incoming/front-door/a%C2%85.jpg", "control characters"),  # C1: NEL
    ],
    ids=["long-ascii", "long-utf8", "escape", "nul", "c1"],
)
def test_a_key_no_camera_could_have_written_is_refused(key: str, why: str) -> None:
    refused = letter(object={"key": key})
    assert refused.function is None and str(refused.problem).startswith("refused: ")
    assert why in str(refused.problem)


def test_a_key_of_exactly_1024_bytes_is_replayed() -> None:
    key = "incoming/front-door/" + "x" * (1024 - len("incoming/front-door/"))
    assert letter(object={"key": key}).function is not None


UNPARSABLE = {
    "size-word": ({"size": "big"}, "size"),
    "size-dict": ({"size": {"a": 1}}, "size"),
    "size-negative": ({"size": -1}, "size"),
    "size-bool": ({"size": True}, "size"),
    "size-float": ({"size": 1.5}, "size"),
    "lone-surrogate": ({"key": "incoming/front-door/\ud800.jpg"}, "not URL-encoded UTF-8"),
    "invalid-utf8": ({"key": "incoming/front-door/%FF.jpg"}, "not URL-encoded UTF-8"),
    "encoded-surrogate": ({"key": "incoming/front-door/%ED%A0%80.jpg"}, "not URL-encoded UTF-8"),
}


@pytest.mark.parametrize(("fields", "why"), UNPARSABLE.values(), ids=UNPARSABLE.keys())
def test_a_record_the_function_could_not_parse_is_malformed_and_the_function_leaves_it_out(
    fields: dict[str, object], why: str
) -> None:
    malformed = letter(object=fields)
    assert malformed.function is None and str(malformed.problem).startswith("malformed: ")
    assert why in str(malformed.problem)

    # The same record reaching the camera function (a replay before this check, or S3 itself)
    # is left out, not a crash that Lambda retries and dead-letters again.
    record = {
        "eventName": "ObjectCreated:Put",
        "eventTime": "2026-03-08T08:30:00.000Z",
        "s3": {"bucket": {"name": "cams"}, "object": {"key": "incoming/front-door/x.jpg", **fields}},
    }
    assert uploads_from_s3_event({"Records": [record]}) == []


def test_a_record_without_a_size_is_replayed_as_s3_sent_it() -> None:
    assert letter(object={"size": None}).function is not None


@pytest.mark.parametrize(
    ("url", "account"),
    [
        ("https://sqs.us-east-1.amazonaws.com/123456789012/facegate-prod-failed-scans", "123456789012"),
        ("http://127.0.0.1:5000/123456789012/facegate-sandbox-failed-scans", "123456789012"),
        ("https://sqs.us-east-1.amazonaws.com/facegate-prod-failed-scans", None),
        ("https://sqs.us-east-1.amazonaws.com/12345/facegate-prod-failed-scans", None),
        ("https://sqs.us-east-1.amazonaws.com/١٢٣٤٥٦٧٨٩٠١٢/q", None),
    ],
)
def test_the_stages_account_is_the_one_its_queue_url_names(url: str, account: str | None) -> None:
    assert account_in(url) == account
