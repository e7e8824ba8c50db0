"""Camera uploads that would keep Pillow busy past the Lambda timeout: one REJECTED record each."""

from __future__ import annotations

from sandbox.hostile_images import animated_png, cached, issue_11_jpeg, png_of_zeros
from sandbox.stack import Stack


def test_decode_time_traps_from_a_camera_are_rejected_with_their_reason(stack: Stack) -> None:
    uploads = {
        "issue-11.jpg": (issue_11_jpeg(), "JPEG scans walk"),
        # 310 kB on the wire, 320 MB of 16-bit RGBA samples to inflate at 40 MP.
        "deep.png": (cached("rgba16-40mp.png", lambda: png_of_zeros(7300, 5470, 16, 6)), "inflates to"),
        "animated.png": (animated_png(), "animated PNG"),
    }
    keys = {stack.upload("front-door", name, data): name for name, (data, _) in uploads.items()}
    handled = stack.pump(expected=len(keys))
    assert [event.error for event in handled] == [None] * len(keys)

    records = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    by_key = {item["object_key"]["S"]: item for item in records}
    assert set(by_key) == set(keys)
    for key, name in keys.items():
        assert by_key[key]["status"]["S"] == "REJECTED", (name, by_key[key])
        assert uploads[name][1] in by_key[key]["reason"]["S"], (name, by_key[key]["reason"]["S"])
