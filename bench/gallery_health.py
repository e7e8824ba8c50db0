"""``python -m bench.gallery_health``: what the gallery health job costs on the local engine.

A synthetic gallery (3 faces per employee, float32 rows as the engine holds them) walked by
the job's own steps (``health_census``, then ``health_of_rows`` a slice at a time, as the
worker does): seconds of compute per 1,000 faces walked, the faces one slice takes, and the
slowest slice. Run once per gallery size; the job is O(n²) in all, O(n) per face walked.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.core.config import Policy
from chalicelib.engines.face_health import HEALTH_SLICE_CELLS, health_census, health_of_rows
from chalicelib.engines.gallery import EMBEDDING_DIMS, Gallery
from chalicelib.engines.sface_model import SFaceModel


def synthetic_gallery(faces: int, seed: int = 7) -> Gallery:
    """``faces`` rows, 3 per employee, each near its employee's random centre."""
    import numpy as np

    random = np.random.default_rng(seed)
    people = max(1, faces // 3)
    centres = random.normal(0, 0.1, (people, EMBEDDING_DIMS)).astype(np.float32)
    owners = np.arange(faces, dtype=np.int32) % people
    rows = centres[owners] + random.normal(0, 0.02, (faces, EMBEDDING_DIMS)).astype(np.float32)
    model = SFaceModel().model_id
    return Gallery.of_arrays(
        (0,),
        [f"E{n:06d}" for n in range(people)],
        owners,
        rows,
        [f"f{n}" for n in range(faces)],
        [model],
        np.zeros(faces, dtype=np.uint8),
    )


def run(faces: int = 20_000, slice_cells: int = HEALTH_SLICE_CELLS, max_slices: int = 3) -> dict[str, Any]:
    """Time the census and up to ``max_slices`` slices of a ``faces`` gallery."""
    gallery = synthetic_gallery(faces)
    policy, model = Policy(), SFaceModel()
    started = time.perf_counter()
    census = health_census(gallery, model, slice_cells)
    census_s = time.perf_counter() - started
    timings, walked = [], 0
    for start in range(0, census.faces, census.slice_faces)[:max_slices]:
        began = time.perf_counter()
        health_of_rows(gallery, policy, model, {}, start, start + census.slice_faces)
        timings.append(time.perf_counter() - began)
        walked += min(census.slice_faces, census.faces - start)
    per_1k = sum(timings) / walked * 1000
    return {
        "health_gallery_faces": faces,
        "health_census_s": round(census_s, 4),
        "health_slice_faces": census.slice_faces,
        "health_slowest_slice_s": round(max(timings), 3),
        "health_s_per_1k_faces_walked": round(per_1k, 3),
        "health_whole_job_s_estimate": round(per_1k * faces / 1000, 1),
    }


if __name__ == "__main__":
    for size in (10_000, 30_000):
        print(run(size))
