"""``facegate dlq replay``: run the S3 events that failed every attempt through their function again.

Lambda sends an S3 event that failed its two retries to the stage's failed-scans queue as a
destination record (``requestContext.functionArn``, ``requestPayload`` = the event,
``responsePayload`` = the error). This command reads that queue with the admin's own AWS
credentials (boto3's chain: it does not go through the API) and invokes the function
synchronously with the event; a message is deleted only when that invocation succeeded.
Replaying is idempotent: the pipeline records one scan per object version and only the writer
of the record publishes, so an event recorded meanwhile changes nothing.

Whoever can write to the queue chooses what a replay invokes, so a record is replayed only
into one of *this* stage's S3-triggered functions (invoked by our name for it, never the
record's ARN), for the stage's bucket, and a camera event only with an event time that is
not after the message was sent (the 60 s rule judges that time: a forged later one could
open a door). Anything else is kept in the queue and reported.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from facegate.commands.common import command
from facegate.context import Context
from facegate.errors import CliError
from facegate.stages import AwsTarget, aws_target

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

FUNCTIONS = ("on_camera_upload", "on_enrollment_upload")  # the S3-triggered ones (infra/deploy.py)
FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64})"
    r"(?::\$LATEST)?$"
)
REPLAY_VISIBILITY = 300  # s: a 60 s function, retried by the SDK; kept messages are released at the end
LIST_VISIBILITY = 30  # s: a dry run hides what it read only until it releases it (or for this long)
COLUMNS = ["message_id", "function", "key", "error", "failed_at", "outcome"]
SHOWN_CHARS = 160


@dataclass(frozen=True)
class DeadLetter:
    """One message of the queue as read: what it would replay, or why it is not replayed."""

    message_id: str
    receipt_handle: str
    function: str | None  # the stage's function to invoke; None when refused or malformed
    event: dict[str, Any] | None
    row: dict[str, str]  # the table's cells (printable, bounded)
    problem: str | None = None  # "malformed: …" or "refused: …"


def register(subcommands: Any) -> None:
    dlq = subcommands.add_parser("dlq", help="the events that failed every attempt").add_subparsers(
        dest="action", required=True
    )
    replay = command(dlq, "replay", "invoke each failed S3 event's function again; delete it once it ran")
    replay.add_argument("--dry-run", action="store_true", help="list what would be replayed; invoke nothing")
    replay.add_argument("--limit", type=_positive, help="at most N messages (default: all)")
    replay.set_defaults(run=replay_dead_letters)


def replay_dead_letters(args: argparse.Namespace, context: Context) -> int:
    """Exit 0 when every message was replayed (or would be); 1 when any is kept or SQS failed."""
    from botocore.exceptions import BotoCoreError, ClientError

    target = aws_target(context.stage_name)
    sqs, lambda_client = _clients(target)
    queue = _queue_url(sqs, target)
    visibility = LIST_VISIBILITY if args.dry_run else REPLAY_VISIBILITY
    kept: list[str] = []  # receipt handles to make visible again when done
    rows: list[dict[str, str]] = []
    trouble: list[str] = []
    try:
        for message in _receive(sqs, queue, visibility, args.limit, batch=10 if args.dry_run else 1):
            letter = read_letter(message, target)
            outcome = letter.problem or ("would replay" if args.dry_run else None)
            if outcome is None:
                outcome = _replay(letter, lambda_client, sqs, queue)
            if args.dry_run or outcome != "replayed":
                kept.append(letter.receipt_handle)
            rows.append({**letter.row, "outcome": outcome})
    except (BotoCoreError, ClientError) as error:  # the queue itself failed: report what was done
        trouble.append(f"stopped reading {_queue_name(target)}: {printable(str(error))}")
    try:
        _release(sqs, queue, kept)
    except (BotoCoreError, ClientError) as error:
        trouble.append(
            f"{len(kept)} kept messages reappear only after {visibility} s: {printable(str(error))}"
        )
    code = _report(context, rows, target, args.dry_run) if rows or not trouble else 1
    for line in trouble:
        print(f"facegate: {line}", file=sys.stderr)
    return 1 if trouble else code


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


class _Refused(Exception):
    """Why a well-formed record is not replayed."""


def _our_function(arn: str, event: dict[str, Any], message: MessageTypeDef, target: AwsTarget) -> str:
    """The stage's function the record names (our name for it, not the record's ARN)."""
    ours = {f"facegate-{target.stage}-{function}" for function in FUNCTIONS}
    match = FUNCTION_ARN.match(arn)
    if match is None or match["name"] not in ours:
        raise _Refused("not one of this stage's S3-triggered functions")
    if target.region and match["region"] != target.region:
        raise _Refused(f"a function in {printable(match['region'])}, the stage is in {target.region}")
    for record in event["Records"]:
        bucket = str(record["s3"]["bucket"]["name"])  # _s3_of checked every record's shape
        if target.bucket and bucket != target.bucket:
            raise _Refused(f"names bucket {printable(bucket)}, not the stage's")
    if match["name"].endswith("on_camera_upload"):
        _check_camera_time(event, message)
    return str(match["name"])


def _check_camera_time(event: dict[str, Any], message: MessageTypeDef) -> None:
    """A camera event's time is when the photo was taken for the 60 s rule: it must be one,
    and not after SQS received the record (Lambda sends it minutes after the event)."""
    sent_ms = (message.get("Attributes") or {}).get("SentTimestamp")
    for record in event["Records"]:
        try:
            taken = datetime.fromisoformat(str(record.get("eventTime")).replace("Z", "+00:00"))
            taken = taken if taken.tzinfo else taken.replace(tzinfo=UTC)
        except ValueError:
            raise _Refused("the event has no readable eventTime") from None
        if sent_ms is None or taken.timestamp() * 1000 > int(sent_ms) + 1000:
            raise _Refused("its eventTime is after the record was sent (forged?)")


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


def _replay(letter: DeadLetter, lambda_client: LambdaClient, sqs: SQSClient, queue: str) -> str:
    """Invoke, then delete on success; the outcome as the table shows it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = lambda_client.invoke(
            FunctionName=str(letter.function),
            InvocationType="RequestResponse",
            Payload=json.dumps(letter.event).encode(),
        )
        body = answer["Payload"].read()
    except (BotoCoreError, ClientError) as error:
        return f"failed: {printable(str(error))}"
    if answer.get("FunctionError"):
        return f"failed: {printable(_function_error(body))}"
    try:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=letter.receipt_handle)
    except (BotoCoreError, ClientError) as error:
        return f"failed: replayed, but not deleted ({printable(str(error))}); a new replay changes nothing"
    return "replayed"


