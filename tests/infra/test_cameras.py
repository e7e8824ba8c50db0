"""Camera principals: each camera's credentials may put photos under its own prefix only.

Checked twice: the policy IAM holds for the camera's user, evaluated by the same evaluator as
the functions' policies; and a moto server that enforces IAM (a separate process, so the
shared local AWS of the other tests stays open) refusing one camera's upload to another's.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import cameras
from sandbox.stack import Stack
from tests.infra.iam import ACCOUNT, Request, allowed


@pytest.mark.parametrize("camera_id", ["", "a/b", "x" * 65, "door*", "door?", "[door]", "..", "door one"])
def test_a_camera_id_outside_the_pattern_is_refused(camera_id: str) -> None:
    with pytest.raises(cameras.CameraError):
        cameras.upload_policy("bucket", ACCOUNT, camera_id)


def test_user_names_fit_iam_and_stay_distinct() -> None:
    long_a, long_b = "a" * 63 + "1", "a" * 63 + "2"
    names = {cameras.user_name("prod", camera) for camera in (long_a, long_b, "front-door")}
    assert len(names) == 3 and all(len(name) <= 64 for name in names)
    assert cameras.user_name("dev", "front-door") == "facegate-dev-camera-front-door"


@pytest.mark.fresh_stack
def test_each_camera_may_put_photos_under_its_own_prefix_only(stack: Stack) -> None:
    iam, bucket = stack.session.client("iam"), stack.settings.camera_bucket
    keys = cameras.add(iam, "sandbox", bucket, ACCOUNT, "front-door")
    cameras.add(iam, "sandbox", bucket, ACCOUNT, "back-door")
    with pytest.raises(cameras.CameraError):
        cameras.add(iam, "sandbox", bucket, ACCOUNT, "front-door")
    assert [c.device_id for c in cameras.cameras(iam, "sandbox")] == ["back-door", "front-door"]
    assert keys["key_prefix"] == "incoming/front-door/" and keys["access_key_id"]

    name = cameras.user_name("sandbox", "front-door")
    # The user's rights are its one inline policy: no groups, no managed policies.
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == [cameras.POLICY_NAME]
    assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == []
    assert iam.list_groups_for_user(UserName=name)["Groups"] == []
    document = iam.get_user_policy(UserName=name, PolicyName=cameras.POLICY_NAME)["PolicyDocument"]
    policy = (json.loads(document) if isinstance(document, str) else document)["Statement"]

    def may(
        action: str, key: str, on: str = bucket, account: str = ACCOUNT, **headers: tuple[str, ...]
    ) -> bool:
        bounds = {"aws:ResourceAccount": (account,), "s3:ResourceAccount": (account,)}
        context = bounds | {f"s3:x-amz-{name.replace('_', '-')}": value for name, value in headers.items()}
        return allowed(policy, Request(action, f"arn:aws:s3:::{on}/{key}", context))

    assert may("s3:PutObject", "incoming/front-door/a.jpg")
    assert not may("s3:PutObject", "incoming/back-door/a.jpg")
    assert not may("s3:PutObject", "incoming/front-door-2/a.jpg")  # a longer id is another camera
    assert not may("s3:PutObject", "processed/x.json")
    assert not may("s3:PutObject", "incoming/front-door/a.jpg", on=f"{bucket}-lookalike")
    assert not may("s3:PutObject", "incoming/front-door/a.jpg", account="999999999999")
    for action in ("s3:GetObject", "s3:DeleteObject", "s3:PutObjectAcl", "s3:ListBucket"):
        assert not may(action, "incoming/front-door/a.jpg")
    # Only photos the functions can read back: S3 Standard, no key of the camera's own.
    assert may("s3:PutObject", "incoming/front-door/a.jpg", storage_class=("STANDARD",))
    for archived in ("GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "STANDARD_IA"):
        assert not may("s3:PutObject", "incoming/front-door/a.jpg", storage_class=(archived,))
    own_key = ("AES256",)  # SSE-C: only whoever holds the key may read the photo back
    assert not may(
        "s3:PutObject", "incoming/front-door/a.jpg", server_side_encryption_customer_algorithm=own_key
    )

    old_key = keys["access_key_id"]
    rotated = cameras.rotate(iam, "sandbox", bucket, "front-door")
    live = [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]]
    assert live == [rotated["access_key_id"]] and old_key not in live

    cameras.remove(iam, "sandbox", "front-door")
    assert [c.device_id for c in cameras.cameras(iam, "sandbox")] == ["back-door"]
    with pytest.raises(cameras.CameraError):
        cameras.remove(iam, "sandbox", "front-door")


# The server binds a free port itself and prints it: a port picked here, closed and handed
# over, could be taken meanwhile by another test worker's server.
_SERVE_ON_A_FREE_PORT = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the test closes it
server.stop()
"""


def enforce_iam(endpoint: str) -> None:
    """From now on the server checks every request's IAM (the keys made so far stay valid)."""
    switch = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(switch, timeout=10).close()


@contextlib.contextmanager
def enforcing_moto() -> Iterator[str]:
    """A moto server of our own whose IAM checks can be switched on (they are global in moto)."""
    env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVE_ON_A_FREE_PORT],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())  # printed once the server listens
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _session(key_id: str, secret: str) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1"
    )


def test_an_iam_enforcing_s3_refuses_a_cameras_upload_to_another_cameras_prefix() -> None:
    bucket = f"facegate-test-camera-{ACCOUNT}"
    with enforcing_moto() as endpoint:
        admin = ("admin", "admin")  # before IAM is enforced, any key is the account's root
        _session(*admin).client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        iam = _session(*admin).client("iam", endpoint_url=endpoint)
        keys = cameras.add(iam, "test", bucket, ACCOUNT, "front-door")
        cameras.add(iam, "test", bucket, ACCOUNT, "back-door")
        enforce_iam(endpoint)

        camera = _session(keys["access_key_id"], keys["secret_access_key"]).client(
            "s3", endpoint_url=endpoint
        )
        camera.put_object(Bucket=bucket, Key="incoming/front-door/a.jpg", Body=b"jpeg")
        for key in ("incoming/back-door/a.jpg", "processed/forged.json"):
            with pytest.raises(ClientError) as refused:
                camera.put_object(Bucket=bucket, Key=key, Body=b"jpeg")
            assert refused.value.response["Error"]["Code"] == "AccessDenied"
        with pytest.raises(ClientError) as refused:
            camera.get_object(Bucket=bucket, Key="incoming/front-door/a.jpg")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
