"""The gallery at scale: a 100,000-face gallery loaded cold, and refreshed after one change,
against today's full Scan, side by side on one local DynamoDB and S3 (moto).

``python -m bench.gallery [--faces N]`` prints the figures; ``python -m bench`` includes them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib import wiring
from chalicelib.aws.faces import DynamoFaceStore, shard_of
from chalicelib.aws.gallery_snapshots import S3GallerySnapshots
from chalicelib.core.ports import StoredFace
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.gallery_sync import GallerySync, publish_snapshot
from sandbox.stack import running_stack

FACES = 100_000
FACES_PER_EMPLOYEE = 3


def _median_s(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _fill(store: DynamoFaceStore, table: Any, faces: int) -> None:
    """``faces`` synthetic faces written straight into the table (as many enrollments would
    leave it), then one enrollment through the store so the log has a head."""
    import numpy as np

    random = np.random.default_rng(17)
    vectors = random.normal(0, 0.09, (faces, 128)).astype("<f4")
    with table.batch_writer() as batch:
        for row in range(faces):
            employee_id = f"E{row // FACES_PER_EMPLOYEE:06d}"
            batch.put_item(
                Item={
                    "employee_id": employee_id,
                    "face_id": f"{row:032x}",
                    "embedding": vectors[row].tobytes(),
                    "created_at": "2026-12-01T00:00:00+00:00",
                }
            )
    store.put(StoredFace("E-first", "first", vectors[0].tobytes(), ""))


def run(faces: int = FACES, repeats: int = 3) -> dict[str, Any]:
    """Cold load and one-change refresh vs today's full Scan; snapshot size and build time."""
    import numpy as np

    with running_stack() as stack:
        from botocore.config import Config

        store, snapshots = wiring.gallery_ports(stack.settings)
        # moto deep-copies the whole table for every transaction (its rollback): at 100,000
        # faces one enrollment takes seconds there, so the writes (not measured) get a
        # patient client of their own; every read measured goes through the stage's.
        patient = Config(read_timeout=900, retries={"mode": "standard", "total_max_attempts": 1})
        table = stack.session.resource("dynamodb", config=patient).Table(stack.settings.faces_table)
        writer = DynamoFaceStore(table)
        # Publishing's manifest is one transaction with a check per shard's head: 17 copies of
        # the table in moto, so the publisher is patient too (its reads are the Scan's).
        publisher = S3GallerySnapshots(stack.s3, stack.settings.camera_bucket, table)
        _fill(writer, table, faces)

        def full_scan() -> Gallery:  # today's path: every face item, parsed, then one matrix
            return Gallery.of_faces(store.heads(), store.load(consistent=True))

        # Once: against moto it takes minutes at 100,000 faces (each page re-sorts the table).
        full_s = _median_s(full_scan, 1)
        started = time.perf_counter()
        published = publish_snapshot(DynamoFaceStore(table), publisher)
        build_s = time.perf_counter() - started
        latest = snapshots.latest()
        assert published == faces + 1 and latest is not None
        # A few changes after the snapshot, as between two scheduled runs.
        extra = np.random.default_rng(3).normal(0, 0.09, (5, 128)).astype("<f4")
        for n in range(5):
            writer.put(StoredFace(f"E-late{n}", f"late{n}", extra[n].tobytes(), ""))

        def cold() -> GallerySync:
            sync = GallerySync(store, snapshots)
            gallery = sync.current()
            assert sync.snapshot_loads == 1 and len(gallery) == faces + 6
            return sync

        cold_s = _median_s(cold, repeats)
        warm = cold()
        refresh_times = []
        for n in range(max(repeats, 5)):
            employee_id = f"E-new{n}"  # one enrollment elsewhere, then this container's next scan
            writer.put(StoredFace(employee_id, f"new{n}", extra[n % 5].tobytes(), ""))
            started = time.perf_counter()
            gallery = warm.current()
            refresh_times.append(time.perf_counter() - started)
            assert gallery.owner_index(employee_id) is not None
        refresh_s = statistics.median(refresh_times)
        unchanged_s = _median_s(warm.current, 20)
    return {
        "gallery_faces": faces,
        "gallery_full_scan_load_s": round(full_s, 3),
        "gallery_cold_load_s": round(cold_s, 3),
        "gallery_refresh_one_change_ms": round(refresh_s * 1000, 2),
        "gallery_refresh_unchanged_ms": round(unchanged_s * 1000, 2),
        "gallery_cold_load_100k_vs_full_scan": round(cold_s / full_s, 4),
        "gallery_refresh_one_change_100k_vs_full_scan": round(refresh_s / full_s, 5),
        "gallery_scan_parse_floor_s": round(parse_floor_s := scan_parse_floor(faces), 3),
        "gallery_cold_load_vs_scan_parse_floor": round(cold_s / parse_floor_s, 4),
        "gallery_snapshot_mb": round(len(latest.data) / 1e6, 1),
        "gallery_snapshot_build_s": round(build_s, 2),
        "gallery_shards_used_by_1000_employees": len({shard_of(f"E{n:06d}") for n in range(1000)}),
        **float16_error(),
    }


