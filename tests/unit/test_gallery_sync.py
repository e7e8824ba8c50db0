"""A container's gallery: cold from a snapshot and the log since, then current by the log
alone; every doubt (an expired log, heads gone back, a snapshot that does not add up) reads
the whole store again, and a search always agrees with one over the store as it is."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest

from chalicelib.core.errors import SnapshotUnreadable
from chalicelib.core.models import Match
from chalicelib.core.ports import FIRST_MODEL, Heads, PackedSnapshot, StoredFace
from chalicelib.engines.dlib_model import DlibModel
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.gallery_search import Probe, best_two, closest
from chalicelib.engines.gallery_sync import GallerySync
from chalicelib.engines.snapshot_format import pack, unpack
from tests.fakes import InMemoryFaceStore

RANDOM = np.random.default_rng(11)


def closest_two(gallery: Gallery, vector: np.ndarray) -> tuple[Match, Match | None]:
    """The best and runner-up matches of a dlib vector (the faces here are the first model's)."""
    matches = closest(gallery, Probe(DlibModel(), vector, gallery.rows_of(FIRST_MODEL)))
    best, runner_up = best_two(matches)
    assert best is not None
    return best, runner_up


def face(employee_id: str, face_id: str) -> StoredFace:
    vector = RANDOM.normal(0, 0.09, 128).astype("<f4")
    return StoredFace(employee_id, face_id, vector.tobytes(), "")


class MemorySnapshots:
    """``GallerySnapshots`` in memory."""

    def __init__(self) -> None:
        self.snapshot: PackedSnapshot | None = None
        self.reads = 0

    def latest(self) -> PackedSnapshot | None:
        self.reads += 1
        return self.snapshot

    def latest_heads(self) -> Heads | None:
        return None if self.snapshot is None else self.snapshot.heads

    def publish(self, snapshot: PackedSnapshot) -> bool:
        self.snapshot = snapshot
        return True

    def sweep(self) -> None:
        pass

    def withdraw(self) -> None:
        self.snapshot = None


def contents(gallery: Gallery) -> dict[str, tuple[str, bytes]]:
    owners = [gallery.employee_ids[int(owner)] for owner in gallery.owners]
    rows = gallery.matrix.astype("<f4")
    return {face_id: (owners[n], rows[n].tobytes()) for n, face_id in enumerate(gallery.face_ids)}


def stored(store: InMemoryFaceStore) -> dict[str, tuple[str, bytes]]:
    return {f.face_id: (f.employee_id, f.embedding) for f in store.faces.values()}  # not a load


def snapshot_of(store: InMemoryFaceStore) -> MemorySnapshots:
    snapshots = MemorySnapshots()
    snapshots.publish(pack(Gallery.of_faces(store.heads(), list(store.faces.values()))))
    return snapshots


def test_one_enrollment_reaches_a_warm_container_as_one_change_not_a_reload() -> None:
    store = InMemoryFaceStore()
    for n in range(50):
        store.put(face(f"E{n % 10}", f"f{n}"))
    sync = GallerySync(store)
    sync.current()
    store.put(newcomer := face("E-new", "f-new"))
    gallery = sync.current()
    assert (store.loads, sync.changes_applied) == (1, 1)
    best, _ = closest_two(gallery, np.frombuffer(newcomer.embedding, dtype="<f4"))
    assert best.employee_id == "E-new"


def test_a_removed_face_leaves_the_warm_gallery_and_the_moved_row_keeps_its_owner() -> None:
    store = InMemoryFaceStore()
    for n in range(6):
        store.put(face(f"E{n}", f"f{n}"))
    sync = GallerySync(store)
    sync.current()
    store.delete("E1")  # a row in the middle: the last row moves into its place
    store.put(face("E1", "f-again"))
    assert contents(sync.current()) == stored(store)


def test_random_changes_applied_one_refresh_at_a_time_agree_with_the_store() -> None:
    store = InMemoryFaceStore()
    sync = GallerySync(store)
    live: list[tuple[str, str]] = []
    for step in range(400):
        if live and RANDOM.random() < 0.4:
            employee_id, face_id = live.pop(int(RANDOM.integers(len(live))))
            store.delete(employee_id, [face_id])
        else:
            live.append((f"E{int(RANDOM.integers(30))}", f"f{step}"))
            store.put(face(*live[-1]))
        if step % 7 == 0:
            assert contents(sync.current()) == stored(store)
    assert contents(sync.current()) == stored(store)
    assert store.loads == 1


class ChangedDuringTheRead(InMemoryFaceStore):
    """A store in which another container enrolls a face while this one reads it whole."""

    def load(self, consistent: bool = False) -> list[StoredFace]:
        if self.loads == 0:
            self.put(face("E-meanwhile", "f-meanwhile"))
        return super().load(consistent)


def test_a_change_the_full_read_already_holds_is_not_applied_twice() -> None:
    # The heads are read before the read, so the log replays a face the read returned.
    store = ChangedDuringTheRead()
    store.put(face("E1", "f1"))
    sync = GallerySync(store)
    sync.current()
    assert sorted(sync.current().face_ids) == ["f-meanwhile", "f1"]
    store.delete("E-meanwhile")
    assert sync.current().face_ids == ["f1"]


def test_a_cold_container_starts_from_the_snapshot_and_the_changes_after_it() -> None:
    store = InMemoryFaceStore()
    for n in range(40):
        store.put(face(f"E{n % 8}", f"f{n}"))
    snapshots = snapshot_of(store)
    store.delete("E3")
    store.put(face("E9", "f-late"))
    sync = GallerySync(store, snapshots)
    gallery = sync.current()
    assert (store.loads, sync.snapshot_loads, sync.changes_applied) == (0, 1, 2)
    assert set(contents(gallery)) == set(stored(store))
    for face_id, (owner, embedding) in stored(store).items():  # float16 rows: close, not equal
        row = np.frombuffer(contents(gallery)[face_id][1], dtype="<f4")
        assert contents(gallery)[face_id][0] == owner
        assert np.abs(row - np.frombuffer(embedding, dtype="<f4")).max() < 1e-3


def test_a_log_expired_past_the_snapshot_reads_the_whole_store() -> None:
    store = InMemoryFaceStore()
    store.put(face("E1", "f1"))
    snapshots = snapshot_of(store)
    store.put(face("E2", "f2"))
    store.forget(2)  # the entries after the snapshot expired
    sync = GallerySync(store, snapshots)
    assert set(contents(sync.current())) == {"f1", "f2"}
    assert (sync.snapshot_loads, store.loads) == (0, 1)


def test_a_warm_container_whose_log_expired_reads_the_whole_store() -> None:
    store = InMemoryFaceStore()
    store.put(face("E1", "f1"))
    sync = GallerySync(store)
    sync.current()
    store.put(face("E2", "f2"))
    store.forget(2)
    assert set(contents(sync.current())) == {"f1", "f2"} and store.loads == 2


def test_a_snapshot_ahead_of_the_table_is_not_trusted() -> None:
    # A table restored from a backup has heads behind the snapshot's: the snapshot holds
    # faces the table no longer has.
    store = InMemoryFaceStore()
    store.put(face("E1", "f1"))
    store.put(face("E2", "f2"))
    snapshots = snapshot_of(store)
    restored = InMemoryFaceStore()
    restored.put(face("E1", "f1"))
    sync = GallerySync(restored, snapshots)
    assert set(contents(sync.current())) == {"f1"} and restored.loads == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],
        lambda data: data + b"\0\0",
        lambda data: b"XXXX" + data[4:],
        lambda data: data[:8] + b"[" + data[9:],
        lambda data: data[:-256] + np.full(128, np.inf, dtype="<f2").tobytes(),
    ],
    ids=["truncated", "longer", "not ours", "header broken", "not finite"],
)
def test_a_snapshot_that_does_not_add_up_is_refused_and_the_store_read(damage: object) -> None:
    store = InMemoryFaceStore()
    store.put(face("E1", "f1"))
    store.put(face("E2", "f2"))
    snapshots = snapshot_of(store)
    assert snapshots.snapshot is not None
    snapshots.snapshot = PackedSnapshot(snapshots.snapshot.heads, damage(snapshots.snapshot.data))  # type: ignore[operator]
    with pytest.raises(SnapshotUnreadable):
        unpack(snapshots.snapshot)
    sync = GallerySync(store, snapshots)
    assert contents(sync.current()) == stored(store) and store.loads == 1


