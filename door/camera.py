"""The door's camera through OpenCV: RTSP, an HTTP MJPEG stream or JPEG snapshot, USB, a file.

``OpenCvCamera.read()`` never raises for a bad stream: a frame that cannot be used is None,
and a stream that drops is released and reopened after an exponential backoff measured on
the injected clock, so a dead camera costs the agent's loop nothing while it waits. Frames
leave downscaled to ``max_side`` (a 4K stream must not starve a Raspberry-Pi-class box), and
no log line carries the credentials of a camera URL.
"""

from __future__ import annotations

import base64
import logging
import re
import struct
import time
import urllib.error
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

import cv2
import numpy as np

from door.device_http import ambiguous_url, http_get, origin
from door.ports import Frame

if TYPE_CHECKING:
    from door.ports import Pixels

log = logging.getLogger(__name__)

NETWORK_TIMEOUT_MS = (
    5000  # open and read timeouts of an RTSP/HTTP stream: a hung camera cannot block for ever
)
SNAPSHOT_MAX_BYTES = 8 * 1024 * 1024  # a 4K JPEG is ~2 MB; anything far bigger is not a snapshot
# What a snapshot may declare: 8K is 33 Mpx; the frame is downscaled to max_side anyway.
MAX_SNAPSHOT_SIDE = 8192
MAX_SNAPSHOT_PIXELS = 40_000_000
# The segments a JPEG header walk reads before giving up: cameras put a handful before the frame.
MAX_JPEG_SEGMENTS = 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_FRAMES = (0xC0, 0xC1, 0xC2)  # SOF0/1/2: baseline, extended, progressive (what cameras send)


class Capture(Protocol):
    """What the camera asks of a ``cv2.VideoCapture`` (tests pass captures of their own)."""

    def isOpened(self) -> bool: ...

    def read(self) -> tuple[bool, object]: ...

    def release(self) -> None: ...


class _Dropped(Exception):
    """The stream gave nothing: an outage, reopened after the backoff."""


def open_video_capture(target: str | int) -> Capture:
    """A ``cv2.VideoCapture`` of ``target``; a network stream gets open and read timeouts."""
    if isinstance(target, str) and "://" in target:
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS]
        timeouts += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS]
        return cv2.VideoCapture(target, cv2.CAP_FFMPEG, timeouts)
    return cv2.VideoCapture(target)


def redact(source: str) -> str:
    """``source`` fit for a log line: no user or password, no query (tokens live there too).
    A URL whose user and password cannot be told from its host shows its scheme only."""
    parts = urlsplit(source)
    if not parts.scheme or not parts.netloc:
        return source  # a file path, usb:0
    if ambiguous_url(source):  # its "host" and "path" may be pieces of the password
        return f"{parts.scheme}://…"
    return origin(parts) + urlunsplit(("", "", parts.path, "…" if parts.query else "", ""))


def declared_size(data: bytes) -> tuple[int, int] | None:
    """The width and height a JPEG (SOF0/1/2) or PNG header declares, or None: another format,
    or a header that cannot be read within ``MAX_JPEG_SEGMENTS`` segments. It reads hostile
    bytes: each step is a fixed amount of work, and the steps are bounded."""
    if data.startswith(PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":  # the first chunk, by the PNG standard
            return None
        width, height = struct.unpack_from(">II", data, 16)
        return width, height
    return _jpeg_size(data) if data.startswith(b"\xff\xd8") else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2  # after the start-of-image marker
    for _ in range(MAX_JPEG_SEGMENTS):
        if data[at : at + 1] != b"\xff" or at + 4 > len(data):
            return None
        code = data[at + 1]
        if code == 0xFF:  # a fill byte before the marker (it counts as a step)
            at += 1
        elif code in JPEG_FRAMES:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, at + 5)
            return width, height
        elif 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            return None  # another kind of frame (lossless, arithmetic, hierarchical)
        elif code in (0x01, 0xDA) or 0xD0 <= code <= 0xD9:
            return None  # image data, or a marker without a length, before any frame header
        else:  # a segment with its length (tables, APPn, comments): skip it
            (length,) = struct.unpack_from(">H", data, at + 2)
            if length < 2:
                return None
            at += 2 + length
    return None


def decode_snapshot(data: bytes) -> object:
    """``data`` decoded by OpenCV, or None: not a JPEG or PNG, a size beyond the limits, or
    bytes OpenCV cannot decode (a ``cv2.error``, such as a failed allocation, included)."""
    size = declared_size(data)
    if size is None:
        log.debug("snapshot is not a JPEG or PNG we can read")
        return None
    width, height = size
    if not (0 < width <= MAX_SNAPSHOT_SIDE and 0 < height <= MAX_SNAPSHOT_SIDE) or (
        width * height > MAX_SNAPSHOT_PIXELS
    ):
        log.debug("snapshot declares %d × %d: refused undecoded", width, height)
        return None
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:  # its last line says why ("Failed to allocate …")
        log.debug("snapshot could not be decoded: %s", str(error).strip().rpartition("\n")[2])
        return None


