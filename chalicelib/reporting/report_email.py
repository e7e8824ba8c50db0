"""The daily summary as an email: HTML with a plain-text alternative and the day as CSV.

All user text passes through Jinja2 with autoescaping; the chart is table cells with
background colours (no scripts), which common email clients render. The only images are
the faces of events to review (``thumbnails``), inline parts the HTML names by Content-ID,
so no client has to fetch anything to show them.
"""

from __future__ import annotations

import csv
import io
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.core.display import display_text
from chalicelib.core.models import Status
from chalicelib.reporting.summary import DailySummary
from chalicelib.reporting.thumbnails import Thumbnail

TEMPLATES = Path(__file__).resolve().parent / "templates"
BAR_MAX_PX = 240
CSV_COLUMNS = [
    "scan_id", "captured_at", "local_time", "camera_id", "status", "employee_id",
    "employee_name", "similarity", "faces_in_frame", "reason", "reason_code", "object_key",
    "door_id", "access_rule", "holiday",
]  # fmt: skip


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def subject(summary: DailySummary) -> str:
    if not summary.scans:
        return f"facegate daily summary {summary.day}: no activity"
    entries = sum(person.count for person in summary.admitted)
    alerts = _count(len(summary.alerts) + len(summary.denied), "alert", "alerts")
    denied = f" ({len(summary.denied)} denied)" if summary.denied else ""
    return f"facegate daily summary {summary.day}: {_count(entries, 'entry', 'entries')}, {alerts}{denied}"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def render(summary: DailySummary) -> tuple[str, str]:
    """The HTML and the plain-text body."""
    context = _context(summary)
    html = _environment().get_template("daily_report.html").render(**context)
    text = _environment().get_template("daily_report.txt").render(**context)
    return html, text


def csv_rows(summary: DailySummary) -> str:
    """One row per scan, spreadsheet-safe (cells that could run as formulas are quoted)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for scan in summary.scans:
        row = scan.to_dict()
        if scan.photo_erased:  # the record stays; the name of its deleted photo does not
            row["object_key"] = ""
        row["local_time"] = summary.local_times[scan.scan_id].isoformat(timespec="seconds")
        writer.writerow({column: _cell(row.get(column)) for column in CSV_COLUMNS})
    return buffer.getvalue()


def compose(summary: DailySummary, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """The complete MIME message: multipart/mixed(alternative(text, related(html, faces…)), CSV).

    Each face is one ``image/jpeg`` part whose Content-ID the HTML's ``<img src="cid:…">``
    names; without faces the HTML part stands alone."""
    html, text = render(summary)
    message = EmailMessage()
    message["Subject"] = subject(summary)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    html_part = message.get_body(("html",))
    if not isinstance(html_part, EmailMessage):  # set just above: cannot happen
        raise TypeError("the HTML part is missing")
    for thumbnail in _thumbnails(summary):
        html_part.add_related(
            thumbnail.jpeg,
            maintype="image",
            subtype="jpeg",
            cid=f"<{thumbnail.content_id}>",
            disposition="inline",
        )
    message.add_attachment(
        csv_rows(summary).encode(), maintype="text", subtype="csv", filename=f"facegate-{summary.day}.csv"
    )
    return message


def _thumbnails(summary: DailySummary) -> list[Thumbnail]:
    """Every face the HTML shows, once each (two identical crops share one part)."""
    unique = {alert.thumbnail.content_id: alert.thumbnail for alert in summary.alerts if alert.thumbnail}
    return list(unique.values())


def _context(summary: DailySummary) -> dict[str, Any]:
    change = summary.change()
    most = max(summary.arrivals_by_hour) or 1
    busy = [hour for hour, count in enumerate(summary.arrivals_by_hour) if count]
    hours = range(busy[0], busy[-1] + 1) if busy else range(0)
    return {
        "summary": summary,
        "subject": subject(summary),
        "statuses": [status.value for status in Status],
        "change": change,
        "total_change": None if change is None else change["TOTAL"],
        "faces": any(alert.thumbnail for alert in summary.alerts),
        "bars": [
            {
                "hour": f"{hour:02d}:00",
                "count": summary.arrivals_by_hour[hour],
                "width": max(2, round(BAR_MAX_PX * summary.arrivals_by_hour[hour] / most))
                if summary.arrivals_by_hour[hour]
                else 0,
            }
            for hour in hours
        ],
    }


def _cell(value: object) -> str:
    """One line of text a spreadsheet shows and never runs as a formula."""
    text = str(value) if value is not None else ""
    return "'" + display_text(text) if text[:1] in ("=", "+", "-", "@", "\t", "\r") else display_text(text)
