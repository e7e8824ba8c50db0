"""The decisions topic as a ``Notifier``; the administrators' topic as an ``AdminNotifier``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib.core.errors import SigningFailed
from chalicelib.core.models import Scan
from chalicelib.core.ports import MessageSigner
from chalicelib.scanning.notifications import ANYWHERE, AlertSite, notification_for, sns_message
from chalicelib.scanning.signing import signature_for

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

log = logging.getLogger(__name__)


class SnsNotifier:
    """Publishes one signed message per scan, with attributes for subscription filter policies."""

    def __init__(
        self, client: SNSClient, topic_arn: str, signer: MessageSigner, site: AlertSite = ANYWHERE
    ) -> None:
        self._sns = client
        self._topic_arn = topic_arn
        self._signer = signer
        self._site = site  # the zone and bucket the alert texts name

    def publish(self, scan: Scan) -> None:
        """Publish ``scan``; raise ``SigningFailed`` rather than publish an unsigned AUTHORIZED."""
        notification = notification_for(scan, self._site)
        try:
            signature = signature_for(scan, self._signer)
        except SigningFailed:
            if scan.status.opens_door:
                raise  # fail closed: the pipeline records FAILED and never resends an AUTHORIZED
            # Doors act on AUTHORIZED only; security should still hear about a stranger.
            log.warning("alert for scan %s goes out unsigned", scan.scan_id, exc_info=True)
        else:
            notification = replace(notification, body={**notification.body, "signature": signature})
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=notification.subject,
            Message=sns_message(notification),
            MessageStructure="json",
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in notification.attributes.items()
            },
        )


class SnsAdminNotifier:
    """The administrators' topic (never the decisions topic: door controllers subscribe there)."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._sns = client
        self._topic_arn = topic_arn

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> None:
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=subject,
            Message=message,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        )
