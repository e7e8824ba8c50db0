"""Keeping one container's gallery current at a cost in proportion to what changed.

A container starts from the latest packed snapshot and the changes logged since it (or,
without a usable snapshot, one full read of the store), then, before every search, reads
the log's heads (one call) and applies only what changed. Every path that cannot be sure
(a log that no longer reaches back, heads that went backwards, a snapshot that does not
unpack) falls back to the full read: slower, never wrong.
"""

from __future__ import annotations

import logging

from chalicelib.core.errors import SnapshotRaced, SnapshotUnreadable
from chalicelib.core.ports import FaceStore, GallerySnapshots, Heads
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.snapshot_format import pack, unpack

log = logging.getLogger(__name__)
# Snapshots built in a row while the table moved on under each, before giving up for this run.
PUBLISH_ATTEMPTS = 3


class GallerySync:
    """One container's gallery: cold from the latest snapshot and the log since, then kept
    current by the log alone. Not thread-safe: the engine calls it under its lock."""

    def __init__(self, store: FaceStore, snapshots: GallerySnapshots | None = None) -> None:
        self._store = store
        self._snapshots = snapshots
        self._gallery: Gallery | None = None
        # What it cost so far, for tests and benchmarks.
        self.full_loads = 0
        self.snapshot_loads = 0
        self.changes_applied = 0

    def current(self) -> Gallery:
        """The gallery as of the store's heads now (read once, strongly consistent)."""
        if self._gallery is None:
            self._gallery = self._cold()
            return self._gallery
        heads = self._store.heads()
        if heads != self._gallery.heads and not self._catch_up(self._gallery, heads):
            self._gallery = self._full(heads)
        return self._gallery

    def _cold(self) -> Gallery:
        packed = self._snapshots.latest() if self._snapshots is not None else None
        # After the snapshot: never behind it, unless the table was restored (then the log
        # cannot go back to it, and the whole table is read).
        heads = self._store.heads()
        if packed is not None:
            try:
                gallery = unpack(packed)
            except SnapshotUnreadable as error:
                log.warning("gallery snapshot unreadable, reading the whole gallery: %s", error)
            else:
                if self._catch_up(gallery, heads):
                    self.snapshot_loads += 1
                    return gallery
        return self._full(heads)

    def _full(self, heads: Heads) -> Gallery:
        # Heads read before the read: the label can only be too old, and replaying a change
        # the read already holds changes nothing.
        self.full_loads += 1
        return Gallery.of_faces(heads, self._store.load(consistent=True))

    def _catch_up(self, gallery: Gallery, heads: Heads) -> bool:
        if gallery.heads == heads:
            return True
        changes = self._store.changes(gallery.heads, heads)
        if changes is None:
            return False
        keys = [
            (change.employee_id, face_id) for change in changes if change.added for face_id in change.face_ids
        ]
        added = {face.face_id: face for face in self._store.faces_of(keys)} if keys else {}
        gallery.apply(changes, added)
        gallery.heads = heads
        self.changes_applied += len(changes)
        return True


def publish_snapshot(store: FaceStore, snapshots: GallerySnapshots) -> int | None:
    """Publish a packed snapshot of ``store`` unless the latest is current: the number of
    faces in it, or None when skipped (older versions are swept either way).

    Run by the ``gallery_snapshot`` schedule, and by erasure once an employee's faces are
    gone (their embeddings leave the snapshot too). Built from one full, strongly consistent
    read labelled with the heads read before it, and published only while those heads still
    hold (so the read is the table as of them, not a table an erasure has changed since);
    when the table keeps moving, ``SnapshotRaced`` after ``PUBLISH_ATTEMPTS``.
    """
    for _ in range(PUBLISH_ATTEMPTS):
        heads = store.heads()
        if snapshots.latest_heads() == heads:
            snapshots.sweep()  # what a run that stopped midway left behind
            return None
        gallery = Gallery.of_faces(heads, store.load(consistent=True))
        if snapshots.publish(pack(gallery)):
            return len(gallery)
    raise SnapshotRaced(f"the gallery changed during each of {PUBLISH_ATTEMPTS} snapshots")


def publish_or_withdraw_snapshot(store: FaceStore, snapshots: GallerySnapshots) -> None:
    """Erasure's: the latest snapshot must not hold the faces just removed. Publish one; when
    changes elsewhere keep overtaking every build (an import in progress), withdraw the old
    one instead of failing the job: cold containers read the table until the schedule
    publishes again, and a schedule run that read before the removal cannot (its heads moved)."""
    try:
        publish_snapshot(store, snapshots)
    except SnapshotRaced:
        log.warning("gallery snapshot withdrawn: the gallery kept changing while erasure rebuilt it")
        snapshots.withdraw()
