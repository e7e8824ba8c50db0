"""The gallery's change log and packed snapshot against moto: DynamoDB and S3 as deployed.

A snapshot is trusted only as far as the faces table that names it; publishing one deletes
every older one; a change that meets another in its shard is logged after it, without a
gap, and changes in different shards never meet; a cold engine starts from the snapshot
and the log since. (moto's transactions are not thread-safe, so the interleavings are
forced, never raced.)
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from chalicelib import wiring
from chalicelib.aws.faces import SHARDS, DynamoFaceStore, shard_of
from chalicelib.aws.gallery_snapshots import MANIFEST_KEY, S3GallerySnapshots
from chalicelib.core.errors import SnapshotRaced
from chalicelib.core.keys import GALLERY_PREFIX
from chalicelib.core.ports import PackedSnapshot, StoredFace
from chalicelib.engines.gallery_sync import GallerySync, publish_or_withdraw_snapshot, publish_snapshot
from sandbox.stack import Stack

RANDOM = np.random.default_rng(5)


def face(employee_id: str, face_id: str) -> StoredFace:
    return StoredFace(employee_id, face_id, RANDOM.normal(0, 0.09, 128).astype("<f4").tobytes(), "")


def ports(stack: Stack) -> tuple[DynamoFaceStore, S3GallerySnapshots]:
    wiring.reset()
    return wiring.gallery_ports(stack.settings)


def snapshot_versions(stack: Stack) -> list[tuple[str, str]]:
    listing = wiring.client("s3").list_object_versions(
        Bucket=stack.settings.camera_bucket, Prefix=GALLERY_PREFIX
    )
    return [
        (v["Key"], v["VersionId"]) for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])
    ]


def test_a_published_snapshot_reads_back_and_replaces_every_older_one(stack: Stack) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f1"))
    assert publish_snapshot(store, snapshots) == 1
    first = snapshot_versions(stack)
    store.put(face("EMP002", "f2"))
    assert publish_snapshot(store, snapshots) == 2
    latest = snapshots.latest()
    assert latest is not None and latest.heads == store.heads()
    remaining = snapshot_versions(stack)
    assert len(remaining) == 1 and remaining[0] not in first  # the first one's bytes are gone


def test_publishing_is_skipped_while_the_log_has_not_moved(stack: Stack) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f1"))
    assert publish_snapshot(store, snapshots) == 1
    assert publish_snapshot(store, snapshots) is None
    store.delete("EMP001")
    assert publish_snapshot(store, snapshots) == 0


def test_a_snapshot_whose_bytes_are_not_the_ones_its_manifest_names_is_refused(stack: Stack) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f1"))
    publish_snapshot(store, snapshots)
    s3, bucket = wiring.client("s3"), stack.settings.camera_bucket
    faces = wiring.table(stack.settings.faces_table)
    manifest: dict[str, Any] = faces.get_item(Key=MANIFEST_KEY)["Item"]
    # Someone who may write the bucket, not the table, puts other bytes under the key...
    forged = s3.put_object(Bucket=bucket, Key=manifest["key"], Body=b"FGS1" + bytes(60))
    assert snapshots.latest() is not None  # ...the manifest still names the old version
    # ...and with the table's version id moved too, the digest still refuses it.
    faces.update_item(
        Key=MANIFEST_KEY,
        UpdateExpression="SET version_id = :v, #s = :s",
        ExpressionAttributeNames={"#s": "size"},
        ExpressionAttributeValues={":v": forged["VersionId"], ":s": 64},
    )
    assert snapshots.latest() is None
    faces.update_item(
        Key=MANIFEST_KEY,
        UpdateExpression="SET sha256 = :d",
        ExpressionAttributeValues={":d": hashlib.sha256(b"FGS1" + bytes(60)).hexdigest()},
    )
    # A digest that matches bytes that do not unpack: the engine reads the table instead.
    sync = GallerySync(store, snapshots)
    assert sync.current().face_ids == ["f1"] and (sync.full_loads, sync.snapshot_loads) == (1, 0)


def test_a_snapshot_object_gone_is_no_snapshot(stack: Stack) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f1"))
    publish_snapshot(store, snapshots)
    for key, version in snapshot_versions(stack):
        wiring.client("s3").delete_object(Bucket=stack.settings.camera_bucket, Key=key, VersionId=version)
    assert snapshots.latest() is None


def test_a_cold_engine_starts_from_the_snapshot_and_the_log_since(stack: Stack) -> None:
    store, snapshots = ports(stack)
    for n in range(30):
        store.put(face(f"EMP{n % 6:03d}", f"f{n}"))
    publish_snapshot(store, snapshots)
    store.delete("EMP002")
    store.put(face("EMP900", "f-late"))
    sync = GallerySync(store, snapshots)
    gallery = sync.current()
    assert (sync.full_loads, sync.snapshot_loads, sync.changes_applied) == (0, 1, 2)
    assert sorted(gallery.face_ids) == sorted(f.face_id for f in store.load())


def test_a_log_entry_expired_past_the_snapshot_means_one_full_read(stack: Stack) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f1"))
    publish_snapshot(store, snapshots)
    store.put(face("EMP001", "f2"))
    shard = shard_of("EMP001")
    wiring.table(stack.settings.faces_table).delete_item(
        Key={"employee_id": f"#log#{shard:02d}", "face_id": f"{store.heads()[shard]:012d}"}
    )  # DynamoDB's TTL took it
    sync = GallerySync(store, snapshots)
    assert sorted(sync.current().face_ids) == ["f1", "f2"] and sync.full_loads == 1


class Interleaved(DynamoFaceStore):
    """A store (a container) that runs ``between`` once, after reading its shard's head and
    before sending its transaction: another container's change lands in that window."""

    def __init__(self, table: Any, between: Any) -> None:
        super().__init__(table)
        self._between = between

    def _head(self, shard: int) -> int:
        seq = super()._head(shard)
        between, self._between = self._between, None
        if between is not None:
            between()
        return seq


