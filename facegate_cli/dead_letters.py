"""Lambda's destination records on the failed-scans queue, read as untrusted input.

``read_letter`` parses one SQS message and says what a replay would invoke, or why it must
not: a record is replayed only into one of *this* stage's S3-triggered functions (by our name
for it, never the record's ARN), in the stage's partition, region and account, for the
stage's bucket, an object-created event only, for a key S3 could hold, and a camera event only
with a readable event time that is not after SQS received the record (plausibility only: the
camera function judges access and the 60 s rule at the photo's ``LastModified`` and its own
clock, never the event's time, so a forged time opens nothing either way). A record the
function could not even parse (a size that is no byte count, a key that is not URL-encoded
UTF-8) is malformed. Nothing here calls AWS.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from facegate_cli.stages import AwsTarget

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

FUNCTIONS = ("on_camera_upload", "on_enrollment_upload", "on_door_event")  # S3-triggered (infra/deploy.py)
# The prefixes of chalicelib.core.keys (the CLI imports nothing of the Lambda code).
FUNCTION_PREFIXES = {
    "on_camera_upload": "incoming/",
    "on_enrollment_upload": "enroll/",
    "on_door_event": "door-events/",
}
# The queue keeps messages 14 days and Lambda keeps retrying an event at most 6 hours: an
# event older than that when its record was sent was not dead-lettered by Lambda.
MAX_DEAD_LETTER_AGE_S = 15 * 24 * 3600
# AWS's partitions but the first by the start of their regions' names (botocore's
# data/partitions.json; tests/cli/test_dead_letters.py holds the table to it).
PARTITION_REGIONS = {
    "aws-cn": "cn-",
    "aws-us-gov": "us-gov-",
    "aws-iso": "us-iso-",
    "aws-iso-b": "us-isob-",
    "aws-iso-e": "eu-isoe-",
    "aws-iso-f": "us-isof-",
    "aws-eusc": "eusc-",
}
FUNCTION_ARN = re.compile(  # matched whole (fullmatch): no trailing newline, no suffix
    r"arn:(?P<partition>aws(?:-[a-z]+)*):lambda:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12})"
    r":function:(?P<name>[A-Za-z0-9_-]{1,64})(?::(?:\$LATEST|live))?",  # live: infra/warm_start.ALIAS
    re.ASCII,
)
MAX_KEY_BYTES = 1024  # S3's limit on a key, in UTF-8
SHOWN_CHARS = 160


def partition_of(region: str) -> str:
    """The partition whose ARNs name ``region``."""
    for partition, start in PARTITION_REGIONS.items():
        if region.startswith(start):
            return partition
    return "aws"


@dataclass(frozen=True)
class DeadLetter:
    """One message of the queue as read: what it would replay, or why it is not replayed."""

    message_id: str
    receipt_handle: str
    function: str | None  # the stage's function to invoke; None when refused or malformed
    event: dict[str, Any] | None
    row: dict[str, str]  # the table's cells (printable, bounded)
    problem: str | None = None  # "malformed: …" or "refused: …"


def read_letter(message: MessageTypeDef, target: AwsTarget) -> DeadLetter:
    """Parse and check one message; never raises for what the body holds."""
    message_id, receipt = message.get("MessageId", "?"), message.get("ReceiptHandle", "")
    row = {"message_id": message_id, "function": "-", "key": "-", "error": "-", "failed_at": "-"}
    try:
        record = json.loads(message.get("Body", ""))
    except (ValueError, RecursionError):
        return DeadLetter(message_id, receipt, None, None, row, "malformed: the body is not JSON")
    if not isinstance(record, dict):
        return DeadLetter(message_id, receipt, None, None, row, "malformed: not a destination record")
    context, event, response = (
        record.get(part) for part in ("requestContext", "requestPayload", "responsePayload")
    )
    arn = context.get("functionArn") if isinstance(context, dict) else None
    s3 = _s3_of(event)
    if not isinstance(arn, str) or s3 is None or not isinstance(event, dict):
        return DeadLetter(message_id, receipt, None, None, row, "malformed: no function ARN or S3 event")
    unparsable = _unparsable(event)
    if unparsable is not None:
        return DeadLetter(message_id, receipt, None, None, row, f"malformed: {unparsable}")
    error = response if isinstance(response, dict) else {}
    row |= {
        "key": printable(unquote_plus(str(s3["object"]["key"]))),
        "error": printable(
            ": ".join(str(error[part]) for part in ("errorType", "errorMessage") if part in error)
        ),
        "failed_at": printable(str(record.get("timestamp", "-"))),
        "function": printable(arn.rsplit(":function:", 1)[-1]),
    }
    try:
        function = _our_function(arn, event, message, target)
    except _Refused as refusal:
        return DeadLetter(message_id, receipt, None, None, row, f"refused: {refusal}")
    return DeadLetter(message_id, receipt, function, event, {**row, "function": function})


def decoded_key(raw: str) -> str | None:
    """An S3 event's key as the function reads it (``unquote_plus``), or None when it is not
    URL-encoded UTF-8 (chalicelib.scanning.events.decoded_key says the same)."""
    try:
        key = unquote_plus(raw, errors="strict")
        key.encode("utf-8")  # a lone surrogate from a JSON escape
    except UnicodeError:
        return None
    return key


def _unparsable(event: dict[str, Any]) -> str | None:
    """Why the function could not read a record of the event, if it could not."""
    for record in event["Records"]:
        obj = record["s3"]["object"]  # _s3_of checked every record's shape
        size = obj.get("size")
        if size is not None and (type(size) is not int or size < 0):
            return "the object's size is not a byte count"
        if decoded_key(obj["key"]) is None:
            return "the key is not URL-encoded UTF-8"
    return None


class _Refused(Exception):
    """Why a well-formed record is not replayed."""


def _our_function(arn: str, event: dict[str, Any], message: MessageTypeDef, target: AwsTarget) -> str:
    """The stage's function the record names (our name for it, not the record's ARN)."""
    ours = {f"facegate-{target.stage}-{function}" for function in FUNCTIONS}
    match = FUNCTION_ARN.fullmatch(arn)
    if match is None or match["name"] not in ours:
        raise _Refused("not one of this stage's S3-triggered functions")
    # Fail closed: a check that cannot be made refuses, it is never skipped.
    if not target.region:
        raise _Refused("the stage's region is unknown (set FACEGATE_REGION)")
    if match["region"] != target.region:
        raise _Refused(f"a function in {printable(match['region'])}, the stage is in {target.region}")
    if match["partition"] != partition_of(target.region):
        raise _Refused(f"a function in partition {printable(match['partition'])}, not the stage's")
    if not target.account:
        raise _Refused("the stage's account is unknown (its queue's URL names none)")
    if match["account"] != target.account:
        raise _Refused(f"a function in account {match['account']}, not the stage's")
    if not target.bucket:  # fail closed: a record could name any bucket the function may read
        raise _Refused("the stage's camera bucket is unknown (set FACEGATE_CAMERA_BUCKET)")
    prefix = FUNCTION_PREFIXES[match["name"].removeprefix(f"facegate-{target.stage}-")]
    for record in event["Records"]:
        _check_record(record, target.bucket, prefix)
    if match["name"].endswith("on_camera_upload"):
        _check_camera_time(event, message)
    return str(match["name"])


def _check_record(record: dict[str, Any], bucket: str, prefix: str) -> None:
    """One S3 record: an object created in the stage's bucket, under a key S3 could hold that
    the function reads (``_unparsable`` checked that it decodes)."""
    name = record.get("eventName")
    if not isinstance(name, str) or not name.startswith("ObjectCreated:"):
        raise _Refused(f"a {printable(str(name))} event, not ObjectCreated (the function ignores it)")
    named = str(record["s3"]["bucket"]["name"])  # _s3_of checked every record's shape
    if named != bucket:
        raise _Refused(f"names bucket {printable(named)}, not the stage's")
    key = str(decoded_key(record["s3"]["object"]["key"]))
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise _Refused(f"names a key longer than S3's {MAX_KEY_BYTES} bytes")
    if any(unicodedata.category(char) == "Cc" for char in key):
        raise _Refused(f"names key {printable(key)}, with control characters no camera writes")
    if not key.startswith(prefix):
        raise _Refused(f"names key {printable(key)}, outside {prefix} that this function reads")


def _check_camera_time(event: dict[str, Any], message: MessageTypeDef) -> None:
    """A camera event's time must be one, and not after SQS received the record (Lambda sends
    it minutes after the event): a record failing that was written by hand, so it is kept.
    No decision reads the time (the pipeline judges at ``LastModified``)."""
    sent_ms = (message.get("Attributes") or {}).get("SentTimestamp")
    for record in event["Records"]:
        try:
            taken = datetime.fromisoformat(str(record.get("eventTime")).replace("Z", "+00:00"))
            taken = taken if taken.tzinfo else taken.replace(tzinfo=UTC)
        except ValueError:
            raise _Refused("the event has no readable eventTime") from None
        if sent_ms is None:
            raise _Refused("SQS gives no time the record was sent")
        waited = int(sent_ms) / 1000 - taken.timestamp()
        if waited < -1:
            raise _Refused("its eventTime is after the record was sent (forged?)")
        if waited > MAX_DEAD_LETTER_AGE_S:
            raise _Refused("its eventTime is older than any dead letter can be (forged?)")


def _s3_of(event: Any) -> dict[str, Any] | None:
    """The first record's ``s3`` part, when every record is an S3 record with a bucket and key."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        return None
    parts = [record.get("s3") if isinstance(record, dict) else None for record in records]
    for s3 in parts:
        bucket = s3.get("bucket") if isinstance(s3, dict) else None
        obj = s3.get("object") if isinstance(s3, dict) else None
        if not (isinstance(bucket, dict) and isinstance(obj, dict) and isinstance(bucket.get("name"), str)):
            return None
        if not isinstance(obj.get("key"), str):
            return None
    return parts[0]


def printable(text: str) -> str:
    """A record's text as a terminal may show it: no control characters (escapes), bounded."""
    cleaned = "".join(char if char.isprintable() else "?" for char in text)
    return cleaned if len(cleaned) <= SHOWN_CHARS else cleaned[: SHOWN_CHARS - 1] + "…"
