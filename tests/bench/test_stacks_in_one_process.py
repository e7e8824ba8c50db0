"""``make bench`` runs one sandbox stack after another in one process; moto keeps its
resources in the process, not in the server, so each local AWS must start from nothing."""

from __future__ import annotations

from sandbox.stack import running_stack


def test_a_second_stack_in_the_same_process_starts_from_nothing() -> None:
    for _ in range(2):  # the second used to fail: the signing key's alias already existed
        with running_stack() as stack:
            assert stack.s3.list_objects_v2(Bucket=stack.settings.camera_bucket)["KeyCount"] == 0
            stack.s3.put_object(Bucket=stack.settings.camera_bucket, Key="incoming/cam/left.jpg", Body=b"x")