def same_shard_as(employee_id: str) -> str:
    return next(
        f"EMP{n}"
        for n in range(1000)
        if shard_of(f"EMP{n}") == shard_of(employee_id) and f"EMP{n}" != employee_id
    )


def other_shard_than(employee_id: str) -> str:
    return next(f"EMP{n}" for n in range(1000) if shard_of(f"EMP{n}") != shard_of(employee_id))


def test_a_change_that_loses_its_shard_s_head_to_another_is_logged_after_it(stack: Stack) -> None:
    table = wiring.table(stack.settings.faces_table)
    other = DynamoFaceStore(table)
    rival = same_shard_as("EMP001")
    store = Interleaved(table, lambda: other.put(face(rival, "f-rival")))
    store.put(face("EMP001", "f-mine"))
    assert store.conflicts == 1  # its condition on the head failed once; read again, sent again
    heads = store.heads()
    changes = store.changes((0,) * SHARDS, heads)  # None would mean a gap
    assert changes is not None and [c.face_ids[0] for c in changes] == ["f-rival", "f-mine"]
    assert sum(heads) == 2


def test_changes_in_different_shards_never_wait_for_each_other(stack: Stack) -> None:
    table = wiring.table(stack.settings.faces_table)
    other = DynamoFaceStore(table)
    store = Interleaved(table, lambda: other.put(face(other_shard_than("EMP001"), "f-other")))
    store.put(face("EMP001", "f-mine"))
    assert store.conflicts == 0 and sum(store.heads()) == 2


def test_employees_spread_over_the_shards(stack: Stack) -> None:
    shards = [shard_of(f"EMP{n:04d}") for n in range(1600)]
    counts = np.bincount(shards, minlength=SHARDS)
    assert len(counts) == SHARDS and counts.min() > 60  # about 100 each


def test_a_packed_snapshot_is_half_the_bytes_of_its_float32_rows(stack: Stack) -> None:
    store, snapshots = ports(stack)
    for n in range(200):
        store.put(face(f"EMP{n:03d}", f"{n:032x}"))
    publish_snapshot(store, snapshots)
    latest = snapshots.latest()
    assert isinstance(latest, PackedSnapshot)
    rows = 200 * 128 * 4
    assert rows / 2 < len(latest.data) < rows * 0.75


def test_erasure_strips_the_employee_s_id_from_the_log_and_a_container_behind_still_removes_them(
    stack: Stack,
) -> None:
    store, _ = ports(stack)
    behind = GallerySync(store)
    behind.current()  # a warm container that has seen none of what follows
    store.put(face("EMP001", "f1"))
    store.put(face("EMP001", "f2"))
    store.put(face("EMP002", "f3"))
    store.delete("EMP001")
    assert store.strip_from_log("EMP001") == 3
    items = stack.session.client("dynamodb").scan(TableName=stack.settings.faces_table)["Items"]
    assert "EMP001" not in str(items)
    assert behind.current().face_ids == ["f3"] and behind.full_loads == 1  # its first look only


class LoadsThen(DynamoFaceStore):
    """A store (the snapshot schedule's) that runs ``between`` once, after its full read and
    before it publishes: an erasure lands in that window."""

    def __init__(self, table: Any, between: Any) -> None:
        super().__init__(table)
        self._between = between

    def load(self, consistent: bool = False) -> list[StoredFace]:
        faces = super().load(consistent)
        between, self._between = self._between, None
        if between is not None:
            between()
        return faces


