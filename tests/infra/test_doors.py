"""Door principals and queues: each door's agent may read its own queue and verify MACs, nothing else.

Checked on a moto server that enforces IAM (its own process, so the shared local AWS of the
other tests stays open): one door's keys refused on another door's queue and on signing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import doors
from infra.principals import PrincipalError
from tests.infra.iam import ACCOUNT, Request, allowed
from tests.infra.test_cameras import enforce_iam, enforcing_moto

BUCKET = "facegate-test-camera-123456789012"


@pytest.mark.parametrize("door_id", ["", "a/b", "x" * 65, "door*", "..", "door one", "door\n"])
def test_a_door_id_outside_the_pattern_is_refused(door_id: str) -> None:
    with pytest.raises(PrincipalError):
        doors.queue_name("prod", door_id)


def test_queue_names_fit_sqs_and_stay_distinct() -> None:
    ids = [
        "front-door",
        "a.b",
        "a_b",
        "x" * 63 + "1",
        "x" * 63 + "2",
        "lobby.east",
        "lobby_east-0b3391f133e9",
    ]
    names = [doors.queue_name("prod", door) for door in ids]
    assert len(set(names)) == len(ids)
    assert all(len(name) <= 80 and name.replace("-", "").replace("_", "").isalnum() for name in names)
    assert doors.queue_name("dev", "front-door").startswith("facegate-dev-door-front-door-")
    # An id whose readable part and digest spell another door's queue name is still another queue.
    twin = doors.queue_name("dev", "lobby.east")
    assert doors.queue_name("dev", f"lobby_east-{twin.rsplit('-', 1)[1]}") != twin


def test_the_agent_policy_reads_its_own_queue_verifies_and_reports_its_own_events_only() -> None:
    own, other = (f"arn:aws:sqs:us-east-1:{ACCOUNT}:facegate-prod-door-{door}" for door in ("front", "back"))
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234"
    statements = doors.agent_policy(own, [key], BUCKET, "prod", "front")["Statement"]
    assert allowed(statements, Request("s3:PutObject", f"arn:aws:s3:::{BUCKET}/door-events/front/a.json"))
    for elsewhere in ("door-events/back/a.json", "door-events/front-2/a.json", "incoming/front/a.jpg"):
        assert not allowed(statements, Request("s3:PutObject", f"arn:aws:s3:::{BUCKET}/{elsewhere}"))
    beat = {"cloudwatch:namespace": ("facegate/prod/doors/front",)}
    assert allowed(statements, Request("cloudwatch:PutMetricData", "*", beat))
    # The app's own metrics, and another door's heartbeats (which would keep its alarm quiet).
    for namespace in ("facegate", "facegate/prod/doors/back", "facegate/prod/doors"):
        other_beat = {"cloudwatch:namespace": (namespace,)}
        assert not allowed(statements, Request("cloudwatch:PutMetricData", "*", other_beat)), namespace
    own_key = {"s3:x-amz-server-side-encryption-customer-algorithm": ("AES256",)}  # SSE-C: unreadable
    event = f"arn:aws:s3:::{BUCKET}/door-events/front/a.json"
    assert not allowed(statements, Request("s3:PutObject", event, own_key))
    assert allowed(statements, Request("sqs:ReceiveMessage", own))
    assert allowed(statements, Request("sqs:DeleteMessage", own))
    assert allowed(statements, Request("kms:VerifyMac", key))
    assert not allowed(statements, Request("sqs:ReceiveMessage", other))
    for action in ("sqs:SendMessage", "sqs:PurgeQueue", "sqs:SetQueueAttributes"):
        assert not allowed(statements, Request(action, own))
    assert not allowed(statements, Request("kms:GenerateMac", key))


def _session(key_id: str, secret: str) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1"
    )


def test_an_iam_enforcing_aws_refuses_a_door_another_doors_queue() -> None:
    with enforcing_moto() as endpoint:
        admin = _session("admin", "admin")  # before IAM is enforced, any key is the account's root
        iam = admin.client("iam", endpoint_url=endpoint)
        sqs = admin.client("sqs", endpoint_url=endpoint)
        sns = admin.client("sns", endpoint_url=endpoint)
        topic = sns.create_topic(Name="facegate-test-decisions")["TopicArn"]
        key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/signing"
        front = doors.add(iam, sqs, sns, "test", topic, [key], "front-door", BUCKET)
        back = doors.add(iam, sqs, sns, "test", topic, [key], "back-door", BUCKET)
        with pytest.raises(PrincipalError):
            doors.add(iam, sqs, sns, "test", topic, [key], "front-door", BUCKET)
        [subscription] = [
            s
            for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
            if s["Endpoint"].endswith(f":{doors.queue_name('test', 'front-door')}")
        ]
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])
        assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {"door_id": ["front-door"]}
        assert attributes["Attributes"]["RawMessageDelivery"] == "true"
        enforce_iam(endpoint)

        agent = _session(front["access_key_id"], front["secret_access_key"])
        # moto checks SQS calls against the queue's ARN, KMS calls only against "*" (which a
        # policy naming its key never matches): the KMS rights are the evaluator's test above.
        agent_sqs = agent.client("sqs", endpoint_url=endpoint)
        agent_sqs.receive_message(QueueUrl=front["queue_url"], WaitTimeSeconds=0)
        refused: list[Callable[[], object]] = [
            lambda: agent_sqs.receive_message(QueueUrl=back["queue_url"], WaitTimeSeconds=0),
            lambda: agent_sqs.send_message(QueueUrl=front["queue_url"], MessageBody="{}"),
            lambda: agent_sqs.purge_queue(QueueUrl=front["queue_url"]),
        ]
        for call in refused:
            with pytest.raises(ClientError) as error:
                call()
            assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            assert "AccessDenied" in str(error.value)


def test_removing_a_door_removes_its_queue_subscription_and_identity() -> None:
    with enforcing_moto() as endpoint:
        admin = _session("admin", "admin")
        iam = admin.client("iam", endpoint_url=endpoint)
        sqs = admin.client("sqs", endpoint_url=endpoint)
        sns = admin.client("sns", endpoint_url=endpoint)
        topic = sns.create_topic(Name="facegate-test-decisions")["TopicArn"]
        key = "arn:aws:kms:us-east-1:123456789012:key/k"
        doors.add(iam, sqs, sns, "test", topic, [key], "front-door", BUCKET)
        doors.remove(iam, sqs, sns, "test", topic, "front-door")
        assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
        assert sqs.list_queues().get("QueueUrls", []) == []
        assert iam.list_users(PathPrefix="/facegate/test/doors/")["Users"] == []
        with pytest.raises(PrincipalError):
            doors.remove(iam, sqs, sns, "test", topic, "front-door")


def test_a_silent_door_agent_or_camera_raises_its_alarm_and_removing_the_door_removes_them() -> None:
    with enforcing_moto() as endpoint:
        cloudwatch = _session("admin", "admin").client("cloudwatch", endpoint_url=endpoint)
        names = doors.watch(cloudwatch, "test", "front-door", ["front-cam"], ["arn:aws:sns:us-east-1:1:ops"])
        assert names == [
            "facegate-test-door:front-door:silent",
            "facegate-test-door:front-door:camera:front-cam:silent",
        ]
        doors.watch(cloudwatch, "test", "front-door-2", [], [])
        alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
        door = alarms["facegate-test-door:front-door:silent"]
        assert (
            door["TreatMissingData"] == "breaching" and door["Namespace"] == "facegate/test/doors/front-door"
        )
        assert door["Dimensions"] == [{"Name": "Door", "Value": "front-door"}]
        camera = alarms["facegate-test-door:front-door:camera:front-cam:silent"]
        assert camera["Dimensions"] == [{"Name": "Camera", "Value": "front-cam"}]
        doors.unwatch(cloudwatch, "test", "front-door")
        left = [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]]
        assert left == ["facegate-test-door:front-door-2:silent"]  # another door keeps its own
