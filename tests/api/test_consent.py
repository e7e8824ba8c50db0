"""Consent through the HTTP API: no face without it, withdrawal erases, the auditor's pages."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Api


def test_a_face_is_refused_without_consent_and_enrolled_with_it(api: Api, photos: Path) -> None:
    assert api.create("EMP001", consent=False).status == 201
    refused = api.enroll("EMP001", photos / "obama.jpg")
    assert refused.status == 409
    assert refused.json["message"].startswith("employee EMP001 has no consent to biometric notice 2026-12")
    assert api.call("GET", "/employees/EMP001/faces").json["items"] == []

    api.give_consent("EMP001")
    shown = api.call("GET", "/employees/EMP001/consent").json
    assert (shown["required"], shown["current"], shown["notice_version"]) == (True, True, "2026-12")
    [record] = shown["history"]
    assert (record["method"], record["reference"], record["recorded_by"]) == (
        "paper",
        "form-EMP001",
        "sandbox-admins",
    )
    assert api.enroll("EMP001", photos / "obama.jpg").status == 201


def test_withdrawing_consent_starts_the_erasure_and_the_history_outlives_it(api: Api) -> None:
    api.create("EMP001")
    reply = api.call("DELETE", "/employees/EMP001/consent")
    assert reply.status == 202 and reply.json["employee_id"] == "EMP001"
    assert reply.headers["Location"] == f"/erasures/{reply.json['job_id']}"
    assert api.call("GET", "/employees/EMP001").status == 404  # absent from the start of the job
    [record] = api.call("GET", "/employees/EMP001/consent").json["history"]
    assert record["withdrawn_by"] == "sandbox-admins" and record["withdrawn_at"]
    assert api.call("DELETE", "/employees/EMP001/consent").status == 404
    assert api.call("DELETE", "/employees/NOBODY/consent").status == 404


def test_consent_is_for_admins_with_a_known_method_and_an_existing_employee(api: Api) -> None:
    body = {"method": "paper", "reference": "F-1"}
    assert api.call("PUT", "/employees/NOBODY/consent", body).status == 404
    api.create("EMP001", consent=False)
    assert api.call("PUT", "/employees/EMP001/consent", body, token="security").status == 403
    assert api.call("GET", "/consents", token="security").status == 403
    assert api.call("PUT", "/employees/EMP001/consent", {"method": "nod", "reference": "x"}).status == 400
    assert api.call("PUT", "/employees/consent/consent", body).status == 400  # a reserved id


def test_the_export_pages_through_every_consent_with_names(api: Api) -> None:
    for employee_id in ("EMP002", "EMP001", "EMP003"):
        api.create(employee_id, name=f"Person {employee_id}")
    first = api.call("GET", "/consents?limit=2").json
    rest = api.call("GET", f"/consents?limit=2&next_token={first['next_token']}").json
    rows = [*first["items"], *rest["items"]]
    assert [(row["employee_id"], row["name"], row["notice_version"]) for row in rows] == [
        ("EMP001", "Person EMP001", "2026-12"),
        ("EMP002", "Person EMP002", "2026-12"),
        ("EMP003", "Person EMP003", "2026-12"),
    ]
    assert rest["next_token"] is None
    assert api.call("GET", "/consents?next_token=forged").status == 400
