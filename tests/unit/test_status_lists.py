"""Every list of statuses outside ``models.Status`` names them all: a new status (DENIED)
cannot be forgotten by the API's schema, the CLI's ``--status`` or the docs' table (docs/how-it-works.md)."""

from __future__ import annotations

import re

import yaml

from chalicelib.core.models import Status
from facegate_cli.commands.scans import STATUSES
from sandbox.stack import PROJECT_DIR

ALL = [status.value for status in Status]


def test_the_openapi_status_enum_is_every_status() -> None:
    spec = yaml.safe_load((PROJECT_DIR / "openapi.yaml").read_text())
    assert spec["components"]["schemas"]["Status"]["enum"] == ALL


def test_the_clis_status_choices_are_every_status() -> None:
    assert STATUSES == ALL


def test_the_readme_status_table_has_a_row_per_status() -> None:
    readme = (PROJECT_DIR / "docs" / "how-it-works.md").read_text()
    rows = re.findall(r"^\| `([A-Z_]+)` \|", readme[readme.index("**Decisions**") :], re.MULTILINE)
    assert rows[: len(ALL)] == ALL


def test_the_openapi_reason_code_enum_and_the_docs_reasons_table_are_every_reason() -> None:
    from chalicelib.core.models import Reason

    reasons = [reason.value for reason in Reason]
    spec = yaml.safe_load((PROJECT_DIR / "openapi.yaml").read_text())
    assert spec["components"]["schemas"]["ReasonCode"]["enum"] == reasons
    page = (PROJECT_DIR / "docs" / "how-it-works.md").read_text()
    table = page[page.index("**Reason codes**") :]
    assert re.findall(r"^\| `([A-Z_]+)` \| `", table, re.MULTILINE)[: len(reasons)] == reasons
