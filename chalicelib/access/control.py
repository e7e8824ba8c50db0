"""The access policy at the door: one container's cached policy, and the admission step.

``CurrentPolicy`` reads the store's version token on every scan (one consistent GetItem)
and everything else only when that token moved, so a rule change is seen by the very next
scan and an unchanged policy costs one small read. ``admit`` turns a recognised, active
employee's AUTHORIZED into DENIED when no rule lets them through this door at each instant
the scan is judged at (``scanning.freshness``), or the camera is on no door of a site
policy, and into ERROR when the policy cannot be read: the door stays shut either way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from chalicelib.access.policy import UNKNOWN_CAMERA_REASON, AccessPolicy, Verdict, decide_access
from chalicelib.access.ports import AccessStore
from chalicelib.core.models import Decision, Employee, Reason, Status

log = logging.getLogger(__name__)


class CurrentPolicy:
    """The access policy as this container last loaded it, reloaded when the version moves."""

    def __init__(self, store: AccessStore, timezone: str) -> None:
        self._store = store
        self._timezone = timezone
        self._cached: AccessPolicy | None = None
        self._lock = threading.Lock()  # one load at a time when threads share a container

    def get(self) -> AccessPolicy:
        """The policy at the store's current version (or one written after it): one version
        read per call, a full load only when the version differs from the cached policy's."""
        version = self._store.version()
        cached = self._cached
        if cached is not None and cached.version == version:
            return cached
        with self._lock:
            cached = self._cached
            if cached is not None and cached.version == version:
                return cached
            # Labelled with the version the load read, which may be newer than ``version``:
            # the next call then finds the version it reads and loads nothing.
            policy = self._store.load().policy(self._timezone)
            self._cached = policy
            return policy


def at_door(decision: Decision, camera_id: str, access: CurrentPolicy) -> Decision:
    """``decision`` naming the door it was decided for, whatever its status: the door routes it
    to that door's queue and is signed with it. The access policy's door of the camera; the
    camera itself, a door of its own, when the policy cannot be read (only an AUTHORIZED needs
    the policy, and ``admit`` has made that an ERROR already)."""
    if decision.door_id:
        return decision
    try:
        door_id = access.get().door_of(camera_id)
    except Exception:
        log.warning("access policy unreadable: scan routed to the camera's own door", exc_info=True)
        door_id = camera_id
    return replace(decision, door_id=door_id)


def admit(
    decision: Decision,
    employee: Employee | None,
    camera_id: str,
    at: Sequence[datetime],
    access: CurrentPolicy,
) -> Decision:
    """``decision`` once the access policy has been asked about an AUTHORIZED one: still
    AUTHORIZED (with the door and the rule or holiday that let them in), DENIED (with the
    door, the verdict as its reason code, the rule or holiday that refused or came nearest),
    or ERROR (``ACCESS_FAILED``) when the policy cannot be read.

    ``at`` are the instants the policy must allow, every one of them (S3's ``LastModified``
    and the decision time: the narrower window); the first that refuses names the denial.
    With a site policy in force, a camera on no door is DENIED (``UNKNOWN_CAMERA``) unless
    locked down. Anything else passes unchanged: a suspended employee stays UNKNOWN.
    """
    if decision.status is not Status.AUTHORIZED or employee is None:
        return decision
    try:
        if not at:
            raise ValueError("no instant to judge access at")
        policy = access.get()
        door_id = policy.door_of(camera_id)
        verdicts = [
            decide_access(policy, employee.employee_id, employee.groups, door_id, instant) for instant in at
        ]
    except Exception as error:
        log.exception("could not read the access policy")
        return replace(
            decision,
            status=Status.ERROR,
            reason=f"access policy unreadable: {type(error).__name__}",
            reason_code=Reason.ACCESS_FAILED,
        )
    verdict = next((verdict for verdict in verdicts if not verdict.allowed), verdicts[-1])
    if policy.unknown_camera(camera_id) and verdict.verdict is not Verdict.LOCKDOWN:
        return replace(
            decision,
            status=Status.DENIED,
            door_id=door_id,
            reason=UNKNOWN_CAMERA_REASON,
            reason_code=Reason.UNKNOWN_CAMERA,
        )
    admitted = replace(decision, door_id=door_id, access_rule=verdict.rule_id, holiday=verdict.holiday)
    if verdict.allowed:
        return admitted
    # The verdict's text names no one and nothing: ids live in the fields beside it.
    return replace(
        admitted, status=Status.DENIED, reason=verdict.reason, reason_code=Reason(verdict.verdict.value)
    )
