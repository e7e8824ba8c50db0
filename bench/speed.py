"""Engine speed: ours against face_recognition's default pipeline, stage timings, 1:N search."""

from __future__ import annotations

import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.frames import SIZES, frames
from chalicelib.core.config import ImageLimits, Policy
from chalicelib.core.models import Employee, NormalisedImage
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.gallery_search import Probe, closest
from chalicelib.engines.local import LocalEngine
from chalicelib.scanning.imaging import normalise
from chalicelib.scanning.recognition import decide
from sandbox.memory_faces import InMemoryFaceStore

BENCH_SITE = Path(__file__).resolve().parent.parent / ".cache" / "bench-site"
PEOPLE = {"EMP001": Employee("EMP001", "A"), "EMP002": Employee("EMP002", "B")}
MATCH_DISTANCE = 0.5  # our default threshold 80 on dlib's distance scale


def median_ms(run: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    run()  # warm
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), samples


def enrolled_engine(photos: Path) -> LocalEngine:
    return enrolled_engine_and_store(photos)[0]


def enrolled_engine_and_store(photos: Path) -> tuple[LocalEngine, InMemoryFaceStore]:
    store = InMemoryFaceStore()
    engine = LocalEngine(store, Policy())
    for employee_id, name in (("EMP001", "obama.jpg"), ("EMP002", "biden.jpg")):
        engine.add_face(employee_id, normalise((photos / name).read_bytes(), ImageLimits()))
    return engine, store


def face_recognition_module() -> Any:
    """face_recognition 1.3.0 from the bench's own site folder (installed with --no-deps)."""
    if str(BENCH_SITE) not in sys.path:
        sys.path.insert(0, str(BENCH_SITE))
    try:
        import pkg_resources  # noqa: F401 (face_recognition_models needs it)
    except ImportError:  # setuptools ≥ 82: give it the one function it uses
        import importlib.util

        shim = types.ModuleType("pkg_resources")

        def resource_filename(package: str, name: str) -> str:
            spec = importlib.util.find_spec(package)
            assert spec is not None and spec.submodule_search_locations
            return str(Path(next(iter(spec.submodule_search_locations))) / name)

        shim.resource_filename = resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    import face_recognition

    return face_recognition


def compare_with_face_recognition(photos: Path, repeats: int = 5) -> dict[str, Any]:
    """Median per-photo time of both pipelines on the same frames, and their decisions."""
    engine = enrolled_engine(photos)
    fr = face_recognition_module()
    known = {
        employee_id: fr.face_encodings(np.asarray(Image.open(photos / name).convert("RGB")))[0]
        for employee_id, name in (("EMP001", "obama.jpg"), ("EMP002", "biden.jpg"))
    }
    largest = _locator(engine)
    results: dict[str, Any] = {}
    for size in SIZES:
        ours_ms, theirs_ms, agree, decisions = [], [], 0, {}
        for name, frame in frames(photos, size, largest).items():
            image = NormalisedImage(frame, "JPEG")
            pixels = np.asarray(frame)
            ours, _ = median_ms(lambda image=image: engine.search(image), repeats)  # type: ignore[misc]
            theirs, _ = median_ms(lambda pixels=pixels: fr.face_encodings(pixels), repeats)  # type: ignore[misc]
            ours_ms.append(ours)
            theirs_ms.append(theirs)
            mine = _our_decision(engine, image)
            other = _their_decision(fr, pixels, known)
            agree += mine == other
            decisions[name] = {"facegate": mine, "face_recognition": other}
        ratio = statistics.median(ours_ms) / statistics.median(theirs_ms)
        results[size] = {
            "ours_ms": round(statistics.median(ours_ms), 1),
            "face_recognition_ms": round(statistics.median(theirs_ms), 1),
            "ratio": round(ratio, 3),
            "decisions_agree": f"{agree}/{len(decisions)}",
            "decisions": decisions,
        }
    return results