def _function_error(body: bytes) -> str:
    try:
        failure = json.loads(body)
        return f"{failure.get('errorType', 'Error')}: {failure.get('errorMessage', '')}"
    except (ValueError, AttributeError, RecursionError):
        return "the function failed (its answer is not JSON)"


def _receive(
    sqs: SQSClient, queue: str, visibility: int, limit: int | None, batch: int
) -> Iterator[MessageTypeDef]:
    """Each message once (by MessageId), until the queue answers nothing new or ``limit`` is reached."""
    seen: set[str] = set()
    while limit is None or len(seen) < limit:
        wanted = batch if limit is None else min(batch, limit - len(seen))
        messages = sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=1,  # a long poll asks every server: a short one may miss messages
            MessageSystemAttributeNames=["SentTimestamp"],
        ).get("Messages", [])
        fresh = [message for message in messages if message.get("MessageId") not in seen]
        if not fresh:  # empty, or only messages seen already (their visibility ran out)
            return
        for message in fresh:
            seen.add(message.get("MessageId", ""))
            yield message


def _release(sqs: SQSClient, queue: str, receipts: list[str]) -> None:
    """Make the messages kept visible again now, not when their visibility timeout ends."""
    for start in range(0, len(receipts), 10):
        entries = [
            {"Id": str(number), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
            for number, receipt in enumerate(receipts[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=queue, Entries=entries)  # type: ignore[arg-type]


def _report(context: Context, rows: list[dict[str, str]], target: AwsTarget, dry_run: bool) -> int:
    done = "would replay" if dry_run else "replayed"
    counts = {
        done: sum(row["outcome"] == done for row in rows),
        "refused": sum(row["outcome"].startswith("refused") for row in rows),
        "malformed": sum(row["outcome"].startswith("malformed") for row in rows),
        "failed": sum(row["outcome"].startswith("failed") for row in rows),
    }
    if context.json:
        context.show({"queue": _queue_name(target), "dry_run": dry_run, "messages": rows, "summary": counts})
    elif rows:
        context.show(rows, COLUMNS)
        kept = ", ".join(f"{count} {what}" for what, count in counts.items() if what != done and count)
        note = " (nothing invoked or deleted)" if dry_run else ""
        print(f"\n{done} {counts[done]}{f', kept {kept}' if kept else ''}{note}")
    else:
        print(f"{_queue_name(target)} is empty")
    return 0 if counts[done] == len(rows) else 1


def printable(text: str) -> str:
    """A record's text as a terminal may show it: no control characters (escapes), bounded."""
    cleaned = "".join(char if char.isprintable() else "?" for char in text)
    return cleaned if len(cleaned) <= SHOWN_CHARS else cleaned[: SHOWN_CHARS - 1] + "…"


def _queue_name(target: AwsTarget) -> str:
    return f"facegate-{target.stage}-failed-scans"


def _queue_url(sqs: SQSClient, target: AwsTarget) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return sqs.get_queue_url(QueueName=_queue_name(target))["QueueUrl"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            raise CliError(
                f"stage {target.stage!r} has no queue {_queue_name(target)} in {target.region}"
            ) from None
        raise CliError(f"cannot read {_queue_name(target)}: {printable(str(error))}") from None
    except BotoCoreError as error:  # no credentials, no region, no network
        raise CliError(f"cannot reach {_queue_name(target)}: {printable(str(error))}") from None


def _clients(target: AwsTarget) -> tuple[SQSClient, LambdaClient]:
    """SQS and Lambda clients for the stage: the admin's credentials, or the sandbox's own."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    key = "sandbox" if target.local else None  # None: boto3's credential chain
    retries = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10)
    # A camera function runs up to 60 s: wait for its answer rather than time out and invoke again.
    waiting = retries.merge(Config(read_timeout=75))
    try:
        sqs = boto3.client(
            "sqs",
            region_name=target.region,
            endpoint_url=target.sqs_endpoint,
            config=retries,
            aws_access_key_id=key,
            aws_secret_access_key=key,
        )
        lambda_client = boto3.client(
            "lambda",
            region_name=target.region,
            endpoint_url=target.lambda_endpoint,
            config=waiting,
            aws_access_key_id=key,
            aws_secret_access_key=key,
        )
    except BotoCoreError as error:  # no region configured, say
        raise CliError(f"cannot use AWS: {printable(str(error))}") from None
    return sqs, lambda_client


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError("a positive whole number")
    return int(raw)
