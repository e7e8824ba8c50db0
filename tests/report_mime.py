"""The daily email as a mail client reads it: the images its HTML shows, the parts that carry them."""

from __future__ import annotations

import re
from email.message import EmailMessage

CID_SOURCE = re.compile(r"""<img\b[^>]*\bsrc="cid:([^"]+)"[^>]*>""")


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("related", "html"))
    html = part.get_body(("html",)) if part is not None and part.is_multipart() else part
    assert isinstance(html, EmailMessage), "the email has no HTML part"
    return str(html.get_content())


def shown_cids(html: str) -> list[str]:
    """The Content-IDs the HTML's images name, in order (each ``<img>`` must name one)."""
    assert html.count("<img") == len(CID_SOURCE.findall(html)), "an <img> that is not an inline part"
    return CID_SOURCE.findall(html)


def inline_images(message: EmailMessage) -> dict[str, bytes]:
    """Every image part by its Content-ID (without the angle brackets)."""
    images = {}
    for part in message.walk():
        if part.get_content_maintype() == "image":
            cid = str(part["Content-ID"] or "").strip().removeprefix("<").removesuffix(">")
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes) and cid, "an image part without a Content-ID"
            images[cid] = payload
    return images
