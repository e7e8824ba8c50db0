"""The /employees routes: success and every error, pagination, photos, erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from tests.api.conftest import Api, b64
from tests.images import encoded, two_tone


def test_create_get_and_conflict(api: Api) -> None:
    created = api.create("EMP001", "Avery Stone", email="avery@example.com", department="R&D")
    assert created.status == 201
    assert created.json == {
        "employee_id": "EMP001",
        "name": "Avery Stone",
        "active": True,
        "email": "avery@example.com",
        "department": "R&D",
        "groups": [],  # access groups: PUT /access-groups/{group_id}/members/{employee_id}
        "inactive_since": None,  # the retention clocks (docs/security/privacy.md)
        "enrolled_at": None,
        "last_seen": None,
    }
    assert api.call("GET", "/employees/EMP001", token="security").json == created.json
    duplicate = api.create("EMP001", "Someone Else")
    assert duplicate.status == 409 and "already exists" in duplicate.json["message"]


def test_suspending_starts_the_retention_clock_and_reactivating_clears_it(api: Api) -> None:
    api.create("EMP001", "Avery Stone")
    suspended = api.call("PATCH", "/employees/EMP001", {"active": False}).json
    assert suspended["active"] is False and suspended["inactive_since"].endswith("Z")
    again = api.call("PATCH", "/employees/EMP001", {"active": False, "name": "Avery S."}).json
    assert again["inactive_since"] == suspended["inactive_since"]  # suspended since the first time
    assert api.call("PATCH", "/employees/EMP001", {"active": True}).json["inactive_since"] is None


def test_html_and_non_ascii_names_are_kept_exactly(api: Api) -> None:
    name = "<script>alert('x')</script> Zoë Ñúñez 東京"
    assert api.create("EMP002", name).json["name"] == name
    assert api.call("GET", "/employees/EMP002").json["name"] == name


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "No Id"}, "employee_id is required"),
        ({"employee_id": "E1"}, "name is required"),
        ({"employee_id": 7, "name": "A"}, "employee_id is required and must be a string"),
        ({"employee_id": "E1", "name": 5}, "name must be a string"),
        ({"employee_id": "E1", "name": "   "}, "name must be 1–200 characters"),
        ({"employee_id": "E1", "name": "x" * 201}, "name must be 1–200 characters"),
        ({"employee_id": "E1", "name": "A\nB"}, "control characters"),
        ({"employee_id": "E1", "name": "A\u2028Status: AUTHORIZED"}, "control characters"),
        ({"employee_id": "E1", "name": "Eve\u202egnp.exe"}, "control characters"),
        ({"employee_id": "E1", "name": "A\x85B"}, "control characters"),
        ({"employee_id": "E1", "name": "lone \ud800 surrogate"}, "control characters"),
        ({"employee_id": "E1", "name": "Ana", "department": "R\u200fD"}, "control characters"),
        ({"employee_id": "E 1", "name": "A"}, "employee_id must be"),
        ({"employee_id": "E" * 65, "name": "A"}, "employee_id must be"),
        ({"employee_id": "E/1", "name": "A"}, "employee_id must be"),
        ({"employee_id": "..", "name": "A"}, "employee_id must be"),  # a path segment, not an id
        ({"employee_id": ".", "name": "A"}, "employee_id must be"),
        ({"employee_id": "daily-report", "name": "A"}, "is reserved"),  # the report's audit target
        ({"employee_id": "E1", "name": "A", "email": "not-an-email"}, "email is not an email address"),
        ({"employee_id": "E1", "name": "A", "role": "admin"}, "unknown field: role"),
    ],
)
def test_invalid_new_employees_are_400(api: Api, body: dict[str, Any], message: str) -> None:
    reply = api.call("POST", "/employees", body)
    assert reply.status == 400
    assert message in reply.json["message"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_bodies_are_400(api: Api, raw: bytes, message: str) -> None:
    reply = api.call("POST", "/employees", raw=raw)
    assert reply.status == 400 and message in reply.json["message"]


def test_an_oversized_body_is_413(api: Api) -> None:
    raw = json.dumps({"employee_id": "E1", "name": "x" * (8 * 1024 * 1024)}).encode()
    assert api.call("POST", "/employees", raw=raw).status == 413


def test_unknown_and_malformed_ids_in_the_path(api: Api) -> None:
    assert api.call("GET", "/employees/NOPE").status == 404
    assert api.call("GET", "/employees/NOPE").json == {"message": "no employee NOPE"}
    assert api.call("GET", "/employees/" + "x" * 65).status == 400
    assert api.call("GET", "/employees/a%20b").status == 400


def test_patch_changes_name_and_suspends(api: Api) -> None:
    api.create("EMP001", "Avery Stone")
    reply = api.call("PATCH", "/employees/EMP001", {"name": "Avery Stone-Lee", "active": False})
    assert reply.status == 200
    assert (reply.json["name"], reply.json["active"]) == ("Avery Stone-Lee", False)
    assert api.call("GET", "/employees/EMP001").json["active"] is False


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"active": "no"}, 400),
        ({"employee_id": "E2"}, 400),
        ({"name": ""}, 400),
        ({"email": None}, 200),
    ],
)
def test_patch_validation(api: Api, body: dict[str, Any], status: int) -> None:
    api.create("EMP001", email="a@example.com")
    assert api.call("PATCH", "/employees/EMP001", body).status == status


def test_patch_unknown_employee_is_404(api: Api) -> None:
    assert api.call("PATCH", "/employees/NOPE", {"name": "X"}).status == 404


def test_a_malformed_request_is_400_before_anything_is_looked_up(api: Api) -> None:
    assert api.call("GET", "/employees/NOPE/scans").status == 404
    refused = api.call("GET", "/employees/NOPE/scans?limit=0")
    assert refused.status == 400 and "limit" in refused.json["message"]
    assert api.call("PATCH", "/employees/NOPE", {"name": 5}).status == 400


def test_listing_pages_through_every_employee_once(api: Api) -> None:
    for number in range(7):
        api.create(f"EMP{number:03}")
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        suffix = f"&next_token={token}" if token else ""
        reply = api.call("GET", f"/employees?limit=3{suffix}", token="security")
        assert reply.status == 200
        seen += [item["employee_id"] for item in reply.json["items"]]
        pages += 1
        token = reply.json["next_token"]
        if token is None:
            break
    assert sorted(seen) == [f"EMP{n:03}" for n in range(7)]
    assert pages >= 3


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=abc", "next_token=forged!", "next_token=e30"]
)
def test_bad_paging_parameters_are_400(api: Api, query: str) -> None:
    assert api.call("GET", f"/employees?{query}").status == 400


def test_enroll_list_and_remove_a_face(api: Api, photos: Path) -> None:
    api.create("EMP001")
    enrolled = api.enroll("EMP001", photos / "obama.jpg")
    assert enrolled.status == 201
    face_id = enrolled.json["face_id"]
    assert enrolled.json["engine"] == "local"
    assert api.call("GET", "/employees/EMP001/faces", token="security").json["items"][0]["face_id"] == face_id
    assert api.call("DELETE", f"/employees/EMP001/faces/{face_id}").status == 204
    assert api.call("GET", "/employees/EMP001/faces").json["items"] == []
    assert api.call("DELETE", f"/employees/EMP001/faces/{face_id}").status == 404


@pytest.mark.parametrize(
    ("photo", "message"),
    [("coffee.png", "no face"), ("group.jpg", "6 faces in the photo")],
)
def test_the_quality_gate_answers_422_with_the_reason(
    api: Api, photos: Path, photo: str, message: str
) -> None:
    api.create("EMP001")
    reply = api.enroll("EMP001", photos / photo)
    assert reply.status == 422 and message in reply.json["message"]


def test_a_tiny_or_blurred_face_is_422(api: Api, photos: Path) -> None:
    from PIL import Image, ImageFilter

    api.create("EMP001")
    blurred = Image.open(photos / "obama2.jpg").filter(ImageFilter.GaussianBlur(6))  # sharpness ≈ 12
    reply = api.call("POST", "/employees/EMP001/faces", {"image": b64(encoded(blurred, "JPEG"))})
    assert reply.status == 422 and "blurred" in reply.json["message"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"image": "***not base64***"}, 400, "not valid base64"),
        ({"image": ""}, 400, "image is required"),
        ({"picture": "aGVsbG8="}, 400, "unknown field"),
        ({"image": b64(b"hello, not a photo")}, 422, "not an image"),
        ({"image": b64(encoded(two_tone(), "GIF"))}, 422, "unsupported image format GIF"),
        ({"image": b64(b"\xff" * (5 * 1024 * 1024 + 1))}, 413, "image over"),
    ],
)
def test_bad_photos(api: Api, body: dict[str, Any], status: int, message: str) -> None:
    api.create("EMP001")
    reply = api.call("POST", "/employees/EMP001/faces", body)
    assert reply.status == status and message in reply.json["message"]


def test_enrolling_for_an_unknown_employee_is_404(api: Api, photos: Path) -> None:
    assert api.enroll("NOPE", photos / "obama.jpg").status == 404


def test_a_data_url_is_accepted(api: Api, photos: Path) -> None:
    api.create("EMP001")
    data_url = "data:image/jpeg;base64," + b64((photos / "obama.jpg").read_bytes())
    assert api.call("POST", "/employees/EMP001/faces", {"image": data_url}).status == 201


def test_erase_removes_faces_photos_and_identity_and_is_audited(api: Api, photos: Path) -> None:
    stack = api.stack
    api.create("EMP001", "Avery Stone")
    api.enroll("EMP001", photos / "obama.jpg")
    key = stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    stack.pump(expected=1)
    [scan] = api.call("GET", "/employees/EMP001/scans").json["items"]
    assert scan["status"] == "AUTHORIZED"

    reply = api.call("DELETE", "/employees/EMP001")
    assert reply.status == 202
    job_id = reply.json["job_id"]
    assert reply.headers["Location"] == f"/erasures/{job_id}"
    assert (reply.json["status"], reply.json["employee_id"]) == ("QUEUED", "EMP001")
    assert api.call("GET", "/employees/EMP001").status == 404  # absent as soon as erasure starts
    again = api.call("DELETE", "/employees/EMP001")
    assert (again.status, again.json["job_id"]) == (202, job_id)  # the running job, not a second one
    assert api.call("GET", f"/erasures/{job_id}", token="security").status == 403

    handled = stack.run_erasures()
    assert handled and all(event.error is None for event in handled)
    job = api.call("GET", f"/erasures/{job_id}").json
    assert job["status"] == "DONE" and job["finished_at"]
    assert job["result"] == {
        "faces_removed": 1,
        "unlinked_photos_found": 0,
        "scans_anonymised": 1,
        "scans_purged": 0,
        "in_flight_purged": 0,
        "photos_deleted": 1,
    }
    assert scan["scan_id"] not in str(job)  # counts only: the id would say where they were seen

    assert api.call("GET", "/employees/EMP001").status == 404
    anonymised = api.call("GET", f"/scans/{scan['scan_id']}").json
    assert anonymised["status"] == "AUTHORIZED" and anonymised["employee_id"] is None
    assert anonymised["employee_name"] is None
    bucket = stack.settings.camera_bucket
    versions = stack.s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    assert versions == []
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=bucket, Prefix="processed/")
    faces = stack.session.client("dynamodb").scan(TableName=stack.settings.faces_table)["Items"]
    assert [item for item in faces if item["employee_id"]["S"] == "EMP001"] == []
    recognised = api.call("POST", "/recognize", {"image": b64((photos / "obama2.jpg").read_bytes())})
    assert recognised.json["status"] == "UNKNOWN"
    audit = stack.session.client("dynamodb").scan(TableName=stack.settings.audit_table)["Items"]
    actions = {
        (item["action"]["S"], item["actor"]["S"]) for item in audit if "action" in item
    }  # not consents
    assert ("employee.erase", "sandbox-admins") in actions
    assert ("face.enroll", "sandbox-admins") in actions
    assert api.call("DELETE", "/employees/EMP001").status == 404
    wiring.reset()


@pytest.mark.parametrize("job_id", ["0" * 32, "not-a-job", "A" * 32])
def test_unknown_erasure_jobs_are_404(api: Api, job_id: str) -> None:
    reply = api.call("GET", f"/erasures/{job_id}")
    assert reply.status == 404 and "no erasure job" in reply.json["message"]