def face_ids_in_every_version(stack: Stack) -> list[list[str]]:
    s3, bucket = wiring.client("s3"), stack.settings.camera_bucket
    found = []
    for key, version in snapshot_versions(stack):
        body = s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
        found.append([face_id for face_id in ("f-erased", "f-kept") if face_id.encode() in body])
    return found


def test_a_snapshot_read_before_an_erasure_and_published_after_it_never_brings_the_faces_back(
    stack: Stack,
) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f-erased"))
    store.put(face("EMP002", "f-kept"))

    def erasure() -> None:  # as the erasure worker's faces step does it
        store.delete("EMP001")
        store.strip_from_log("EMP001")
        publish_snapshot(store, snapshots)

    schedule = LoadsThen(wiring.table(stack.settings.faces_table), erasure)
    # Read before the erasure, published after it: refused, and the next try finds it current.
    assert publish_snapshot(schedule, snapshots) is None
    assert face_ids_in_every_version(stack) == [["f-kept"]]
    assert snapshots.latest_heads() == store.heads()
    latest = snapshots.latest()
    assert latest is not None and b"EMP001" not in latest.data


def test_a_manifest_naming_a_snapshot_gone_is_published_again_though_nothing_changed(stack: Stack) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f1"))
    publish_snapshot(store, snapshots)
    for key, version in snapshot_versions(stack):  # a racing publisher's sweep took it
        wiring.client("s3").delete_object(Bucket=stack.settings.camera_bucket, Key=key, VersionId=version)
    assert publish_snapshot(store, snapshots) == 1  # not "unchanged": cold starts read it again
    assert snapshots.latest() is not None


class ChangesEveryRead(DynamoFaceStore):
    """A store another container enrolls into during each of its full reads."""

    def load(self, consistent: bool = False) -> list[StoredFace]:
        faces = super().load(consistent)
        DynamoFaceStore(self._table).put(face("EMP777", f"f-{len(faces)}"))
        return faces


def test_a_table_that_moves_during_every_read_gets_no_snapshot_and_leaves_no_object(stack: Stack) -> None:
    _, snapshots = ports(stack)
    store = ChangesEveryRead(wiring.table(stack.settings.faces_table))
    with pytest.raises(SnapshotRaced):
        publish_snapshot(store, snapshots)
    assert snapshots.latest() is None and snapshot_versions(stack) == []


def test_erasure_under_constant_enrollments_withdraws_the_old_snapshot_instead_of_failing(
    stack: Stack,
) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f-erased"))
    store.put(face("EMP002", "f-kept"))
    publish_snapshot(store, snapshots)  # the snapshot cold containers start from holds EMP001
    importing = ChangesEveryRead(wiring.table(stack.settings.faces_table))
    importing.delete("EMP001")  # erasure's faces step, while an import lands a face per read
    importing.strip_from_log("EMP001")
    publish_or_withdraw_snapshot(importing, snapshots)  # no SnapshotRaced: the job goes on
    assert snapshots.latest() is None and snapshot_versions(stack) == []
    sync = GallerySync(store, snapshots)  # a cold container reads the table: EMP001 is not there
    assert "EMP001" not in sync.current().employee_ids and sync.full_loads == 1
    assert publish_snapshot(store, snapshots) is not None  # the schedule's next run publishes


def test_the_reads_that_decide_which_faces_to_delete_are_strongly_consistent(stack: Stack) -> None:
    # An eventually consistent Query may miss a face enrolled a moment before: erasure would
    # then leave it (and its embedding) in the table and in every container.
    queries: list[dict[str, Any]] = []
    wiring.reset()
    wiring._session().events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: queries.append(params)
    )
    store, _ = wiring.gallery_ports(stack.settings)
    store.put(face("EMP001", "f1"))
    store.of_employee("EMP001")
    store.delete("EMP001")
    assert len(queries) == 2 and all(query.get("ConsistentRead") is True for query in queries)


class PublishesThen(S3GallerySnapshots):
    """Snapshots whose publish runs ``between`` once, after writing its object and before its
    manifest: another publisher (the schedule and erasure run side by side) lands there."""

    def __init__(self, stack: Stack, between: Any) -> None:
        super().__init__(
            wiring.client("s3"), stack.settings.camera_bucket, wiring.table(stack.settings.faces_table)
        )
        self._between = between

    def _heads_still(self, heads: Any) -> list[dict[str, Any]]:
        between, self._between = self._between, None
        if between is not None:
            between()
        return super()._heads_still(heads)


def test_two_publishers_at_the_same_heads_leave_one_snapshot_that_the_manifest_names(stack: Stack) -> None:
    store, snapshots = ports(stack)
    store.put(face("EMP001", "f1"))
    racing = PublishesThen(stack, lambda: publish_snapshot(store, snapshots))
    assert publish_snapshot(store, racing) is None  # the other one published these heads first
    assert snapshots.latest() is not None and len(snapshot_versions(stack)) == 1
