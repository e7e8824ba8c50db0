"""One IAM user per camera: ``python -m infra.cameras add|list|rotate|remove --stage STAGE [ID]``.

A camera's only right is ``s3:PutObject`` on ``incoming/<its id>/*`` of its stage's bucket,
in this account, in S3 Standard and without SSE-C: a scan's camera id is then the id of the
credentials that wrote the photo, not a claim anyone with upload rights could make. Users
live under the IAM path ``/facegate/<stage>/cameras/`` and carry the camera id as a tag, so
``list`` needs no naming convention to be reversible. Access keys are printed once, never stored here.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from chalicelib.core.keys import camera_key
from infra import principals
from infra.principals import Device as Camera
from infra.principals import PrincipalError as CameraError
from infra.stage import stage_variables

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client

POLICY_NAME = "upload-own-photos"
KIND = principals.Kind("camera", policy_name=POLICY_NAME)
__all__ = ["Camera", "CameraError", "add", "cameras", "main", "remove", "rotate", "upload_policy"]


def valid_id(camera_id: str) -> str:
    return KIND.valid_id(camera_id)


def path(stage: str) -> str:
    return KIND.path(stage)


def user_name(stage: str, camera_id: str) -> str:
    """``facegate-<stage>-camera-<id>``, shortened with a digest when IAM's 64 characters run out."""
    return KIND.user_name(stage, camera_id)


def upload_policy(bucket: str, account: str, camera_id: str) -> dict[str, Any]:
    """PutObject under the camera's own prefix, in the bucket of this account, and nothing else.

    Only photos the functions can read back: in S3 Standard (an archived one refuses GetObject)
    and without a key of the camera's own (SSE-C: only the uploader could read it). Either
    would be a photo erasure cannot look into, and the pipeline an ERROR it cannot decide."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UploadOwnPhotos",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/{camera_key(valid_id(camera_id), '*')}",
                "Condition": {
                    "StringEquals": {"aws:ResourceAccount": account},
                    "StringEqualsIfExists": {"s3:x-amz-storage-class": "STANDARD"},
                    "Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "true"},
                },
            }
        ],
    }


def add(iam: IAMClient, stage: str, bucket: str, account: str, camera_id: str) -> dict[str, str]:
    """Create the camera's user, its one policy and an access key; return what the camera needs."""
    key = principals.create(iam, KIND, stage, camera_id, upload_policy(bucket, account, valid_id(camera_id)))
    return _credentials(key, bucket, camera_id)


def cameras(iam: IAMClient, stage: str) -> list[Camera]:
    """The stage's cameras, by id."""
    return principals.devices(iam, KIND, stage)


def rotate(iam: IAMClient, stage: str, bucket: str, camera_id: str) -> dict[str, str]:
    """A new access key; the old ones stop working at once (reconfigure the camera now)."""
    return _credentials(principals.rotate(iam, KIND, stage, camera_id), bucket, camera_id)


def remove(iam: IAMClient, stage: str, camera_id: str) -> None:
    """Delete the camera's keys, its policy and its user: its uploads are refused from now on."""
    principals.remove(iam, KIND, stage, camera_id)


def _credentials(key: tuple[str, str], bucket: str, camera_id: str) -> dict[str, str]:
    return {
        "camera_id": camera_id,
        "bucket": bucket,
        "key_prefix": camera_key(camera_id, ""),
        "access_key_id": key[0],
        "secret_access_key": key[1],
    }


def _require_bucket(s3: S3Client, bucket: str, account: str, stage: str) -> None:
    """Deployed, and ours: a key for a bucket that is not would be a key for nothing."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except ClientError as error:
        raise CameraError(
            f"no bucket {bucket} of account {account}: run `make deploy STAGE={stage}` first"
        ) from error


HANDOVER = """\
Shown once: give these to the camera (or its upload gateway) over a trusted channel, e.g.
typed into its admin page on the local network, never by email or chat. It uploads with
AWS Signature V4 over HTTPS to s3://{bucket}/{key_prefix}<file>.jpg; any other key is refused.
Lost or leaked: `python -m infra.cameras rotate --stage {stage} {camera_id}`."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cameras", description=__doc__)
    parser.add_argument("command", choices=["add", "list", "rotate", "remove"])
    parser.add_argument("camera_id", nargs="?")
    parser.add_argument("--stage", default="dev")
    args = parser.parse_intermixed_args(argv)  # `add --stage dev ID` as well as `add ID --stage dev`
    import boto3

    session = boto3.session.Session()
    iam = session.client("iam")
    try:
        if args.command == "list":
            for camera in cameras(iam, args.stage):
                print(f"{camera.device_id}\t{camera.user_name}\t{camera.created}")
            return 0
        if not args.camera_id:
            parser.error(f"{args.command} needs a CAMERA_ID")
        bucket = stage_variables(args.stage)["FACEGATE_CAMERA_BUCKET"]
        if args.command == "remove":
            remove(iam, args.stage, args.camera_id)
            print(f"camera {args.camera_id} removed from {args.stage}")
            return 0
        if args.command == "add":
            account = session.client("sts").get_caller_identity()["Account"]
            _require_bucket(session.client("s3"), bucket, account, args.stage)
            credentials = add(iam, args.stage, bucket, account, args.camera_id)
        else:
            credentials = rotate(iam, args.stage, bucket, args.camera_id)
    except CameraError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(credentials, indent=2))
    print(HANDOVER.format(stage=args.stage, **credentials), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
