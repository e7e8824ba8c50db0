"""MkDocs hook: the published biometric notice, generated from the stage's settings at build time.

BIPA asks for a public written policy: what is collected, why, how long it is kept, how it is
destroyed, and (for the consent it asks for) which version of the notice a person agreed to.
The figures come from ``infra.published.figures`` (the stage's own settings, defaults
included), so this page states what the code does. The retention schedule's page, where
present, is linked rather than repeated.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "security/biometric-notice.md"
SCHEDULE = "security/retention-schedule.md"  # the retention schedule's generated page

if TYPE_CHECKING:
    from infra.published import PublishedFigures


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated notice to the site's files (named in the nav like any other page)."""
    from infra.published import PUBLISHED_STAGE, figures

    stage = os.environ.get("FACEGATE_DOCS_STAGE", PUBLISHED_STAGE)
    has_schedule = files.get_file_from_path(SCHEDULE) is not None
    files.append(File.generated(config, PAGE, content=render(figures(stage), has_schedule)))
    return files


def render(published: PublishedFigures, has_schedule: bool = False) -> str:
    """The notice's Markdown for ``published``."""
    p: dict[str, object] = dict(published.__dict__)
    required = "required" if p["consent_required"] else "asked for (this stage does not enforce it)"
    schedule = (
        "The full [retention schedule](retention-schedule.md) lists every kind of record."
        if has_schedule
        else ""
    )
    return f"""# Biometric information notice (version {p["notice_version"]})

*Generated from the settings of stage `{p["stage"]}` when this site is built
(`FACEGATE_CONSENT_NOTICE_VERSION`, `FACEGATE_RETENTION_*`); edit the settings, not this page.*

**What is collected.** A face template (a biometric identifier) computed from one or more
photos of your face, taken at enrollment; the enrollment photos themselves are deleted once
the template is made. At the door, each photo of the camera is compared with the enrolled
templates. No age, gender or emotion is inferred. Your consent record (this notice's version,
when and how you gave it, who recorded it) is kept too: it holds no biometric data.

**Why.** Only to decide whether the door opens for you, and to show security who was at a
door. Templates are not sold, leased, traded or disclosed for any other purpose.

**Consent.** Your written consent to this version of the notice is {required} before any
template of yours is stored. A consent to an earlier version still covers the templates
stored under it; a new template needs consent to the version in force. You may withdraw it
at any time: your templates are then destroyed as described below.

**How long it is kept.** Your templates are destroyed when the purpose ends, and at the
latest:

| when | your templates are destroyed |
| --- | --- |
| you withdraw consent, or your employer erases your record | at once (an erasure job, minutes) |
| you are suspended or deactivated | {p["inactive_days"]} days after |
| you have not been seen at a door | {p["no_scan_months"]} months after your last scan (never more than 36) |

Door photos and records of each scan are kept {p["records_days"]} days. {schedule}

**How it is destroyed.** Templates are deleted from the face gallery (and the packed copy
every door function starts from), door photos that show you are deleted with every stored
version, and records that name you are stripped of your identity
([erasure](privacy.md)).
"""
