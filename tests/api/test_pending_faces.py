"""/faces/pending: drop-folder photos held for an admin, through the real S3 adapter (moto)."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Api


def test_a_held_photo_is_listed_approved_once_and_a_rejected_one_purged(api: Api, photos: Path) -> None:
    stack = api.stack
    api.create("EMP010", "Ira Tal")  # no photo yet: the attack's target
    for name in ("a.jpg", "b.jpg"):
        stack.drop("EMP010", name, (photos / "obama.jpg").read_bytes())
    assert all(event.error is None for event in stack.pump(expected=2))
    assert api.call("GET", "/employees/EMP010/faces").json == {"items": []}  # nothing in the gallery
    listed = api.call("GET", "/faces/pending")
    assert listed.status == 200 and len(listed.json["items"]) == 2
    first, second = (face["pending_id"] for face in listed.json["items"])
    assert {face["employee_id"] for face in listed.json["items"]} == {"EMP010"}
    assert api.call("GET", "/faces/pending", token="security").status == 403

    approved = api.call("POST", f"/faces/pending/{first}/approve")
    assert approved.status == 201 and approved.json["employee_id"] == "EMP010"
    assert api.call("POST", f"/faces/pending/{first}/approve").status == 404  # once
    assert api.call("POST", f"/faces/pending/{second}/reject", {"why": "x"}).status == 400
    assert api.call("POST", f"/faces/pending/{second}/reject").status == 204
    assert api.call("GET", "/faces/pending").json == {"items": []}
    assert (
        stack.s3.list_object_versions(Bucket=stack.settings.camera_bucket, Prefix="pending/").get(
            "Versions", []
        )
        == []
    )  # approved and rejected alike: every version gone
    [face] = api.call("GET", "/employees/EMP010/faces").json["items"]
    assert face["face_id"] == approved.json["face_id"]


def test_a_malformed_pending_id_is_400(api: Api) -> None:
    for bad in ("x", "A" * 32, "0" * 33):
        assert api.call("POST", f"/faces/pending/{bad}/approve").status == 400


def test_a_look_alike_pair_is_allowed_listed_and_removed_over_http(api: Api, photos: Path) -> None:
    api.create("EMP001", "Ann Lee")
    api.create("EMP002", "Bea Lee")
    assert api.enroll("EMP001", photos / "obama.jpg").status == 201
    assert api.enroll("EMP002", photos / "obama2.jpg").status == 409  # the guard, as ever
    allowed = api.call("PUT", "/faces/allowed-pairs/EMP002/EMP001")
    assert (allowed.status, allowed.json) == (200, {"employee_ids": ["EMP001", "EMP002"]})
    assert api.call("GET", "/faces/allowed-pairs").json == {"items": [{"employee_ids": ["EMP001", "EMP002"]}]}
    assert api.enroll("EMP002", photos / "obama2.jpg").status == 201  # the twin, allowed
    assert api.call("PUT", "/faces/allowed-pairs/EMP001/EMP001").status == 400
    assert api.call("PUT", "/faces/allowed-pairs/EMP001/NOBODY").status == 404
    assert api.call("GET", "/faces/allowed-pairs", token="security").status == 403
    assert api.call("DELETE", "/faces/allowed-pairs/EMP001/EMP002").status == 204
    assert api.call("DELETE", "/faces/allowed-pairs/EMP001/EMP002").status == 404
    assert api.enroll("EMP002", photos / "obama3.jpg").status == 409