def to_bgr(raw: object, max_side: int) -> Pixels | None:
    """``raw`` as 8-bit BGR no larger than ``max_side`` on its long side, or None if unusable."""
    if not isinstance(raw, np.ndarray) or raw.size == 0 or raw.dtype != np.uint8:
        return None
    channels = 1 if raw.ndim == 2 else raw.shape[2] if raw.ndim == 3 else 0
    if channels == 1:
        pixels = np.asarray(cv2.cvtColor(raw, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    elif channels == 4:
        pixels = np.asarray(cv2.cvtColor(raw, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    elif channels == 3:
        pixels = np.ascontiguousarray(raw, dtype=np.uint8)
    else:
        return None
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _why(error: Exception) -> str:
    """A failed fetch in words that cannot quote the URL (an error may, and a query may hold a token)."""
    if isinstance(error, urllib.error.URLError):
        if not isinstance(error.reason, OSError):
            return "URLError"
        error = error.reason
    if isinstance(error, OSError):  # socket errors: "Connection refused", "timed out"
        detail = error.strerror or (error.args[0] if error.args else "")
        return f"{type(error).__name__}: {detail}"
    return type(error).__name__


def _target(source: str) -> str | int:
    if source.startswith("usb:"):
        return int(source.removeprefix("usb:"))
    device = re.fullmatch(r"/dev/video(\d+)", source)
    return int(device.group(1)) if device else source


def _is_snapshot_url(source: str) -> bool:
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.path.lower().endswith((".jpg", ".jpeg"))


class OpenCvCamera:
    """One camera of the door (the ``door.ports.Camera`` role)."""

    def __init__(
        self,
        source: str,
        max_side: int = 1280,
        reconnect_backoff: tuple[float, float] = (0.5, 30.0),
        clock: Callable[[], float] = time.monotonic,
        open_capture: Callable[[str | int], Capture] = open_video_capture,
        *,
        loop: bool = False,
        snapshot: bool | None = None,
        timeout: float = NETWORK_TIMEOUT_MS / 1000,
        max_bytes: int = SNAPSHOT_MAX_BYTES,
    ) -> None:
        """``source``: ``rtsp://…``, ``http(s)://…`` (a stream, or a snapshot when it ends in
        .jpg/.jpeg or ``snapshot=True``), ``usb:N``, ``/dev/videoN`` or a file (``loop`` it).
        ``timeout`` bounds a whole snapshot fetch; streams use ``NETWORK_TIMEOUT_MS``."""
        self.source = source
        self.name = redact(source)
        self.max_side = max_side
        self.lost_since: float | None = None
        self.frames_read = 0
        self.frames_dropped = 0  # frames that came but could not be used (garbage, wrong format)
        self.source_size: tuple[int, int] | None = None  # width, height before the downscale
        self._target = _target(source)
        self._snapshot = _is_snapshot_url(source) if snapshot is None else snapshot
        self._first_backoff, self._max_backoff = reconnect_backoff
        self._backoff = self._first_backoff
        self._clock = clock
        self._open_capture = open_capture
        self._loop = loop
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._capture: Capture | None = None
        self._delivered = False  # the open capture gave a frame: its end is a file's end, not a failure
        self._next_attempt = float("-inf")

    def read(self) -> Frame | None:
        """The next frame, or None (garbage, a dropped stream, or still waiting to reconnect)."""
        if self._clock() < self._next_attempt:
            return None  # backing off: never block the agent's loop on a dead camera
        try:
            raw = self._fetch() if self._snapshot else self._grab()
        except _Dropped as drop:
            self._lost(self._clock(), str(drop))
            return None
        now = self._clock()
        pixels = to_bgr(raw, self.max_side)
        if pixels is None:
            self.frames_dropped += 1
            log.debug("camera %s gave an unusable frame", self.name)
            return None
        if isinstance(raw, np.ndarray):
            self.source_size = (raw.shape[1], raw.shape[0])
        self.frames_read += 1
        if self.lost_since is not None:
            log.info("camera %s back after %.1f s", self.name, now - self.lost_since)
            self.lost_since = None
        self._backoff = self._first_backoff
        return Frame(pixels, now)

    def close(self) -> None:
        """Release the stream (reading again reopens it)."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _grab(self) -> object:
        if self._capture is None:
            self._open()
        assert self._capture is not None
        ok, raw = self._read_capture()
        if not ok and self._loop and self._delivered:
            self.close()  # a file at its end: start it again, no outage
            self._open()
            ok, raw = self._read_capture()
        if not ok:
            self.close()
            raise _Dropped("no frame from the stream")
        self._delivered = True
        return raw

    def _open(self) -> None:
        try:
            capture = self._open_capture(self._target)
            opened = capture.isOpened()
        except Exception as error:  # cv2.error on odd sources: an outage like any other
            raise _Dropped(f"cannot open: {type(error).__name__}") from None
        if not opened:
            capture.release()
            raise _Dropped("cannot open")
        self._capture, self._delivered = capture, False

    def _read_capture(self) -> tuple[bool, object]:
        assert self._capture is not None
        try:
            return self._capture.read()
        except Exception:  # a backend error mid-stream is a drop, never the agent's crash
            return False, None

    def _fetch(self) -> object:
        """One JPEG or PNG snapshot over HTTP, decoded, or None when its bytes are not one we take."""
        parts = urlsplit(self.source)
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        headers = {}
        if parts.username is not None:
            login = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(login.encode()).decode()
        try:
            # The deadline covers the whole fetch, headers included: a camera trickling bytes
            # is cut at the timeout however it trickles.
            status, body = http_get(url, seconds=self._timeout, limit=self._max_bytes + 1, headers=headers)
        except Exception as error:  # URLError, timeouts, resets: the camera is not answering
            raise _Dropped(f"snapshot failed: {_why(error)}") from None
        if status >= 300:
            raise _Dropped(f"snapshot failed: HTTP {status}")
        if not body or len(body) > self._max_bytes:
            return None
        return decode_snapshot(body)

    def _lost(self, now: float, reason: str) -> None:
        if self.lost_since is None:
            self.lost_since = now
            self._backoff = self._first_backoff
            log.warning("camera %s lost: %s", self.name, reason)
        else:
            self._backoff = min(self._backoff * 2, self._max_backoff)
            log.debug("camera %s still lost: %s", self.name, reason)
        self._next_attempt = now + self._backoff
