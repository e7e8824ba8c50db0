"""Decode-time traps sent to the API: /recognize and enrollment answer 422 at once, with the reason."""

from __future__ import annotations

from sandbox.hostile_images import animated_png, flat_progressive, issue_11_jpeg, repeated_last_scan
from tests.api.conftest import Api, b64


def test_recognize_refuses_the_file_of_issue_11_from_its_structure(api: Api) -> None:
    reply = api.call("POST", "/recognize", {"image": b64(issue_11_jpeg())}, token="security")
    assert reply.status == 422
    assert "JPEG scans walk" in reply.json["message"] and "too slow to decode" in reply.json["message"]


def test_enrollment_refuses_repeated_scans_and_animated_pngs(api: Api) -> None:
    api.create("EMP001")
    repeated = repeated_last_scan(flat_progressive(320, 240), 40)
    for photo, message in ((repeated, "over 32 JPEG scans"), (animated_png(), "animated PNG")):
        reply = api.call("POST", "/employees/EMP001/faces", {"image": b64(photo)})
        assert reply.status == 422 and message in reply.json["message"], reply.json
    assert api.call("GET", "/employees/EMP001/faces").json["items"] == []
