"""The camera bucket's key layout: ``<incoming prefix><camera-id>/<file>``, and what a camera id may be.

A camera id names a door in alerts, reports and IAM policies (each camera may write only
its own prefix), so it is a defined, safe set: 1–64 letters, digits, ``-``, ``_`` and
``.``, not only dots. Anything else is refused before the photo is looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CAMERA_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
CAMERA_ID_RULE = "1–64 characters of A–Z, a–z, 0–9, '-', '_', '.' (not only dots)"
# Recorded in place of a camera id for keys that name none we accept; both fall outside
# CAMERA_ID, so no real camera can carry them.
NO_CAMERA = "(none)"
INVALID_CAMERA = "(invalid)"


def is_camera_id(value: str) -> bool:
    """Whether ``value`` is a camera id we accept."""
    return CAMERA_ID.fullmatch(value) is not None and value.strip(".") != ""


@dataclass(frozen=True)
class CameraKey:
    """What a key says about its camera: the id to record, or why the key is refused."""

    camera_id: str
    problem: str | None = None


def camera_of(key: str, incoming_prefix: str) -> CameraKey:
    """The camera of ``<incoming_prefix><camera-id>/<file>``, or the reason the key is refused."""
    layout = f"{incoming_prefix}<camera-id>/<file>"
    if not key.startswith(incoming_prefix):
        return CameraKey(NO_CAMERA, f"key is not {layout}")
    camera, _, name = key[len(incoming_prefix) :].partition("/")
    if not camera or not name or name.endswith("/"):
        return CameraKey(NO_CAMERA, f"key is not {layout}")
    if not is_camera_id(camera):
        return CameraKey(INVALID_CAMERA, f"camera id is not {CAMERA_ID_RULE}")
    return CameraKey(camera)
