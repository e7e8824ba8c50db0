"""Remote unlock and lockdown: a signed command straight to the door's own queue, audited.

A lockdown is also stored beside the access policy (a ``Lockdown`` entry, committed like
any change of it), so every camera container sees it at its next scan through the version
token and decides DENIED, ``LOCKDOWN``, for anyone at that door (``policy.decide_access``
asks before any rule). The door agent gets the signed ``lockdown`` command too; the cloud's
refusal does not depend on the door having heard it. A door is any door id, listed in the
policy or not (a camera on no door is a door of its own); it needs a queue
(``make door-add``): without one, a command is refused with ``NotFound`` before anything
is stored, signed or audited.

Each command: the door's queue, the claims and their MAC, the policy change (lockdown and
release only), the audit entry, then the send. Audited before it is sent, so a command a
door may act on always has its entry; a send that fails after it raises (a 500), and the
entry's command id is one no door ever received.

Audit entries: one partition, target ``access/door-commands`` (a ``/`` is never in an
employee id), actions ``door.unlock``, ``door.lockdown``, ``door.release``, details the door,
the caller's reason, the command id and what it changed: who, when, why, what, which door,
and a day of them is one Query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.access.admin import AccessPorts, Change, apply_change
from chalicelib.access.commands import claims_for, expires_at, message_body
from chalicelib.access.policy import AccessSnapshot, Lockdown
from chalicelib.core.errors import DoorLockedDown
from chalicelib.core.local_days import iso_ms
from chalicelib.core.ports import DoorQueues, MessageSigner

AUDIT_TARGET = "access/door-commands"


@dataclass(frozen=True)
class CommandPorts:
    """What remote door commands need (``wiring.api_ports().commands``)."""

    access: AccessPorts  # the policy's store (lockdowns), the audit log and the clock
    signer: MessageSigner  # the door command key, never the decision signing key
    doors: DoorQueues


@dataclass(frozen=True)
class SentCommand:
    """A command on its way: what the API answers (202) and the audit entry names."""

    command_id: str
    door_id: str
    action: str
    seconds: int
    issued_at: str
    expires_at: str  # the door refuses it after this instant

    def to_dict(self) -> dict[str, object]:
        return {
            "command_id": self.command_id,
            "door_id": self.door_id,
            "action": self.action,
            "expires_at": self.expires_at,
        }


def unlock(ports: CommandPorts, door_id: str, actor: str, reason: str, seconds: int) -> SentCommand:
    """Open ``door_id`` for ``seconds``; ``DoorLockedDown`` (nothing sent) while it is locked
    down, ``NotFound`` when it has no queue."""
    address = ports.doors.address(door_id)
    if ports.access.store.load().lockdown_of(door_id) is not None:
        raise DoorLockedDown(f"door {door_id} is locked down: release it first")
    command, body = _signed(ports, door_id, "unlock", seconds, actor)
    _audit(ports, actor, command, reason, seconds=seconds)
    ports.doors.send(address, body)
    return command


def lock_down(ports: CommandPorts, door_id: str, actor: str, reason: str) -> tuple[SentCommand, Lockdown]:
    """Lock ``door_id`` down: stored (the next scan there is DENIED) and sent to the door.
    A door locked down already keeps its lockdown (since, by, why) and is sent the command
    again, audited as such. Returns the command and the lockdown in force."""
    address = ports.doors.address(door_id)
    _signed(ports, door_id, "lockdown", 0, actor)  # the key works: else nothing is stored
    wanted = Lockdown(door_id, iso_ms(ports.access.clock()), actor, reason)
    found: list[Lockdown] = []

    def plan(snapshot: AccessSnapshot) -> Change:
        found[:] = [lockdown for lockdown in snapshot.lockdowns if lockdown.door_id == door_id]
        return Change() if found else Change(put=(wanted,))

    done = apply_change(ports.access, plan)
    # Signed after the commit: of a lockdown and a release racing, the one stored last carries
    # the later issued_at, and the door keeps the later one (door/agent.py).
    command, body = _signed(ports, door_id, "lockdown", 0, actor)
    in_force = found[0] if found else wanted
    _audit(ports, actor, command, reason, already_locked_down=bool(found), **done.details)
    ports.doors.send(address, body)
    return command, in_force


def release(
    ports: CommandPorts, door_id: str, actor: str, reason: str
) -> tuple[SentCommand, Lockdown | None]:
    """End ``door_id``'s lockdown and tell the door. A door with none stored is still sent the
    ``release`` (a door that missed an earlier one stays shut otherwise). Returns the command
    and the lockdown it ended (None when there was none)."""
    address = ports.doors.address(door_id)
    _signed(ports, door_id, "release", 0, actor)  # the key works: else nothing is changed
    found: list[Lockdown] = []

    def plan(snapshot: AccessSnapshot) -> Change:
        found[:] = [lockdown for lockdown in snapshot.lockdowns if lockdown.door_id == door_id]
        return Change(delete=(("lockdown", door_id),)) if found else Change()

    apply_change(ports.access, plan)
    command, body = _signed(ports, door_id, "release", 0, actor)  # after the commit, as lock_down
    ended = found[0] if found else None
    details: dict[str, Any] = {"was_locked_down": ended is not None}
    if ended is not None:
        details |= {"locked_down_since": ended.since, "locked_down_by": ended.actor}
    _audit(ports, actor, command, reason, **details)
    ports.doors.send(address, body)
    return command, ended


def lockdown_of(ports: CommandPorts, door_id: str) -> Lockdown | None:
    """``door_id``'s lockdown as stored now, or None (any door id: an unlisted one is a door)."""
    return ports.access.store.load().lockdown_of(door_id)


def _signed(
    ports: CommandPorts, door_id: str, action: str, seconds: int, actor: str
) -> tuple[SentCommand, str]:
    issued = ports.access.clock()
    claims = claims_for(door_id, action, seconds, actor, issued, ports.signer.key_id)
    body = message_body(claims, ports.signer)
    command = SentCommand(
        str(claims["command_id"]), door_id, action, seconds, iso_ms(issued), expires_at(issued)
    )
    return command, body


def _audit(ports: CommandPorts, actor: str, command: SentCommand, reason: str, **extra: Any) -> None:
    ports.access.log(
        actor,
        f"door.{command.action}",
        AUDIT_TARGET,
        door_id=command.door_id,
        reason=reason,
        command_id=command.command_id,
        issued_at=command.issued_at,
        **extra,
    )
