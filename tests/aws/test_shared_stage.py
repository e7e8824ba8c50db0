"""The stage a module's tests share: a test's data is emptied after it, and a change to the
stage itself is named and never handed to the next test (``tests/shared_stack.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.core.models import Employee
from sandbox.enroll import enroll_employee
from sandbox.stack import LocalAws, patched_environ, stage_environment
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


def test_a_stage_gone_with_a_reset_of_local_aws_is_built_again(
    own_stage: SharedStage, local_aws: LocalAws
) -> None:
    stack = own_stage.get()
    local_aws.reset()  # what a fresh_stack test in the same module does
    assert own_stage.get() is not stack