def scan_parse_floor(faces: int) -> float:
    """What a full Scan costs on the client alone, whatever the server: botocore parsing the
    pages' DynamoDB JSON and boto3 deserialising the items (no network, no moto). Today's
    path paid at least this on every cold start and after every enrollment."""
    import base64

    import numpy as np
    from boto3.dynamodb.types import TypeDeserializer
    from botocore.parsers import create_parser
    from botocore.session import get_session

    shape = get_session().get_service_model("dynamodb").operation_model("Scan").output_shape
    assert shape is not None
    parser = create_parser("json")
    deserializer = TypeDeserializer()
    vectors = np.random.default_rng(1).normal(0, 0.09, (faces, 128)).astype("<f4")
    page_items = 1_000_000 // 850  # a Scan page is at most 1 MB: ~850 bytes a face item
    bodies = []
    for start in range(0, faces, page_items):
        items = [
            {
                "employee_id": {"S": f"E{row // FACES_PER_EMPLOYEE:06d}"},
                "face_id": {"S": f"{row:032x}"},
                "embedding": {"B": base64.b64encode(vectors[row].tobytes()).decode()},
                "created_at": {"S": "2026-12-01T00:00:00+00:00"},
            }
            for row in range(start, min(faces, start + page_items))
        ]
        bodies.append(json.dumps({"Items": items, "Count": len(items), "ScannedCount": len(items)}).encode())
    started = time.perf_counter()
    for body in bodies:
        response = {"status_code": 200, "headers": {}, "body": body}
        parsed = parser.parse(response, shape)
        [{key: deserializer.deserialize(value) for key, value in item.items()} for item in parsed["Items"]]
    return time.perf_counter() - started


def float16_error() -> dict[str, Any]:
    """What storing rows as float16 changes: every pair of the test photos' embeddings,
    similarity with float32 rows vs float16 rows, and whether any decision flips."""
    import numpy as np

    from chalicelib.core.config import ImageLimits, Policy
    from chalicelib.engines.local import LocalEngine
    from chalicelib.scanning.imaging import normalise
    from sandbox.memory_faces import InMemoryFaceStore
    from sandbox.photos import ensure_photos

    engine = LocalEngine(InMemoryFaceStore(), Policy())
    embeddings = []
    for photo in sorted(ensure_photos().glob("*.jpg")):
        image = normalise(photo.read_bytes(), ImageLimits())
        embeddings += [engine.embed(chip) for chip in engine.detect(image)]
    rows = np.stack(embeddings)
    half = rows.astype("<f2").astype(np.float32)
    threshold = Policy().match_threshold
    worst, flips, pairs = 0.0, 0, 0
    for i in range(len(rows)):
        for j in range(len(rows)):
            if i == j:
                continue
            exact = engine.model.score(float(np.sum((rows[i] - rows[j]) ** 2)))
            stored = engine.model.score(float(np.sum((rows[i] - half[j]) ** 2)))
            worst = max(worst, abs(exact - stored))
            flips += (exact >= threshold) != (stored >= threshold)
            pairs += 1
    return {
        "snapshot_float16_pairs": pairs,
        "snapshot_float16_max_similarity_change": round(worst, 4),
        "snapshot_float16_decisions_changed": flips,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=int, default=FACES)
    parser.add_argument("--out", type=Path, help="merge the figures into this results.json")
    args = parser.parse_args()
    figures = run(args.faces)
    print(json.dumps(figures, indent=2))
    if args.out:
        results = json.loads(args.out.read_text()) if args.out.exists() else {}
        results.update(figures)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