def _locator(engine: LocalEngine) -> Callable[[Image.Image], tuple[int, int, int, int]]:
    def largest_face(photo: Image.Image) -> tuple[int, int, int, int]:
        box = engine.search(NormalisedImage(photo, "JPEG")).faces[0].box
        return box.left, box.top, box.width, box.height

    return largest_face


def _our_decision(engine: LocalEngine, image: NormalisedImage) -> str:
    result = engine.search(image)
    decision = decide(result, PEOPLE.get(result.best.employee_id) if result.best else None, Policy())
    if decision.status.opens_door and decision.employee_id is not None:
        return decision.employee_id
    return "door shut"


def _their_decision(fr: Any, pixels: np.ndarray, known: dict[str, np.ndarray]) -> str:
    """face_recognition's answer with the same rule: one face, nearest within d ≤ 0.5."""
    encodings = fr.face_encodings(pixels)
    if len(encodings) != 1:
        return "door shut"
    distances = {
        employee_id: float(np.linalg.norm(encoding - encodings[0])) for employee_id, encoding in known.items()
    }
    employee_id, distance = min(distances.items(), key=lambda item: item[1])
    return employee_id if distance <= MATCH_DISTANCE else "door shut"


def stage_timings(photos: Path, repeats: int = 20) -> dict[str, dict[str, float]]:
    """p50/p95 of each stage of a scan on a 1080p frame with one face (in process)."""
    engine, store = enrolled_engine_and_store(photos)
    frame = frames(photos, "1080", _locator(engine))["obama2.jpg"]
    import io

    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=90)
    upload = buffer.getvalue()
    image = normalise(upload, ImageLimits())
    faces = engine.detect(image)
    gallery = Gallery.of_faces(store.heads(), store.load())
    embedding = engine.embed(faces[0])
    stages = {
        "decode+normalise": lambda: normalise(upload, ImageLimits()),
        "detect": lambda: engine.detect(image),
        "embed": lambda: engine.embed(faces[0]),
        "search": lambda: closest(
            gallery, Probe(engine.model, embedding, gallery.rows_of(engine.model.model_id))
        ),
    }
    return {name: _percentiles(run, repeats) for name, run in stages.items()}


def _percentiles(run: Callable[[], Any], repeats: int) -> dict[str, float]:
    _, samples = median_ms(run, repeats)
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
    }


def search_scaling(photos: Path, sizes: tuple[int, ...] = (1_000, 10_000, 100_000)) -> dict[str, float]:
    """1:N search time over synthetic galleries, as a fraction of one embedding's time."""
    engine = enrolled_engine(photos)
    image = normalise((photos / "obama2.jpg").read_bytes(), ImageLimits())
    face = engine.detect(image)[0]
    embed_ms, _ = median_ms(lambda: engine.embed(face), 10)
    probe = engine.embed(face)
    random = np.random.default_rng(7)
    out: dict[str, float] = {"embed_ms": round(embed_ms, 2)}
    for size in sizes:
        store = InMemoryFaceStore()
        vectors = random.normal(0, 0.09, (size, 128)).astype("<f4")
        from chalicelib.core.ports import StoredFace

        for row in range(size):
            store.faces[(f"E{row // 3:06d}", str(row))] = StoredFace(
                f"E{row // 3:06d}", str(row), vectors[row].tobytes(), "", engine.model.model_id
            )
        gallery = Gallery.of_faces(store.heads(), store.load())
        every_row = Probe(engine.model, probe, gallery.rows_of(engine.model.model_id))
        search_ms, _ = median_ms(lambda gallery=gallery, every_row=every_row: closest(gallery, every_row), 20)  # type: ignore[misc]
        out[f"search_{size // 1000}k_ms"] = round(search_ms, 3)
        out[f"search_{size // 1000}k_fraction_of_embed"] = round(search_ms / embed_ms, 4)
    return out
