"""The emails local AWS (moto, in this process) has sent, and the report files they carry."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from sandbox.moto_internals import MotoState


def sent_emails(region: str = "us-east-1") -> list[EmailMessage]:
    """Every raw email SES accepted since local AWS started or was reset, oldest first."""
    sent = MotoState(region).ses.sent_messages
    return [email.message_from_string(message.raw_data, policy=default) for message in sent]


def write_report_files(message: EmailMessage, out: Path, stem: str) -> list[Path]:
    """Save the email's HTML, text, CSV and face parts under ``out``; return the paths.

    The HTML names its faces ``cid:<Content-ID>``, which a file cannot resolve: the saved
    page names the saved image files instead, so it opens in a browser as the email would."""
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    html = ""
    faces: dict[str, str] = {}  # Content-ID → the file saved for it
    for part in message.walk():
        content_type = part.get_content_type()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        content_id = str(part.get("Content-ID", "")).strip("<>")
        if content_type == "text/html":
            html = data.decode(part.get_content_charset() or "utf-8")
            continue
        if content_type.startswith("image/") and content_id:
            target = out / f"{stem}-face-{len(faces) + 1}.{part.get_content_subtype()}"
            faces[content_id] = target.name
        elif content_type == "text/plain" and not part.get_filename():
            target = out / f"{stem}.txt"
        elif part.get_filename():
            target = out / Path(str(part.get_filename())).name
        else:
            continue
        target.write_bytes(data)
        paths.append(target)
    if html:
        for content_id, name in faces.items():
            html = html.replace(f'src="cid:{content_id}"', f'src="{name}"')
        target = out / f"{stem}.html"
        target.write_text(html, encoding="utf-8")
        paths.insert(0, target)
    return paths
