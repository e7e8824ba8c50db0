"""The door's lockdown as the agent holds it: on disk, so a restart stays locked down, and
ordered by when the API signed each command, so a lockdown and a release that race in the
queue leave the door in the state the cloud stored last (``access.remote`` signs after storing).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE = "lockdown.json"
UNREADABLE = {"locked": True, "issued_at": ""}  # a state that cannot be read keeps the door locked


class LockdownState:
    """``state_dir/lockdown.json``: ``{"locked", "issued_at", "actor", "command"}``."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / FILE

    @property
    def locked(self) -> bool:
        return bool(self.held().get("locked"))

    def held(self) -> dict[str, Any]:
        """The last lockdown or release acted on; {} for none; locked when unreadable."""
        try:
            state = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError):
            log.error("lockdown state unreadable: the door stays locked down until a release")
            return dict(UNREADABLE)
        return state if isinstance(state, dict) else dict(UNREADABLE)

    def accept(self, locked: bool, issued_at: str, actor: str, command_id: str) -> bool:
        """Keep this lockdown (``locked``) or release unless a later one is held; whether kept."""
        held = self.held()
        if str(held.get("issued_at", "")) > issued_at:
            what = "lockdown" if held.get("locked") else "release"
            log.warning(
                "command %s ignored: the door holds a later %s (issued %s)",
                command_id,
                what,
                held.get("issued_at"),
            )
            return False
        state = {"locked": locked, "issued_at": issued_at, "actor": actor, "command": command_id}
        write_json_atomically(self._path, state)
        return True


def write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    """``document`` at ``path`` whole or not at all (a power cut leaves the old file)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w") as file:
        json.dump(document, file, indent=2, sort_keys=True, default=str)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
