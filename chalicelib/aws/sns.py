"""The decisions topic as a ``Notifier``."""

from __future__ import annotations

from typing import Any

from chalicelib.models import Scan
from chalicelib.notifications import notification_for, sns_message


class SnsNotifier:
    """Publishes one message per scan, with attributes for subscription filter policies."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._sns = client
        self._topic_arn = topic_arn

    def publish(self, scan: Scan) -> None:
        notification = notification_for(scan)
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
