"""What the public pages state, read from a stage's settings: one reading for the biometric
notice (``docs/hooks/notice_page.py``) and the retention schedule, so the two never differ.

The figures are the code's own: ``Settings.from_env`` over the stage's variables in
``.chalice/config.json`` (defaults included), so a page can never promise what a stage does
not do. The retention figures for faces (``FACEGATE_RETENTION_INACTIVE_DAYS``,
``FACEGATE_RETENTION_NO_SCAN_MONTHS``) are read here with the defaults issue 28 fixes until
``Settings`` carries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.config import Settings
from infra.stage import CHALICE_CONFIG, stage_variables

PUBLISHED_STAGE = "prod"  # the stage a site's public pages describe (FACEGATE_DOCS_STAGE overrides)
INACTIVE_DAYS, NO_SCAN_MONTHS, MAX_NO_SCAN_MONTHS = 30, 36, 36  # BIPA: three years at the latest


@dataclass(frozen=True)
class PublishedFigures:
    """The numbers a public policy states."""

    stage: str
    consent_required: bool
    notice_version: str
    records_days: int  # scan records, camera photos, processed copies and logs (FACEGATE_RETENTION_DAYS)
    inactive_days: int  # faces of a suspended or deactivated employee, erased after this
    no_scan_months: int  # faces of an employee not scanned for this long, erased (36 at most)


def figures(stage: str = PUBLISHED_STAGE, config_path: Path = CHALICE_CONFIG) -> PublishedFigures:
    """The published figures of ``stage``; ``KeyError`` for a stage config.json lacks."""
    variables = stage_variables(stage, config_path)
    settings = Settings.from_env(variables)
    inactive = getattr(settings, "retention_inactive_days", None)
    no_scan = getattr(settings, "retention_no_scan_months", None)
    return PublishedFigures(
        stage=stage,
        consent_required=settings.consent.required,
        notice_version=settings.consent.notice_version,
        records_days=settings.retention_days,
        inactive_days=int(
            inactive if inactive is not None else _whole(variables, "INACTIVE_DAYS", INACTIVE_DAYS)
        ),
        no_scan_months=min(
            MAX_NO_SCAN_MONTHS,
            int(no_scan if no_scan is not None else _whole(variables, "NO_SCAN_MONTHS", NO_SCAN_MONTHS)),
        ),
    )


def _whole(variables: dict[str, str], name: str, default: int) -> int:
    raw = variables.get(f"FACEGATE_RETENTION_{name}", "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else default
