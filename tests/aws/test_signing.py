"""Signed decisions against moto's KMS HMAC keys and SNS: the camera's signer, the door's
verifier, and the notifier that never publishes an AUTHORIZED it could not sign."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws.kms import KmsMessageSigner
from chalicelib.aws.sns import SnsNotifier
from chalicelib.core.errors import SigningFailed
from chalicelib.core.models import Status
from door.controller import DoorController, Unlock
from door.kms import KmsMacVerifier
from tests.door.messages import NOW, message, scan, tampered
from tests.fakes import InMemorySigner

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_sns import SNSClient

ALIAS = "alias/facegate-test-decision-signing"


@pytest.fixture
def kms() -> Iterator[KMSClient]:
    with mock_aws():
        client = boto3.client("kms", region_name="us-east-1")
        key = client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        client.create_alias(AliasName=ALIAS, TargetKeyId=key["KeyId"])
        yield client


def other_key(kms: KMSClient) -> str:
    return str(kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"])


def door(kms: KMSClient, key_id: str = ALIAS) -> tuple[DoorController, list[Unlock]]:
    unlocks: list[Unlock] = []
    return DoorController(KmsMacVerifier(kms, key_id), "front-door", unlocks.append, lambda: NOW), unlocks


def test_kms_macs_verify_only_for_the_same_bytes_and_key(kms: KMSClient) -> None:
    mac = KmsMessageSigner(kms, ALIAS).sign(b"claims")
    assert len(mac) == 32
    assert KmsMacVerifier(kms, ALIAS).verify(b"claims", mac)
    assert not KmsMacVerifier(kms, ALIAS).verify(b"claimz", mac)
    assert not KmsMacVerifier(kms, other_key(kms)).verify(b"claims", mac)
    assert not KmsMacVerifier(kms, ALIAS).verify(b"claims", b"")


def test_a_kms_signed_decision_opens_the_door(kms: KMSClient) -> None:
    controller, unlocks = door(kms)
    assert controller.handle(message(scan(), KmsMessageSigner(kms, ALIAS))).unlocked
    assert unlocks == [Unlock("EMP001", "front-door", "a" * 32)]


def test_a_tampered_kms_signed_decision_is_refused(kms: KMSClient) -> None:
    controller, unlocks = door(kms)
    body = tampered(message(scan(), KmsMessageSigner(kms, ALIAS)), employee_id="EMP002")
    assert controller.handle(body).reason == "invalid signature"
    assert unlocks == []


def test_a_decision_signed_with_another_kms_key_is_refused(kms: KMSClient) -> None:
    controller, unlocks = door(kms)
    body = message(scan(), KmsMessageSigner(kms, other_key(kms)))
    assert controller.handle(body).reason == "invalid signature"
    assert unlocks == []


def test_a_decision_without_signature_is_refused(kms: KMSClient) -> None:
    controller, unlocks = door(kms)
    assert controller.handle(message(scan(), None)).reason == "unsigned or unreadable message"
    assert unlocks == []


@pytest.fixture
def topic(kms: KMSClient) -> Iterator[tuple[SNSClient, str, str]]:
    """SNS topic with a raw, unfiltered SQS subscriber (inside the ``kms`` fixture's mock)."""
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic_arn = sns.create_topic(Name="decisions")["TopicArn"]
    url = sqs.create_queue(QueueName="door")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    yield sns, topic_arn, url


def received(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    return [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]


def test_the_notifier_signs_what_it_publishes(kms: KMSClient, topic: tuple[SNSClient, str, str]) -> None:
    sns, topic_arn, url = topic
    SnsNotifier(sns, topic_arn, KmsMessageSigner(kms, ALIAS)).publish(scan())
    [body] = received(url)
    assert body["signature"]["key_id"] == ALIAS and body["signature"]["algorithm"] == "HMAC_SHA_256"
    controller, _ = door(kms)
    assert controller.handle(json.dumps(body)).unlocked


def test_an_authorized_decision_that_cannot_be_signed_is_not_published(
    kms: KMSClient, topic: tuple[SNSClient, str, str]
) -> None:
    sns, topic_arn, url = topic
    signer = InMemorySigner()
    signer.fail_with = ConnectionError("KMS unreachable")
    with pytest.raises(SigningFailed, match="KMS unreachable"):
        SnsNotifier(sns, topic_arn, signer).publish(scan())
    assert received(url) == []


def test_an_alert_that_cannot_be_signed_still_reaches_security(
    kms: KMSClient, topic: tuple[SNSClient, str, str]
) -> None:
    sns, topic_arn, url = topic
    signer = InMemorySigner()
    signer.fail_with = ConnectionError("KMS unreachable")
    SnsNotifier(sns, topic_arn, signer).publish(scan(status=Status.UNKNOWN))
    [body] = received(url)
    assert body["status"] == "UNKNOWN" and "signature" not in body


@pytest.mark.parametrize("kind", ["in-memory", "kms"])
def test_signer_contract(kms: KMSClient, kind: str) -> None:
    """The fake and the KMS signer agree: deterministic 32-byte HMAC-SHA256 per message."""
    fake = InMemorySigner(key_id=ALIAS)
    signer, verifier = (fake, fake) if kind == "in-memory" else (
        KmsMessageSigner(kms, ALIAS), KmsMacVerifier(kms, ALIAS)
    )  # fmt: skip
    assert signer.key_id == ALIAS
    mac = signer.sign(b"claims")
    assert len(mac) == 32 and signer.sign(b"claims") == mac and signer.sign(b"other") != mac
    assert verifier.verify(b"claims", mac) and not verifier.verify(b"other", mac)
