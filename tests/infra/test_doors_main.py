"""``python -m infra.doors add``: the door's identity verifies decisions *and* remote commands,
each with its own key (both aliases resolved to key ARNs, as IAM names keys)."""

from __future__ import annotations

import json

import pytest

from infra import doors
from sandbox.stack import Stack


@pytest.mark.fresh_stack  # it adds a door: a queue, a subscription and an IAM user
def test_a_new_doors_identity_may_verify_with_the_decision_and_the_command_key(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert doors.main(["add", "--stage", "sandbox", "side-door"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["door_id"] == "side-door" and printed["queue_url"].endswith(
        doors.queue_name("sandbox", "side-door")
    )
    kms, iam = stack.session.client("kms"), stack.session.client("iam")
    keys = [
        kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
        for alias in (stack.settings.signing_key, stack.settings.command_key)
    ]
    user = doors.KIND.user_name("sandbox", "side-door")
    policy = iam.get_user_policy(UserName=user, PolicyName=doors.KIND.policy_name)["PolicyDocument"]
    document = json.loads(policy) if isinstance(policy, str) else policy
    [verify] = [s for s in document["Statement"] if s["Sid"] == "VerifyMessages"]
    assert verify["Resource"] == keys and keys[0] != keys[1]
