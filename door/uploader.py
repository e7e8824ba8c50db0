"""A door's photos to the camera bucket: spooled while the link is down, and the clock checked.

Keys follow the bucket's layout (``chalicelib.core.keys.camera_key``, which the door agent
does not import; ``tests/door/test_uploader.py`` holds the two together):
``incoming/<camera-id>/<UTC yyyymmddThhmmss.fffZ>-<random hex>.jpg``.

Photos that waited in the spool are sent first, oldest first, with the object metadata
``spooled: 1`` and ``taken-at``: too old to open the door (the cloud refuses a decision more
than 60 s after the photo), they still belong in the record.

Every successful upload also measures the box's clock against S3's: the response's
``Date`` header (RFC 7231, whole seconds) against our clock at the request's midpoint.
"""

from __future__ import annotations

import logging
import math
import secrets
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from door.keys import camera_photo_key
from door.spool import CAMERA_ID, Spool, SpooledPhoto, SpoolRefused

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

SKEW_SAMPLES = 5  # the median of the last few: one slow response does not raise the alarm
# S3's errors about the object itself: sent again it would fail again, and kept it would block
# every photo behind it. Not other 400s: RequestTimeout and ExpiredToken are 400 too and pass.
_OBJECT_REFUSED = frozenset(
    {"EntityTooLarge", "EntityTooSmall", "InvalidDigest", "BadDigest", "KeyTooLongError", "MetadataTooLarge"}
)


@dataclass(frozen=True)
class UploadResult:
    """What became of one photo: sent (``key``), or spooled, or lost (``error`` says why)."""

    uploaded: bool
    spooled: bool
    key: str
    sent_from_spool: int = 0  # photos from the spool delivered before this one
    error: str = ""


