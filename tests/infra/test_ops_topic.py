"""Only CloudWatch, for this account's alarms, may publish on the ops topic: no principal of
the account, whatever its own IAM policy says, can send a false alarm (or a false OK).

moto neither creates nor enforces topic policies, so the policy the template defines (and the
sandbox sets, the same document) is evaluated here with the tests' IAM evaluator."""

from __future__ import annotations

from typing import Any

import pytest

from infra.template import load_template
from sandbox.alarms import StackContext, ops_topic_policy
from tests.infra.iam import ACCOUNT, REGION, Caller, Request, resource_policy_allows

STAGE = "dev"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:facegate-{STAGE}-ops"
OTHER_ACCOUNT = "210987654321"


def policy() -> list[dict[str, Any]]:
    context = StackContext(load_template(), {"Stage": STAGE, "Sandbox": "false"}, {"OpsTopic": TOPIC})
    return list(ops_topic_policy(context)["Statement"])


def alarm(name: str, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def publish(source_arn: str | None = None, source_account: str | None = None) -> Request:
    context = {}
    if source_arn is not None:
        context["aws:SourceArn"] = (source_arn,)
    if source_account is not None:
        context["aws:SourceAccount"] = (source_account,)
    return Request("sns:Publish", TOPIC, context)


CLOUDWATCH = Caller(ACCOUNT, service="cloudwatch.amazonaws.com")


@pytest.mark.parametrize(
    "name", [f"facegate-{STAGE}-error-scans", f"facegate-{STAGE}-door:front-door:agent-silent", "any-alarm"]
)
def test_cloudwatch_may_publish_for_this_accounts_alarms(name: str) -> None:
    assert resource_policy_allows(policy(), publish(alarm(name), ACCOUNT), CLOUDWATCH)


@pytest.mark.parametrize(
    ("source_arn", "source_account"),
    [
        (alarm("x", account=OTHER_ACCOUNT), OTHER_ACCOUNT),  # another account's alarm: a confused deputy
        (alarm("x"), OTHER_ACCOUNT),
        (alarm("x", account=OTHER_ACCOUNT), ACCOUNT),
        (alarm("x", region="eu-west-1"), ACCOUNT),  # another region's alarm
        (f"arn:aws:events:{REGION}:{ACCOUNT}:rule/x", ACCOUNT),  # not an alarm
        (None, ACCOUNT),
        (alarm("x"), None),
        (None, None),
    ],
)
def test_cloudwatch_may_not_publish_for_anything_else(
    source_arn: str | None, source_account: str | None
) -> None:
    assert not resource_policy_allows(policy(), publish(source_arn, source_account), CLOUDWATCH)


@pytest.mark.parametrize(
    "caller",
    [
        # principals of the account whose own IAM policy allows sns:Publish on "*"
        Caller(
            ACCOUNT,
            arn=f"arn:aws:iam::{ACCOUNT}:role/facegate-{STAGE}-on_camera_upload",
            identity_allows=True,
        ),
        Caller(
            ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/facegate-{STAGE}-api_handler", identity_allows=True
        ),
        Caller(ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/developer", identity_allows=True),
        Caller(ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:root", identity_allows=True),
        Caller(OTHER_ACCOUNT, arn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/anyone", identity_allows=True),
        # other AWS services of the account (an S3 event, an EventBridge rule) posing as an alarm
        Caller(ACCOUNT, service="s3.amazonaws.com"),
        Caller(ACCOUNT, service="events.amazonaws.com"),
    ],
)
def test_no_one_else_may_publish_whatever_their_own_policy_allows(caller: Caller) -> None:
    for request in (publish(), publish(alarm("x"), ACCOUNT)):
        assert not resource_policy_allows(policy(), request, caller), caller


def test_the_account_still_manages_and_subscribes_to_the_topic() -> None:
    admin = Caller(ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/admin", identity_allows=True)
    for action in ("sns:Subscribe", "sns:GetTopicAttributes", "sns:SetTopicAttributes"):
        assert resource_policy_allows(policy(), Request(action, TOPIC), admin)
    assert not resource_policy_allows(
        policy(),
        Request("sns:Subscribe", TOPIC),
        Caller(OTHER_ACCOUNT, arn=f"arn:aws:iam::{OTHER_ACCOUNT}:root"),
    )


def test_the_template_sets_it_on_the_ops_topic_in_aws() -> None:
    resource = load_template()["Resources"]["OpsTopicPolicy"]
    assert resource["Properties"]["Topics"] == [{"Ref": "OpsTopic"}]
    # moto's CloudFormation: the sandbox sets it (tests/e2e/test_alarms_sandbox.py reads it back)
    assert resource["Condition"] == "InAws"
