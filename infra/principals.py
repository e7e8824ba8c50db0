"""Devices' own IAM users (cameras, door agents): one user per device, one inline policy, one key.

Users live under ``/facegate/<stage>/<kind>s/`` and carry the device id as a tag, so listing
needs no naming convention to be reversible. Access keys are returned once, never stored here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

# A device id: the camera id rule (doors share it), safe in S3 keys, IAM names, ARNs and
# fnmatch patterns (no '*', '?', '[' or '/').
DEVICE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_IAM_NAME_LIMIT = 64


class PrincipalError(ValueError):
    """An id that is not valid, or a device that does (or does not) exist."""


@dataclass(frozen=True)
class Device:
    device_id: str
    user_name: str
    created: str


@dataclass(frozen=True)
class Kind:
    """``camera`` or ``door``: the user's path, name and tag, and the policy's name."""

    name: str
    policy_name: str

    @property
    def tag(self) -> str:
        return f"facegate:{self.name}-id"

    def path(self, stage: str) -> str:
        return f"/facegate/{stage}/{self.name}s/"

    def user_name(self, stage: str, device_id: str) -> str:
        """``facegate-<stage>-<kind>-<id>``, shortened with a digest when IAM's 64 characters run out."""
        name = f"facegate-{stage}-{self.name}-{device_id}"
        if len(name) <= _IAM_NAME_LIMIT:
            return name
        digest = hashlib.sha256(device_id.encode()).hexdigest()[:10]
        return f"{name[: _IAM_NAME_LIMIT - len(digest) - 1]}-{digest}"

    def valid_id(self, device_id: str) -> str:
        if not DEVICE_ID.fullmatch(device_id) or set(device_id) == {"."}:
            raise PrincipalError(
                f"{self.name} id {device_id!r} must match {DEVICE_ID.pattern} (and not be dots only)"
            )
        return device_id


def create(iam: IAMClient, kind: Kind, stage: str, device_id: str, policy: dict[str, Any]) -> tuple[str, str]:
    """Create the device's user with its one policy and an access key: (key id, secret)."""
    from botocore.exceptions import ClientError

    name = kind.user_name(stage, kind.valid_id(device_id))
    try:
        iam.create_user(
            Path=kind.path(stage),
            UserName=name,
            Tags=[{"Key": kind.tag, "Value": device_id}, {"Key": "facegate:stage", "Value": stage}],
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "EntityAlreadyExists":
            raise PrincipalError(
                f"{kind.name} {device_id!r} exists in {stage}: rotate its key or remove it"
            ) from None
        raise
    iam.put_user_policy(UserName=name, PolicyName=kind.policy_name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def devices(iam: IAMClient, kind: Kind, stage: str) -> list[Device]:
    """The stage's devices of ``kind``, by id."""
    found = []
    for page in iam.get_paginator("list_users").paginate(PathPrefix=kind.path(stage)):
        for user in page["Users"]:
            tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=user["UserName"])["Tags"]}
            if kind.tag in tags:
                found.append(Device(tags[kind.tag], user["UserName"], str(user["CreateDate"])))
    return sorted(found, key=lambda device: device.device_id)


def rotate(iam: IAMClient, kind: Kind, stage: str, device_id: str) -> tuple[str, str]:
    """A new access key; the old ones stop working at once (reconfigure the device now)."""
    name = existing(iam, kind, stage, device_id)
    old = [key["AccessKeyId"] for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]]
    for key_id in old[1:]:  # IAM allows two keys: make room for the new one first
        iam.delete_access_key(UserName=name, AccessKeyId=key_id)
    created = iam.create_access_key(UserName=name)["AccessKey"]
    for key_id in old[:1]:
        iam.delete_access_key(UserName=name, AccessKeyId=key_id)
    return str(created["AccessKeyId"]), str(created["SecretAccessKey"])


def remove(iam: IAMClient, kind: Kind, stage: str, device_id: str) -> None:
    """Delete the device's keys, its policies and its user: its calls are refused from now on."""
    name = existing(iam, kind, stage, device_id)
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=policy)
    iam.delete_user(UserName=name)


def existing(iam: IAMClient, kind: Kind, stage: str, device_id: str) -> str:
    """The user name of an existing device; ``PrincipalError`` when there is none."""
    name = kind.user_name(stage, kind.valid_id(device_id))
    if not any(device.user_name == name for device in devices(iam, kind, stage)):
        raise PrincipalError(f"no {kind.name} {device_id!r} in {stage}")
    return name