def _with_header(data: bytes, change: Any) -> bytes:
    """A snapshot's bytes with its JSON header changed by ``change`` (the rows left as they are)."""
    (length,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8 : 8 + length])
    change(header)
    head = json.dumps(header).encode()
    return data[:4] + struct.pack("<I", len(head)) + head + data[8 + length :]


@pytest.mark.parametrize(
    "forge",
    [
        lambda data: _with_header(data, lambda h: h.update(model_ids="ab")),
        lambda data: _with_header(data, lambda h: h.update(model_ids=[FIRST_MODEL, 7])),
        lambda data: _with_header(data, lambda h: h.update(model_ids=[])),
        lambda data: _with_header(data, lambda h: h.update(face_ids={"f1": 1, "f2": 2})),
        lambda data: b"FGS1" + data[4:],
    ],
    ids=[
        "ids as a string",
        "an id not a string",
        "a row's model not listed",
        "face ids not a list",
        "first format",
    ],
)
def test_a_snapshot_forging_the_rows_models_is_refused(forge: Any) -> None:
    store = InMemoryFaceStore()
    store.put(face("E1", "f1"))
    store.put(face("E2", "f2"))
    snapshot = pack(Gallery.of_faces(store.heads(), store.load()))
    with pytest.raises(SnapshotUnreadable):
        unpack(PackedSnapshot(snapshot.heads, forge(snapshot.data)))


