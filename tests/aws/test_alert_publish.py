"""Hostile names through the real SNS client and local SNS: the Publish goes out, subject and all."""

from __future__ import annotations

import pytest

from chalicelib import wiring
from chalicelib.aws.kms import KmsMessageSigner
from chalicelib.aws.sns import SnsNotifier
from chalicelib.core.models import Decision, Scan, Status
from chalicelib.scanning.notifications import AlertSite
from sandbox.stack import Stack
from tests.unit.test_notifications import HOSTILE, sns_accepts


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_an_alert_naming_anything_is_published_with_a_subject_sns_accepts(stack: Stack, hostile: str) -> None:
    decision = Decision(
        Status.DENIED, reason=hostile, employee_id="EMP001", employee_name=hostile, door_id=hostile
    )
    scan = Scan(
        "s1", "front-door", f"incoming/front-door/{hostile}.jpg", "v1", "2026-12-02T16:41:07.000Z",
        "2026-12-02T16:41:08.000Z", "2026-12-02", decision, "local", 0,
    )  # fmt: skip
    signer = KmsMessageSigner(wiring.client("kms"), stack.settings.signing_key)
    site = AlertSite(stack.settings.timezone, stack.settings.camera_bucket)
    SnsNotifier(wiring.client("sns"), stack.settings.topic_arn, signer, site).publish(scan)
    [received] = stack.notifications()
    assert sns_accepts(received["subject"]) and received["subject"].startswith("Door stays locked: EMP001")
    assert received["body"]["employee_name"] == hostile  # the machine body keeps the data as it is
