"""SES as the ``Mailer``: raw MIME, so the email carries HTML, text and an attachment."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import getaddresses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient


class SesMailer:
    def __init__(self, client: SESClient) -> None:
        self._ses = client

    def send(self, message: EmailMessage) -> str:
        recipients = [address for _, address in getaddresses(message.get_all("To", []))]
        response = self._ses.send_raw_email(
            Source=str(message["From"]),
            Destinations=recipients,
            RawMessage={"Data": message.as_bytes()},
        )
        return str(response["MessageId"])
