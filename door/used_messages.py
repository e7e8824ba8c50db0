"""The message ids a door has already acted on, remembered across restarts and power cuts.

A decision's scan id or a command's id may open the door once. ``UsedMessages.claim`` says
whether an id is new; every answer it cannot be sure of is "no", because a wrong "yes"
re-opens the door on a replay and a wrong "no" only keeps it shut for a message the cloud
can send again.

On disk: one append-only text file, a header line (``HEADER``) then a line per claim,
``<expires_at> <id>\\n`` (epoch seconds as Python writes a float, one space, the id), fsync'd
before ``claim`` answers True. It is rewritten without its expired lines (a temp file, fsync,
``os.replace``) at start and whenever it grows past twice ``max_entries`` lines.

What start does not trust, it quarantines: every id whose expiry could still be live is
refused until ``quarantine_seconds`` after the start, since an id the file lost may have
been used. That is the case for

- a line without its newline at the end: a claim a power cut tore (it never answered True),
  or a complete claim that lost its newline; the two cannot be told apart, so the line is
  kept if it reads (remembering too much only refuses) and the start quarantined. A power
  cut during a claim thus costs up to 65 s (``LONGEST_LIFETIME_SECONDS``) of refused
  messages after the restart;
- any other line that cannot be read: the file is not what we wrote; it is moved aside
  (``<name>.corrupt-<epoch>``);
- a file that is missing or empty though a marker (``<name>.created``, made with the file)
  says it was made before: it was deleted or truncated. (The header keeps the file we write
  from ever being empty.)
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# What an id may be: nothing that could break a line (space, newline) or a log line.
MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
# The longest a message may act after it was made: MAX_AGE + MAX_CLOCK_SKEW of the controller.
LONGEST_LIFETIME_SECONDS = 65.0
# The file's first line: a file we wrote is never empty, so an empty one was truncated.
HEADER = b"# facegate used message ids: <expires_at> <id>\n"


class UsedMessages:
    """A bounded, durable, thread-safe set of message ids, each forgotten once it expires."""

    def __init__(
        self,
        path: Path,
        max_entries: int = 10_000,
        *,
        quarantine_seconds: float = LONGEST_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._path = path
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._expiries: dict[str, float] = {}
        self._lines = 0  # lines in the file now, live or not: compaction's trigger
        self._fd: int | None = None
        # Claims expiring up to here are refused: 0 unless the file was found corrupt.
        self._quarantine_until = 0.0
        self._load(quarantine_seconds)

    @property
    def quarantine_until(self) -> float:
        """Until when (epoch seconds) ids that may have been forgotten are refused; 0 if never."""
        return self._quarantine_until

    def __len__(self) -> int:
        """How many ids are remembered (unexpired ones and expired ones not yet forgotten)."""
        with self._lock:
            return len(self._expiries)

    def claim(self, message_id: str, expires_at: float) -> bool:
        """True the first time ``message_id`` is claimed (now on disk); False for a replay, and
        for anything that cannot be claimed safely: a malformed id, an expiry already past,
        a memory full of live ids, a quarantine, a file that cannot be written."""
        if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
            log.warning("refused a message id that is not one: %.200r", message_id)
            return False
        if not math.isfinite(expires_at):
            log.warning("refused message %s: expiry %r is not a time", message_id, expires_at)
            return False
        with self._lock:
            now = self._clock()
            if self._expiries.get(message_id, -math.inf) > now:
                return False  # a replay: the usual refusal, the caller logs it
            if expires_at <= now:
                log.warning("refused message %s: it expired already", message_id)
                return False
            if expires_at <= self._quarantine_until:
                log.warning(
                    "refused message %s: it may have been used before the memory was lost", message_id
                )
                return False
            if not self._has_room(now):
                log.error(
                    "used-message memory full (%d live ids): refused %s rather than forget one",
                    self._max_entries,
                    message_id,
                )
                return False
            return self._record(message_id, expires_at, now)

    def close(self) -> None:
        """Close the file; later claims reopen it."""
        with self._lock:
            self._close()

    def _has_room(self, now: float) -> bool:
        if len(self._expiries) < self._max_entries:
            return True
        # Only expired ids are forgotten: they are the soonest-expiring and can no longer open.
        self._expiries = {key: expiry for key, expiry in self._expiries.items() if expiry > now}
        return len(self._expiries) < self._max_entries

    def _record(self, message_id: str, expires_at: float, now: float) -> bool:
        line = f"{expires_at!r} {message_id}\n".encode("ascii")
        try:
            if self._lines + 1 > 2 * self._max_entries:
                self._compact(now)
            fd = self._open()
            written = os.write(fd, line)
            if written != len(line):  # a short write leaves a torn line; the next start drops it
                raise OSError(f"wrote {written} of {len(line)} bytes")
            os.fsync(fd)
        except OSError as error:
            # Not durable, so not claimed: after a power cut the door could open again.
            log.error("could not remember message %s (%s): refused", message_id, error)
            self._close()
            return False
        self._expiries[message_id] = expires_at
        self._lines += 1
        return True

    def _open(self) -> int:
        if self._fd is None:
            flags = os.O_WRONLY | os.O_APPEND
            try:
                fd = os.open(self._path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                fd = os.open(self._path, flags)
            else:  # gone since the start made it (a claim that could not be written removed it?)
                try:
                    os.write(fd, HEADER)
                    _sync_folder(self._path.parent)  # or a power cut could lose the whole file
                except OSError:
                    os.close(fd)
                    raise
            self._fd = fd
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):  # nothing is pending: every claim fsync'd first
                os.close(fd)

    def _load(self, quarantine_seconds: float) -> None:
        now = self._clock()
        marker = self._path.with_name(f"{self._path.name}.created")
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            data = b""  # a first start (unless the marker says otherwise)
        except OSError as error:
            log.error("used-message memory %s unreadable (%s)", self._path, error)
            self._quarantine(now, quarantine_seconds)
            self._move_aside(now)
            return
        entries, corrupt, torn = _parse(data)
        if corrupt:
            log.error("used-message memory %s is corrupt", self._path)
            self._quarantine(now, quarantine_seconds)
            self._move_aside(now)
        elif torn:
            log.error("used-message memory %s ends in a line without its newline", self._path)
            self._quarantine(now, quarantine_seconds)
        elif not data and marker.exists():
            log.error("used-message memory %s is missing or empty though it was made before", self._path)
            self._quarantine(now, quarantine_seconds)
        # Every id read is kept, even from a corrupt file: remembering too much only refuses.
        self._expiries = {key: expiry for key, expiry in entries.items() if expiry > now}
        try:
            self._compact(now)  # a clean file: no torn tail for the next append to glue onto
            if not marker.exists():  # made once the file it vouches for is durable
                marker.touch(0o600)
                _sync_folder(self._path.parent)
        except OSError as error:
            log.error("could not rewrite used-message memory %s (%s)", self._path, error)

    def _quarantine(self, now: float, quarantine_seconds: float) -> None:
        self._quarantine_until = now + quarantine_seconds
        log.error(
            "refusing every message that could still be live for %.0f s (until %.0f): one may "
            "have been used already",
            quarantine_seconds,
            self._quarantine_until,
        )

    def _move_aside(self, now: float) -> None:
        """Keep what is not our file for people to look at, under a name nothing reads."""
        aside = self._path.with_name(f"{self._path.name}.corrupt-{int(now)}")
        counter = 0
        while aside.exists():
            counter += 1
            aside = self._path.with_name(f"{self._path.name}.corrupt-{int(now)}-{counter}")
        try:
            os.replace(self._path, aside)
            log.error("moved it aside to %s", aside.name)
        except OSError as error:
            log.error("could not move %s aside (%s)", self._path, error)

    def _compact(self, now: float) -> None:
        """Rewrite the file with the live ids only: written and synced before it replaces the old."""
        self._close()
        self._expiries = {key: expiry for key, expiry in self._expiries.items() if expiry > now}
        text = "".join(f"{expiry!r} {key}\n" for key, expiry in self._expiries.items())
        temporary = self._path.with_name(f"{self._path.name}.tmp")
        with open(temporary, "wb") as file:
            file.write(HEADER + text.encode("ascii"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self._path)
        _sync_folder(self._path.parent)
        self._lines = len(self._expiries)


def _parse(data: bytes) -> tuple[dict[str, float], bool, bool]:
    """The ids and expiries in ``data``; whether a line other than the last was unreadable
    (corrupt); whether the last had no newline (torn), which is kept if it reads. A repeated
    id keeps its latest expiry."""
    lines = data.split(b"\n")
    torn = lines.pop()  # empty when the file ends with a newline, as every complete write does
    if lines and lines[0] + b"\n" == HEADER:  # (a file of an older agent has none)
        lines.pop(0)
    entries: dict[str, float] = {}
    corrupt = False
    for raw in lines:
        parsed = _line(raw)
        if parsed is None:
            corrupt = True
            continue
        message_id, expiry = parsed
        entries[message_id] = max(expiry, entries.get(message_id, -math.inf))
    torn_claim = _line(torn) if torn else None
    if torn_claim is not None:
        message_id, expiry = torn_claim
        entries[message_id] = max(expiry, entries.get(message_id, -math.inf))
    return entries, corrupt, bool(torn)


def _line(raw: bytes) -> tuple[str, float] | None:
    try:
        expiry_text, message_id = raw.decode("ascii").split(" ")
        expiry = float(expiry_text)
    except ValueError:  # UnicodeDecodeError is one too
        return None
    if not math.isfinite(expiry) or not MESSAGE_ID.fullmatch(message_id):
        return None
    return message_id, expiry


def _sync_folder(folder: Path) -> None:
    """Make a created or replaced name durable: the name lives in the folder, not the file."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
