"""MkDocs hook: the published retention schedule, rendered from the stages' settings at build time.

BIPA requires a written, public retention schedule; it must say what the code does, so the page
is made from the same settings the code reads: ``.chalice/config.json``'s variables, per stage,
through ``Settings.from_env`` and ``chalicelib.core.retention.schedule_rows`` (the one place that
turns settings into figures; the consent notice's page may reuse it). A setting the code would
refuse (more than 36 months) fails the build as it would fail the function.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "security/retention-schedule.md"
CONFIG = ".chalice/config.json"  # relative to the project root (where mkdocs.yml is)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated page to the site's files (it is named in the nav like any other)."""
    root = Path(config.config_file_path).parent
    if str(root) not in sys.path:  # the schedule's figures come from this tree's chalicelib
        sys.path.insert(0, str(root))
    chalice = json.loads((root / CONFIG).read_text(encoding="utf-8"))
    files.append(File.generated(config, PAGE, content=render(chalice)))
    return files


def render(chalice: dict[str, Any]) -> str:
    """The whole page: how retention works, then one schedule per stage."""
    from chalicelib.core.config import Settings
    from chalicelib.core.retention import schedule_rows
    from infra.stage import variables_of

    out = [
        "# Retention schedule",
        "",
        "*Generated when the site is built from each stage's settings in `.chalice/config.json` "
        "([settings](../settings.md)) by `chalicelib.core.retention.schedule_rows`: the figures "
        "below are the ones the code reads.*",
        "",
        "facegate keeps a face template (and the employee record it belongs to) only while the "
        "employee uses the doors. Two clocks run on every employee record, and the earlier one "
        "decides:",
        "",
        "- **inactive**: from the moment an admin (or the identity provider) sets `active: false` "
        "(`inactive_since`); reactivating stops and clears it;",
        "- **no scan**: from their newest scan (`last_seen`, read daily from the scans' "
        "`by_employee` index), or from their first enrolled face while they were never scanned "
        "(`enrolled_at`).",
        "",
        "The `retention_sweep` function runs hourly: the first run of each site day goes through "
        "every employee (later runs resume a large site's sweep where it stopped, then do nothing "
        "until the next day). An employee due by the end of that day is erased by the "
        "[erasure job](privacy.md) (the same as `DELETE /employees/{id}`, audited with actor "
        "`retention`): their faces, enrollment photos, named scan records and photos, access-rule "
        "entries and finally the employee record itself. Admins get one notice on the admins' "
        "topic per employee and due date, as soon as the due date is within the inactive days; "
        "the daily report lists the day's retention erasures and who is due within that window.",
        "",
    ]
    for stage in chalice.get("stages", {}):
        settings = Settings.from_env(variables_of(chalice, stage))
        out += [
            f"## Stage `{stage}`",
            "",
            "| what is kept | for how long | how it is destroyed | by |",
            "| --- | --- | --- | --- |",
        ]
        for row in schedule_rows(settings):
            out.append(f"| {row.kept} | {row.how_long} | {row.destroyed} | {row.by} |")
        out.append("")
    out += [
        "What no erasure reaches (point-in-time backups for 35 days, notifications already "
        "delivered, the audit's employee ids) is listed in [Failure, retention and privacy]"
        "(privacy.md).",
        "",
    ]
    return "\n".join(out)
