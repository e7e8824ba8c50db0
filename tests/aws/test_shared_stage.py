"""The stage a module's tests share: a test's data is emptied after it, and a change to the
stage itself is named and never handed to the next test (``tests/shared_stack.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from chalicelib.core.models import Employee
from sandbox.enroll import enroll_employee
from sandbox.stack import LocalAws, Stack, patched_environ, stage_environment
from tests.shared_stack import SharedStage


@pytest.fixture
def own_stage(local_aws: LocalAws) -> Iterator[SharedStage]:
    with patched_environ(stage_environment("sandbox", {})):
        yield SharedStage(local_aws)


def test_what_a_test_wrote_is_emptied_and_the_stage_is_as_built(own_stage: SharedStage) -> None:
    stack = own_stage.get()
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [])
    stack.upload("front-door", "a.jpg", b"not a photo")
    stack.token("admins")
    assert own_stage.restore() == []
    assert own_stage.get() is stack  # kept for the next test
    employees = stack.session.client("dynamodb").scan(TableName=stack.settings.employees_table)
    assert employees["Items"] == []
    assert stack.pending_events() == 0
    versions = stack.s3.list_object_versions(Bucket=stack.settings.camera_bucket)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []
    assert stack.cognito.list_users(UserPoolId=stack.names["user_pool_id"])["Users"] == []


def test_a_change_to_the_stage_itself_is_named_and_the_next_test_gets_a_new_stage(
    own_stage: SharedStage,
) -> None:
    stack = own_stage.get()
    stack.sqs.create_queue(QueueName="left-behind")
    stack.session.client("sns").delete_topic(TopicArn=stack.settings.admin_topic_arn)
    changed = own_stage.restore()
    assert {"queue:left-behind", "topics", "subscriptions"} <= set(changed), changed
    rebuilt = own_stage.get()
    assert rebuilt is not stack
    assert "left-behind" not in str(rebuilt.sqs.list_queues().get("QueueUrls", []))


def _subscribe_a_queue(stack: Stack) -> None:
    queue = stack.sqs.create_queue(QueueName="eavesdropper")["QueueUrl"]
    arn = stack.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns = stack.session.client("sns")
    sns.subscribe(TopicArn=stack.settings.topic_arn, Protocol="sqs", Endpoint=arn["QueueArn"])


def _raise_an_alarm(stack: Stack) -> None:
    cloudwatch = stack.session.client("cloudwatch")
    name = cloudwatch.describe_alarms()["MetricAlarms"][0]["AlarmName"]
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="a test")


def _stop_notifying_uploads(stack: Stack) -> None:
    stack.s3.put_bucket_notification_configuration(
        Bucket=stack.settings.camera_bucket, NotificationConfiguration={}
    )


def _suspend_versioning(stack: Stack) -> None:
    stack.s3.put_bucket_versioning(
        Bucket=stack.settings.camera_bucket, VersioningConfiguration={"Status": "Suspended"}
    )


def _alias_a_key(stack: Stack) -> None:
    kms = stack.session.client("kms")
    kms.create_alias(AliasName="alias/left-behind", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])


def _add_a_group(stack: Stack) -> None:
    stack.cognito.create_group(UserPoolId=stack.names["user_pool_id"], GroupName="visitors")


# Each kind of change to the stage itself that the reset does not undo, and the part that names it.
STAGE_CHANGES: dict[str, tuple[Callable[[Stack], object], str]] = {
    "a table": (
        lambda stack: stack.session.client("dynamodb").create_table(
            TableName="left-behind",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        ),
        "table:left-behind",
    ),
    "a subscription": (_subscribe_a_queue, "subscriptions"),
    "an alarm's state": (_raise_an_alarm, "alarms"),
    "a bucket's notifications": (_stop_notifying_uploads, "bucket:{camera_bucket}"),
    "a bucket's versioning": (_suspend_versioning, "bucket:{camera_bucket}"),
    "a kms alias": (_alias_a_key, "kms aliases"),
    "an iam user": (lambda stack: stack.session.client("iam").create_user(UserName="cam-9"), "iam users"),
    "a user pool group": (_add_a_group, "user pool"),
    "an ses identity": (
        lambda stack: stack.session.client("ses").verify_email_identity(EmailAddress="x@example.com"),
        "ses identities",
    ),
}


@pytest.mark.parametrize("change", STAGE_CHANGES)
def test_each_kind_of_change_to_the_stage_is_named(own_stage: SharedStage, change: str) -> None:
    make, part = STAGE_CHANGES[change]
    stack = own_stage.get()
    make(stack)
    assert part.format(camera_bucket=stack.settings.camera_bucket) in own_stage.restore()


def test_a_stage_gone_with_a_reset_of_local_aws_is_built_again(
    own_stage: SharedStage, local_aws: LocalAws
) -> None:
    stack = own_stage.get()
    local_aws.reset()  # what a fresh_stack test in the same module does
    assert own_stage.get() is not stack
