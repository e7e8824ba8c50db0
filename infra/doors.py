"""One queue and one identity per door: ``python -m infra.doors add|list|rotate|remove --stage STAGE [ID]``.

Each door's queue is subscribed to the decisions topic with a filter on the ``door_id``
attribute, so a door receives its own decisions and no other door's (one shared queue let
one door's controller receive and delete another door's unlocks). The filter is routing, not
trust: the door agent still checks the door named inside the signed payload.

A door agent's identity (an IAM user under ``/facegate/<stage>/doors/``) may receive and
delete messages of its own queue and verify MACs with the stage's keys, nothing else; the
photos go up with the camera's own key (``infra.cameras``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from chalicelib.core.keys import door_events_folder, door_queue_name
from infra import principals
from infra.principals import PrincipalError
from infra.stage import outputs, stack_name, stage_variables

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

KIND = principals.Kind("door", policy_name="read-own-decisions")
# A decision older than 60 s is refused at the door anyway (door/controller.py MAX_AGE): a
# message that waited longer is of no use, and an unread backlog must not outlive a power cut.
RETENTION_SECONDS = 120


def queue_name(stage: str, door_id: str) -> str:
    """``facegate-<stage>-door-<id>`` (``chalicelib.core.keys.door_queue_name``: the API sends
    remote commands to it by that name)."""
    return door_queue_name(stage, KIND.valid_id(door_id))


def filter_policy(door_id: str) -> dict[str, list[str]]:
    """Every decision at the door, whatever its status (the agent retries after NO_FACE)."""
    return {"door_id": [KIND.valid_id(door_id)]}


def queue_policy(queue_arn: str, topic_arn: str) -> dict[str, Any]:
    """Only the decisions topic may send to the queue."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DecisionsTopicDelivers",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }


def agent_policy(
    queue_arn: str, key_arns: list[str], bucket: str, stage: str, door_id: str
) -> dict[str, Any]:
    """Read its own queue, check MACs, put its own door events, send heartbeats: nothing else
    (no other queue or folder, no GenerateMac, no photos: those go up with the camera's key)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadOwnQueue",
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": queue_arn,
            },
            {"Sid": "VerifyMessages", "Effect": "Allow", "Action": "kms:VerifyMac", "Resource": key_arns},
            {
                # Without a key of its own (SSE-C): the door-event function must read it back.
                "Sid": "ReportOwnDoorEvents",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/{door_events_folder(KIND.valid_id(door_id))}*",
                "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "true"}},
            },
            {
                # PutMetricData has no resources to name: the namespace is the only bound, so each
                # door has its own (a box could otherwise keep another door's silence alarm quiet).
                "Sid": "Heartbeat",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": heartbeat_namespace(stage, door_id)}},
            },
        ],
    }


def heartbeat_namespace(stage: str, door_id: str) -> str:
    """Where door ``door_id``'s agent puts its heartbeats, its own and its cameras'
    (``door/cli.py`` derives the same from its queue's name)."""
    return f"facegate/{stage}/doors/{KIND.valid_id(door_id)}"


SILENT_MINUTES = 5  # a door agent or camera silent this long raises its alarm


def silence_alarm(stage: str, door_id: str, camera_id: str | None, actions: list[str]) -> dict[str, Any]:
    """The alarm on a missing heartbeat of the door's agent (``camera_id`` None) or of one of
    its cameras: missing data breaches. Named under the door, so removing the door finds them."""
    dimension, device, what = (
        ("Door", door_id, "door agent") if camera_id is None else ("Camera", camera_id, "camera")
    )
    suffix = "silent" if camera_id is None else f"camera:{camera_id}:silent"
    return {
        "AlarmName": f"{_alarm_prefix(stage, door_id)}{suffix}",
        "AlarmDescription": f"The {what} {device} sent no heartbeat for {SILENT_MINUTES} minutes "
        "(box off, network down, camera dark): the door stays locked and nobody is recognised there.",
        "Namespace": heartbeat_namespace(stage, door_id),
        "MetricName": "Heartbeat",
        "Dimensions": [{"Name": dimension, "Value": device}],
        "Statistic": "SampleCount",
        "Period": 60,
        "EvaluationPeriods": SILENT_MINUTES,
        "Threshold": 1,
        "ComparisonOperator": "LessThanThreshold",
        "TreatMissingData": "breaching",
        "AlarmActions": actions,
        "OKActions": actions,
    }


def _alarm_prefix(stage: str, door_id: str) -> str:
    # ':' is in no id: door front-door's alarms never share a prefix with front-door-2's.
    return f"facegate-{stage}-door:{KIND.valid_id(door_id)}:"


def watch(cloudwatch: Any, stage: str, door_id: str, cameras: list[str], actions: list[str]) -> list[str]:
    """The silence alarms of the door's agent and of its cameras; their names."""
    alarms = [silence_alarm(stage, door_id, None, actions)]
    alarms += [silence_alarm(stage, door_id, KIND.valid_id(camera), actions) for camera in cameras]
    for alarm in alarms:
        cloudwatch.put_metric_alarm(**alarm)
    return [alarm["AlarmName"] for alarm in alarms]


def unwatch(cloudwatch: Any, stage: str, door_id: str) -> None:
    """Every silence alarm of the door (its agent's and its cameras')."""
    found = cloudwatch.describe_alarms(AlarmNamePrefix=_alarm_prefix(stage, door_id)).get("MetricAlarms", [])
    names = [alarm["AlarmName"] for alarm in found]
    if names:
        cloudwatch.delete_alarms(AlarmNames=names)


def create_queue(sqs: SQSClient, sns: SNSClient, stage: str, topic_arn: str, door_id: str) -> tuple[str, str]:
    """The door's queue, subscribed to the topic for its own decisions: (url, arn). Idempotent."""
    url = sqs.create_queue(
        QueueName=queue_name(stage, door_id),
        Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS), "SqsManagedSseEnabled": "true"},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(queue_policy(arn, topic_arn))})
    # SNS answers an identical Subscribe with the existing subscription.
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={
            "RawMessageDelivery": "true",  # the body is the signed JSON itself
            "FilterPolicyScope": "MessageAttributes",
            "FilterPolicy": json.dumps(filter_policy(door_id)),
        },
    )
    return url, arn