def test_rows_of_two_models_keep_their_model_through_removal_and_a_snapshot() -> None:
    store = InMemoryFaceStore()
    for number in range(6):
        model = FIRST_MODEL if number % 2 else "sface-2021dec-int8bq"
        store.put(
            StoredFace(
                f"E{number}", f"f{number}", RANDOM.normal(0, 0.1, 128).astype("<f4").tobytes(), "", model
            )
        )
    gallery = Gallery.of_faces(store.heads(), store.load())
    gallery.remove("f0")  # the last row moves into its place
    gallery.add(StoredFace("E9", "f9", bytes(512), "", "another-model"))
    expected = {
        face_id: face.model for face_id, face in ((f.face_id, f) for f in store.load()) if face_id != "f0"
    }
    expected["f9"] = "another-model"

    def models_of(of: Gallery) -> dict[str, str]:
        return {face_id: of.model_ids[int(of.models[row])] for row, face_id in enumerate(of.face_ids)}

    assert models_of(gallery) == expected
    assert models_of(unpack(pack(gallery))) == expected


def test_a_snapshot_labelled_with_other_heads_than_its_own_is_refused() -> None:
    store = InMemoryFaceStore()
    store.put(face("E1", "f1"))
    packed = pack(Gallery.of_faces((0,), []))  # an empty gallery's bytes
    with pytest.raises(SnapshotUnreadable):
        unpack(PackedSnapshot(store.heads(), packed.data))


def test_the_runner_up_is_none_when_every_face_left_is_the_best_match_s() -> None:
    store = InMemoryFaceStore()
    store.put(only := face("E1", "f1"))
    store.put(face("E2", "f2"))
    sync = GallerySync(store)
    sync.current()
    store.delete("E2")  # E2 stays in the gallery's employee list, with no face
    best, runner_up = closest_two(sync.current(), np.frombuffer(only.embedding, dtype="<f4"))
    assert best.employee_id == "E1" and runner_up is None


def test_a_removed_employee_leaves_no_embedding_and_no_id_in_a_warm_container_s_memory() -> None:
    store = InMemoryFaceStore()
    for n in range(4):
        store.put(face(f"E{n}", f"f{n}"))
    store.put(erased := face("E-erased", "f-erased"))
    sync = GallerySync(store)
    sync.current()
    store.delete("E-erased")  # the last row: the count drops, the row's bytes stay unless cleared
    gallery = sync.current()
    whole = gallery._matrix.astype("<f4")  # every row the arrays hold, used or not
    assert not any(row.tobytes() == erased.embedding for row in whole)
    assert "E-erased" not in gallery.employee_ids and gallery.owner_index("E-erased") is None
    store.put(again := face("E-erased", "f-again"))  # enrolled again: a new row, found by id
    best, _ = closest_two(sync.current(), np.frombuffer(again.embedding, dtype="<f4"))
    assert best.employee_id == "E-erased"


def test_a_snapshot_naming_one_employee_twice_is_refused() -> None:
    # Two indexes for one id: removing one's faces would forget the other's index.
    store = InMemoryFaceStore()
    store.put(face("E1", "f1"))
    store.put(face("E2", "f2"))
    packed = pack(Gallery.of_faces(store.heads(), list(store.faces.values())))
    data = packed.data.replace(b'"employee_ids":["E1","E2"]', b'"employee_ids":["E1","E1"]')
    assert data != packed.data
    with pytest.raises(SnapshotUnreadable):
        unpack(PackedSnapshot(packed.heads, data))
