"""``facegate consent …`` on a recording client (the routes are tests/api/test_consent.py's),
and the roster's consent columns."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, cast

import pytest

from facegate_cli.__main__ import parser
from facegate_cli.client import ApiClient
from facegate_cli.context import Context
from facegate_cli.roster import parse

ROW = {
    "notice_version": "2026-12",
    "given_at": "2026-03-10T09:30:00.000Z",
    "method": "paper",
    "reference": "F-1",
    "recorded_by": "alice",
    "withdrawn_at": None,
    "withdrawn_by": None,
}


class Recording:
    """The API's answers for consent: two pages of export, and what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        self.sent.append(("GET", path, params))
        if params and params.get("next_token") == "p2":
            erased = {**ROW, "employee_id": "EMP002", "name": "", "withdrawn_at": "2026-04-01T00:00:00.000Z"}
            return {"items": [{**erased, "withdrawn_by": "bob"}], "next_token": None}
        return {"items": [{**ROW, "employee_id": "EMP001", "name": "=HYPERLINK(x)"}], "next_token": "p2"}

    def put(self, path: str, body: object) -> Any:
        self.sent.append(("PUT", path, body))
        return {**ROW, "employee_id": "EMP001"}


def run(client: Recording, *argv: str) -> int:
    args = parser().parse_args(list(argv))
    return int(args.run(args, Context(stage_name="sandbox", json=False, _client=cast(ApiClient, client))))


def test_export_writes_every_page_as_the_auditors_csv(tmp_path: Path) -> None:
    client, out = Recording(), tmp_path / "consents.csv"
    assert run(client, "consent", "export", "-o", str(out)) == 0
    rows = list(csv.DictReader(out.open(newline="")))
    assert list(rows[0]) == [
        "employee_id",
        "name",
        "notice_version",
        "given_at",
        "method",
        "reference",
        "recorded_by",
        "withdrawn_at",
        "withdrawn_by",
    ]
    assert [(r["employee_id"], r["name"], r["withdrawn_by"]) for r in rows] == [
        ("EMP001", "'=HYPERLINK(x)", ""),  # a formula is text to a spreadsheet
        ("EMP002", "", "bob"),
    ]
    assert [params["next_token"] for _, _, params in client.sent if params and "next_token" in params] == [
        "p2"
    ]


def test_give_sends_the_method_and_reference() -> None:
    client = Recording()
    assert run(client, "consent", "give", "EMP001", "--method", "e-signature", "--reference", "sig-9") == 0
    assert client.sent == [
        ("PUT", "/employees/EMP001/consent", {"method": "e-signature", "reference": "sig-9"})
    ]


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ("paper,", "consent needs both"),
        (",F-1", "consent needs both"),
        ("nod,F-1", "bad consent_method"),
    ],
)
def test_a_roster_row_with_half_or_a_wrong_consent_is_refused(cells: str, reason: str) -> None:
    header = "employee_id,name,email,department,photos,consent_method,consent_reference\n"
    plan = parse(header + f"E1,Ada,,,,{cells}\nE2,Bo,,,,paper,F-2\n", lambda _: True)
    [refusal] = plan.refused
    assert refusal.employee_id == "E1" and refusal.reason.startswith(reason)
    assert [(p.employee_id, p.consent) for p in plan.people] == [("E2", ("paper", "F-2"))]
