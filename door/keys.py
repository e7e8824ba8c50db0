"""The door agent's copy of the bucket's key layout: where it puts photos and door events.

The agent never imports ``chalicelib``; ``tests/door/test_uploader.py`` and
``tests/door/test_agent.py`` pin these to ``chalicelib.core.keys`` on both sides.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

INCOMING_PREFIX = "incoming/"  # as chalicelib.core.keys.INCOMING_PREFIX
DOOR_EVENTS_PREFIX = "door-events/"  # as chalicelib.core.keys.DOOR_EVENTS_PREFIX


def camera_photo_key(camera_id: str, name: str) -> str:
    """Where camera ``camera_id`` puts a photo named ``name`` (``keys.camera_key``'s layout)."""
    return f"{INCOMING_PREFIX}{camera_id}/{name}"


def door_event_key(door_id: str, at: float) -> str:
    """Where door ``door_id``'s agent puts one event: ``door-events/<door>/<UTC time>-<hex>.json``."""
    moment = datetime.fromtimestamp(at, UTC)
    stamp = f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z"
    return f"{DOOR_EVENTS_PREFIX}{door_id}/{stamp}-{secrets.token_hex(8)}.json"
