"""The emails local AWS (moto, in this process) has sent, and the report files they carry."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default
from pathlib import Path


def sent_emails(region: str = "us-east-1") -> list[EmailMessage]:
    """Every raw email SES accepted since local AWS started or was reset, oldest first."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][region]
    return [email.message_from_string(message.raw_data, policy=default) for message in backend.sent_messages]


def write_report_files(message: EmailMessage, out: Path, stem: str) -> list[Path]:
    """Save the email's HTML, text and CSV parts under ``out``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "text/html":
            target = out / f"{stem}.html"
        elif content_type == "text/plain" and not part.get_filename():
            target = out / f"{stem}.txt"
        elif part.get_filename():
            target = out / str(part.get_filename())
        else:
            continue
        payload = part.get_payload(decode=True)
        target.write_bytes(payload if isinstance(payload, bytes) else b"")
        paths.append(target)
    return paths
