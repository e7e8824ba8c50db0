"""Photos a door could not upload, kept on its SD card in order until the link comes back.

One file per photo, its metadata in its name, so that a photo is on disk whole or not at
all (written to a temp file, fsync'd, then renamed) and sorting the names is the order to
send them in: ``<taken_at ns, 20 digits>-<seq, 10 digits>+<camera id>+<file name>``. Camera
ids and file names never hold ``+``, so the name reads back unambiguously. Temp files
(``.tmp-*``) are what a crash left mid-write and are removed at start; other names are not
ours and are left alone.

Bounded twice: by bytes (the oldest photos go first, counted, to make room) and by age
(a photo older than ``max_age_seconds`` is dropped, counted, when the spool next looks).
The agent reports the counts (``DoorEventKind.SPOOL_DROPPED``).
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CAMERA_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # as chalicelib.core.keys.CAMERA_ID
FILE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_SPOOLED = re.compile(r"([0-9]{20})-([0-9]{10})\+([A-Za-z0-9_.-]{1,64})\+([A-Za-z0-9_.-]{1,128})")
_TEMPORARY = ".tmp-"
MAX_BYTES = 200 * 1024 * 1024
MAX_AGE_SECONDS = 24 * 3600.0


class SpoolRefused(ValueError):
    """A photo the spool will not keep: too large for it, or named in a way we do not write."""


@dataclass(frozen=True)
class SpooledPhoto:
    """One kept photo: whose, under which file name, taken when (epoch seconds), its size."""

    path: Path
    camera_id: str
    name: str
    taken_at: float
    size: int

    def read(self) -> bytes:
        """The photo's bytes; ``OSError`` when the file is gone."""
        return self.path.read_bytes()


class Spool:
    """A bounded FIFO of photos in ``folder``; thread-safe."""

    def __init__(
        self,
        folder: Path,
        max_bytes: int = MAX_BYTES,
        max_age_seconds: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._folder = folder
        self._max_bytes = max_bytes
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._items: list[SpooledPhoto] = []  # sorted by file name: oldest first
        self._bytes = 0
        self._next_seq = 0
        self.dropped = 0  # photos dropped since start (full, too old, or discarded)
        self.refused = 0  # photos never kept (too large, bad names)
        folder.mkdir(parents=True, exist_ok=True)
        self._load()

    @property
    def count(self) -> int:
        """How many photos are waiting."""
        with self._lock:
            return len(self._items)

    @property
    def size_bytes(self) -> int:
        """The bytes the waiting photos take."""
        with self._lock:
            return self._bytes

    def put(self, camera_id: str, name: str, data: bytes, taken_at: float) -> SpooledPhoto:
        """Keep a photo, dropping the oldest ones when it would not fit otherwise.

        ``SpoolRefused`` for a photo larger than the whole spool, a camera id or file name
        outside the accepted set, or a time that is not one; ``OSError`` when the disk fails.
        """
        problem = _problem(camera_id, name, data, taken_at, self._max_bytes)
        if problem:
            with self._lock:
                self.refused += 1
            log.error("spool refused a photo of camera %.80r: %s", camera_id, problem)
            raise SpoolRefused(problem)
        with self._lock:
            self._drop_old()
            self._make_room(len(data))
            file_name = f"{round(taken_at * 1e9):020d}-{self._next_seq:010d}+{camera_id}+{name}"
            self._next_seq += 1
            path = self._folder / file_name
            _write_whole(path, data)
            item = SpooledPhoto(path, camera_id, name, taken_at, len(data))
            bisect.insort(self._items, item, key=lambda each: each.path.name)
            self._bytes += item.size
            return item

    def oldest(self) -> SpooledPhoto | None:
        """The photo to send next, or None when none waits (too old ones are dropped first)."""
        with self._lock:
            self._drop_old()
            return self._items[0] if self._items else None

    def done(self, item: SpooledPhoto) -> None:
        """Forget ``item``: it was sent."""
        with self._lock:
            self._remove(item)

    def discard(self, item: SpooledPhoto, why: str) -> None:
        """Forget ``item`` unsent, counted as dropped: it can never be sent (``why``)."""
        with self._lock:
            if self._remove(item):
                self.dropped += 1
                log.error("spool dropped photo %s: %s", item.path.name, why)

    def _remove(self, item: SpooledPhoto) -> bool:
        item.path.unlink(missing_ok=True)
        if item not in self._items:
            return False  # already dropped or done
        self._items.remove(item)
        self._bytes -= item.size
        return True

    def _drop_old(self) -> None:
        cutoff = self._clock() - self._max_age
        old = [item for item in self._items if item.taken_at < cutoff]
        for item in old:
            self._remove(item)
        if old:
            self.dropped += len(old)
            log.warning("spool: dropped %d photos older than %.0f s", len(old), self._max_age)

    def _make_room(self, size: int) -> None:
        dropped = 0
        while self._items and self._bytes + size > self._max_bytes:
            self._remove(self._items[0])
            dropped += 1
        if dropped:
            self.dropped += dropped
            log.warning("spool full: dropped %d oldest photos", dropped)

    def _load(self) -> None:
        """Read what an earlier run kept; remove what a crash left half-written."""
        for entry in os.scandir(self._folder):
            if entry.name.startswith(_TEMPORARY):
                Path(entry.path).unlink(missing_ok=True)  # never renamed: never whole
                continue
            match = _SPOOLED.fullmatch(entry.name)
            if match is None or not entry.is_file(follow_symlinks=False):
                log.warning("spool: ignoring %r, not a spooled photo", entry.name)
                continue
            taken_ns, seq, camera_id, name = match.groups()
            item = SpooledPhoto(Path(entry.path), camera_id, name, int(taken_ns) / 1e9, entry.stat().st_size)
            self._items.append(item)
            self._bytes += item.size
            self._next_seq = max(self._next_seq, int(seq) + 1)
        self._items.sort(key=lambda each: each.path.name)
        with self._lock:
            self._drop_old()
            self._make_room(0)  # the bound may have been lowered since


def _problem(camera_id: str, name: str, data: bytes, taken_at: float, max_bytes: int) -> str:
    """Why a photo cannot be kept, or "" when it can."""
    if not CAMERA_ID.fullmatch(camera_id) or camera_id.strip(".") == "":
        return "camera id must be 1–64 characters of A–Z, a–z, 0–9, '-', '_', '.' (not only dots)"
    if not FILE_NAME.fullmatch(name) or name.strip(".") == "":
        return "file name must be 1–128 characters of A–Z, a–z, 0–9, '-', '_', '.' (not only dots)"
    if not math.isfinite(taken_at) or not 0 <= taken_at < 1e11:
        return f"taken_at {taken_at!r} is not a time"
    if len(data) > max_bytes:
        return f"photo of {len(data)} bytes is larger than the whole spool ({max_bytes} bytes)"
    return ""


def _write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen holding part of it."""
    temporary = path.with_name(f"{_TEMPORARY}{secrets.token_hex(8)}")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # or a power cut after the rename could leave it empty
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