class PhotoUploader:
    """Uploads one camera's photos, spooling them while S3 cannot be reached; one thread at a time."""

    def __init__(
        self,
        s3_client: S3Client,
        bucket: str,
        camera_id: str,
        spool: Spool,
        clock: Callable[[], float] = time.time,
        max_skew_seconds: float = 3.0,
    ) -> None:
        if not CAMERA_ID.fullmatch(camera_id) or camera_id.strip(".") == "":
            raise ValueError(f"not a camera id: {camera_id!r}")
        self._s3 = s3_client
        self._bucket = bucket
        self._camera_id = camera_id
        self._spool = spool
        self._unspooled = 0  # photos neither sent nor spooled (the disk refused them)
        self._clock = clock
        self._max_skew = max_skew_seconds
        self._skews: deque[tuple[float, float]] = deque(maxlen=SKEW_SAMPLES)  # (estimate, ± error)
        self.last_success: float | None = None  # our clock at the last upload S3 accepted
        self.consecutive_failures = 0

    @property
    def spooled_count(self) -> int:
        """Photos waiting in the spool."""
        return self._spool.count

    @property
    def spool_dropped(self) -> int:
        """Photos the spool dropped (full, too old) or could not keep (refused, a disk error),
        since start."""
        return self._spool.dropped + self._spool.refused + self._unspooled

    @property
    def skew_seconds(self) -> float | None:
        """Our clock minus AWS's (the median of the last few uploads), None before the first."""
        if not self._skews:
            return None
        return statistics.median(estimate for estimate, _ in self._skews)

    @property
    def skew_alarm(self) -> bool:
        """True when the clock is off AWS's by more than the limit even at the measurement's
        most favourable reading: ``Date`` drops the fraction of its second, so an offset under
        about a second cannot be told from none."""
        skew = self.skew_seconds
        if skew is None:
            return False
        error = statistics.median(margin for _, margin in self._skews)
        return abs(skew) - error > self._max_skew

    def upload(self, photo_bytes: bytes, taken_at: float) -> UploadResult:
        """Send this photo, then what the spool holds; spool it when S3 cannot be reached.
        ``ValueError`` for a ``taken_at`` that is no time (epoch seconds).

        The person at the door first: a backlog sent before them could push their photo past
        the cloud's 60 s limit. Spooled photos only become records (they can open nothing)."""
        if not math.isfinite(taken_at) or not 0 <= taken_at < 1e11:
            raise ValueError(f"taken_at {taken_at!r} is not a time")
        key = camera_photo_key(self._camera_id, photo_name(taken_at))
        failure = self._put(key, photo_bytes, taken_at, spooled=False)
        if failure is not None:
            return self._keep(key, photo_bytes, taken_at, 0, failure)
        sent, _ = self._send_spooled()
        return UploadResult(True, False, key, sent)

    def send_spooled(self) -> int:
        """Send what the spool holds, oldest first, until it is empty or S3 fails; how many went."""
        sent, _ = self._send_spooled()
        return sent

    def _send_spooled(self) -> tuple[int, str | None]:
        sent = 0
        while (item := self._spool.oldest()) is not None:
            try:
                data = item.read()
            except OSError as error:
                self._spool.discard(item, f"unreadable: {error}")
                continue
            failure = self._put(_spooled_key(item), data, item.taken_at, spooled=True)
            if failure is None:
                self._spool.done(item)
                sent += 1
            elif failure.startswith("refused:"):
                self._spool.discard(item, f"S3 {failure}")
            else:
                return sent, failure
        return sent, None

    def _put(self, key: str, data: bytes, taken_at: float, *, spooled: bool) -> str | None:
        """Upload one object; None when S3 took it, else why not ("refused: …" for the object)."""
        metadata = {"taken-at": _iso(taken_at)}
        if spooled:
            metadata["spooled"] = "1"
        started = self._clock()
        try:
            response = self._s3.put_object(
                Bucket=self._bucket, Key=key, Body=data, ContentType="image/jpeg", Metadata=metadata
            )
        except ClientError as error:
            self.consecutive_failures += 1
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            code = error.response.get("Error", {}).get("Code", "")
            return f"{'refused: ' if code in _OBJECT_REFUSED else ''}{code or 'error'} (HTTP {status})"
        except (BotoCoreError, OSError) as error:  # no connection, timeouts, DNS
            self.consecutive_failures += 1
            return type(error).__name__
        finished = self._clock()
        self.last_success = finished
        self.consecutive_failures = 0
        self._measure_skew(started, finished, response["ResponseMetadata"].get("HTTPHeaders", {}))
        return None

    def _measure_skew(self, started: float, finished: float, headers: dict[str, str]) -> None:
        try:
            server = parsedate_to_datetime(headers["date"]).timestamp()
        except (KeyError, TypeError, ValueError, IndexError):
            return  # no Date, or not one: nothing measured this time
        # S3 stamped the response somewhere in [started, finished] of ours, at some time in
        # [Date, Date + 1) of its own: take both middles, and keep how far off they may be.
        estimate = (started + finished) / 2 - (server + 0.5)
        self._skews.append((estimate, 0.5 + (finished - started) / 2))

    def _keep(self, key: str, data: bytes, taken_at: float, sent: int, failure: str) -> UploadResult:
        name = key.rsplit("/", 1)[1]
        try:
            self._spool.put(self._camera_id, name, data, taken_at)
        except (SpoolRefused, OSError) as error:
            if isinstance(error, OSError):  # a full or broken disk: lost, and counted
                self._unspooled += 1
            log.error("cloud unreachable (%s) and the photo could not be spooled: %s", failure, error)
            return UploadResult(False, False, key, sent, f"{failure}; not spooled: {error}")
        log.warning("cloud unreachable (%s): photo spooled, door stays locked", failure)
        return UploadResult(False, True, key, sent, failure)


def photo_name(taken_at: float) -> str:
    """A new photo's file name: ``<UTC yyyymmddThhmmss.fffZ>-<random hex>.jpg``."""
    moment = datetime.fromtimestamp(taken_at, UTC)
    return f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z-{secrets.token_hex(8)}.jpg"


def _spooled_key(item: SpooledPhoto) -> str:
    return camera_photo_key(item.camera_id, item.name)


def _iso(moment: float) -> str:
    at = datetime.fromtimestamp(moment, UTC)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z"