def delete_queue(sqs: SQSClient, sns: SNSClient, stage: str, topic_arn: str, door_id: str) -> None:
    """Unsubscribe the door's queue and delete it (no error when either is gone already)."""
    from botocore.exceptions import ClientError

    try:
        url = sqs.get_queue_url(QueueName=queue_name(stage, door_id))["QueueUrl"]
    except ClientError:
        return
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for subscription in page["Subscriptions"]:
            if subscription.get("Endpoint") == arn:
                sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    sqs.delete_queue(QueueUrl=url)


def add(
    iam: IAMClient,
    sqs: SQSClient,
    sns: SNSClient,
    stage: str,
    topic_arn: str,
    key_arns: list[str],
    door_id: str,
    bucket: str,
) -> dict[str, str]:
    """The door's queue and identity; return what its agent's config needs (shown once)."""
    KIND.valid_id(door_id)
    url, arn = create_queue(sqs, sns, stage, topic_arn, door_id)
    policy = agent_policy(arn, key_arns, bucket, stage, door_id)
    key_id, secret = principals.create(iam, KIND, stage, door_id, policy)
    return {
        "door_id": door_id,
        "queue_url": url,
        "bucket": bucket,
        "access_key_id": key_id,
        "secret_access_key": secret,
    }


def remove(iam: IAMClient, sqs: SQSClient, sns: SNSClient, stage: str, topic_arn: str, door_id: str) -> None:
    """The door's identity, subscription and queue, gone: its agent receives nothing more."""
    principals.remove(iam, KIND, stage, door_id)
    delete_queue(sqs, sns, stage, topic_arn, door_id)


HANDOVER = """\
Shown once: put these into the door agent's config file on the box (facegate-door.toml,
[cloud] section; see docs/install-a-door.md), never in email or chat. The agent reads
{queue_url} and verifies MACs; it cannot read another door's queue.
Lost or leaked: `python -m infra.doors rotate --stage {stage} {door_id}`."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.doors", description=__doc__)
    parser.add_argument("command", choices=["add", "list", "rotate", "remove"])
    parser.add_argument("door_id", nargs="?")
    parser.add_argument("--stage", default="dev")
    parser.add_argument(
        "--camera", action="append", default=[], help="add: a camera of this door, watched for silence"
    )
    args = parser.parse_intermixed_args(argv)
    import boto3

    session = boto3.session.Session()
    iam, sqs, sns = session.client("iam"), session.client("sqs"), session.client("sns")
    variables = stage_variables(args.stage)
    try:
        if args.command == "list":
            for door in principals.devices(iam, KIND, args.stage):
                print(f"{door.device_id}\t{queue_name(args.stage, door.device_id)}\t{door.created}")
            return 0
        if not args.door_id:
            parser.error(f"{args.command} needs a DOOR_ID")
        topic = variables["FACEGATE_TOPIC_ARN"]
        cloudwatch = session.client("cloudwatch")
        if args.command == "remove":
            remove(iam, sqs, sns, args.stage, topic, args.door_id)
            unwatch(cloudwatch, args.stage, args.door_id)
            print(f"door {args.door_id} removed from {args.stage}")
            return 0
        if args.command == "add":
            kms = session.client("kms")
            # Decisions and remote commands: the agent verifies each kind with its own key.
            keys = [
                kms.describe_key(KeyId=variables[setting])["KeyMetadata"]["Arn"]
                for setting in ("FACEGATE_SIGNING_KEY", "FACEGATE_COMMAND_KEY")
            ]
            bucket = variables["FACEGATE_CAMERA_BUCKET"]
            credentials = add(iam, sqs, sns, args.stage, topic, keys, args.door_id, bucket)
            ops = outputs(session.client("cloudformation"), stack_name(args.stage)).get("OpsTopicArn")
            alarms = watch(cloudwatch, args.stage, args.door_id, args.camera, [ops] if ops else [])
            print(f"silence alarms: {', '.join(alarms)}", file=sys.stderr)
        else:
            key_id, secret = principals.rotate(iam, KIND, args.stage, args.door_id)
            url = sqs.get_queue_url(QueueName=queue_name(args.stage, args.door_id))["QueueUrl"]
            credentials = {
                "door_id": args.door_id,
                "queue_url": url,
                "bucket": variables["FACEGATE_CAMERA_BUCKET"],
                "access_key_id": key_id,
                "secret_access_key": secret,
            }
    except PrincipalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(credentials, indent=2))
    print(HANDOVER.format(stage=args.stage, **credentials), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
