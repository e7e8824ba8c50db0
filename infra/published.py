"""What the public pages state, read from a stage's settings: one reading for the biometric
notice (``docs/hooks/notice_page.py``) and the retention schedule, so the two never differ.

The figures are the code's own: ``Settings.from_env`` over the stage's variables in
``.chalice/config.json`` (defaults included), so a page can never promise what a stage does
not do (the retention figures are ``Settings.retention``'s, as the retention sweep reads them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.config import Settings
from infra.stage import CHALICE_CONFIG, stage_variables

PUBLISHED_STAGE = "prod"  # the stage a site's public pages describe (FACEGATE_DOCS_STAGE overrides)


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
    return PublishedFigures(
        stage=stage,
        consent_required=settings.consent.required,
        notice_version=settings.consent.notice_version,
        records_days=settings.retention_days,
        inactive_days=settings.retention.inactive_days,
        no_scan_months=settings.retention.no_scan_months,
    )
