"""``facegate dlq replay``: run the S3 events that failed every attempt through their function again.

Lambda sends an S3 event that failed its two retries to the stage's failed-scans queue as a
destination record (``requestContext.functionArn``, ``requestPayload`` = the event,
``responsePayload`` = the error). This command reads that queue with the admin's own AWS
credentials (boto3's chain: it does not go through the API) and invokes the function
synchronously with the event; a message is deleted only when that invocation succeeded.
Replaying is idempotent: the pipeline records one scan per object version and only the writer
of the record publishes, so an event recorded meanwhile changes nothing.

Whoever can write to the queue chooses what a replay invokes: ``facegate_cli.dead_letters`` says
which records may be replayed; anything else is kept in the queue and reported.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from facegate_cli.commands.common import command
from facegate_cli.context import Context
from facegate_cli.dead_letters import DeadLetter, printable, read_letter
from facegate_cli.errors import CliError
from facegate_cli.stages import AwsTarget, account_in, aws_target

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

REPLAY_VISIBILITY = 300  # s: a 60 s function, retried by the SDK; kept messages are released at the end
LIST_VISIBILITY = 30  # s: a dry run hides what it read only until it releases it (or for this long)
COLUMNS = ["message_id", "function", "key", "error", "failed_at", "outcome"]


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
    # The stage is where its queue is: the region the client resolved, the account its URL names.
    target = replace(target, region=target.region or sqs.meta.region_name, account=account_in(queue))
    visibility = LIST_VISIBILITY if args.dry_run else REPLAY_VISIBILITY
    reader = QueueReader(sqs, queue, visibility, args.limit, batch=10 if args.dry_run else 1)
    kept: list[str] = []  # message ids to make visible again when done
    rows: list[dict[str, str]] = []
    trouble: list[str] = []
    try:
        for message in reader.messages():
            letter = read_letter(message, target)
            outcome = letter.problem or ("would replay" if args.dry_run else None)
            if outcome is None:
                outcome = _replay(letter, lambda_client, sqs, queue)
            if args.dry_run or outcome != "replayed":
                kept.append(letter.message_id)
            rows.append({**letter.row, "outcome": outcome})
    except (BotoCoreError, ClientError) as error:  # the queue itself failed: report what was done
        trouble.append(f"stopped reading {_queue_name(target)}: {printable(str(error))}")
    if reader.stopped_early:
        trouble.append(reader.stopped_early)
    try:
        reader.release(kept)
    except (BotoCoreError, ClientError) as error:
        trouble.append(
            f"{len(kept)} kept messages reappear only after {visibility} s: {printable(str(error))}"
        )
    code = _report(context, rows, target, args.dry_run) if rows or not trouble else 1
    for line in trouble:
        print(f"facegate: {line}", file=sys.stderr)
    return 1 if trouble else code


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


class QueueReader:
    """Each message of the queue once (by MessageId), until a receive answers nothing, and the
    newest receipt handle of every message read.

    A message kept earlier in the run comes back once its visibility timeout ends (a long
    run: several 60 s invocations, SDK retries); it is skipped, not taken for the end of the
    queue, and its new receipt handle replaces the old one, which SQS no longer honours for
    making it visible again. So where the run ends depends on what the queue holds, not on how
    long the run took; ``limit`` and ``MAX_MESSAGES`` bound it, and so does a run of receives
    that bring back only messages already read (each such receive hides what it returned, so
    more of them than messages read means something is wrong): ``stopped_early`` says so.
    """

    MAX_MESSAGES = 10_000  # one run's most; the rest waits for the next run

    def __init__(self, sqs: SQSClient, queue: str, visibility: int, limit: int | None, batch: int) -> None:
        self._sqs, self._queue, self._visibility = sqs, queue, visibility
        self._limit = min(limit or self.MAX_MESSAGES, self.MAX_MESSAGES)
        self._batch = batch
        self.receipts: dict[str, str] = {}  # message id → the newest receipt handle
        self.stopped_early: str | None = None

    def messages(self) -> Iterator[MessageTypeDef]:
        repeats = 0  # receives in a row that brought back only messages read already
        while len(self.receipts) < self._limit:
            answer = self._sqs.receive_message(
                QueueUrl=self._queue,
                MaxNumberOfMessages=min(self._batch, self._limit - len(self.receipts)),
                VisibilityTimeout=self._visibility,
                WaitTimeSeconds=1,  # a long poll asks every server: a short one may miss messages
                MessageSystemAttributeNames=["SentTimestamp"],
            )
            messages = answer.get("Messages", [])
            if not messages:
                return
            fresh = []
            for message in messages:
                message_id = message.get("MessageId", "")
                if message_id not in self.receipts:
                    fresh.append(message)
                self.receipts[message_id] = message.get("ReceiptHandle", "")
            if not fresh:
                repeats += 1
                if repeats > len(self.receipts) + 10:
                    self.stopped_early = "stopped: the queue keeps returning messages already read"
                    return
                continue
            repeats = 0
            yield from fresh
        if len(self.receipts) >= self.MAX_MESSAGES:
            self.stopped_early = f"stopped after {self.MAX_MESSAGES} messages: run it again for the rest"

    def release(self, message_ids: list[str]) -> None:
        """Make the messages visible again now, not when their visibility timeout ends."""
        receipts = [self.receipts[message_id] for message_id in message_ids if message_id in self.receipts]
        for start in range(0, len(receipts), 10):
            entries = [
                {"Id": str(number), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                for number, receipt in enumerate(receipts[start : start + 10])
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=self._queue, Entries=entries)  # type: ignore[arg-type]


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
