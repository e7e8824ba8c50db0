"""The old face model against the new, side by side in one run: ``python -m bench.models``.

OLD is dlib (HOG detector, 5-point landmarks, 150 px chip, ResNet embedding); NEW is YuNet
and SFace (``chalicelib.engines.yunet_sface``). Same photos, same process; each model's
scores are on the 0–100 scale (dlib 100·(1 − d/2.5), SFace ``similarity``) and no vector of
one model meets the other's. Figures: labelled pairs (score spread, FAR/FRR sweep,
identification), detection recall on small, rolled and really turned faces, speed per scan,
and cold start (import + load, the first in this process).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from bench import speed as speed_bench
from chalicelib.engines import yunet_sface as ys
from chalicelib.engines.dlib_model import model_folder
from sandbox.photos import ensure_photos

Array = np.ndarray
Box = tuple[float, float, float, float]  # left, top, width, height

# One face each: obama* one person, macron* and ardern* one each, the rest distinct.
SINGLES: tuple[str, ...] = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama4.jpg", "biden.jpg", "sunak.jpg")
SINGLES += ("macron.jpg", "macron2.jpg", "ardern.jpg", "ardern2.jpg", "astronaut.png", "camera.png")
GROUP = "group.jpg"  # six strangers
THRESHOLDS = range(60, 96)
SMALL_WIDTHS = (20, 30, 40, 60, 80)
ROLLS = (-45, -30, -15, 15, 30, 45)
TURNED_YAW = 15.0
MIN_IOU = 0.3
DETECTORS = ("yunet", "hog_upsample0", "hog_upsample1")  # HOG upsample 1 on small faces only
GREY = (128, 128, 128)
SMALL_FRAME = (640, 480)
PROBE_MAX_SIDE = 1280  # Policy.detect_max_side: the largest frame the local engine detects on
SPEED_FRAMES = tuple((name, size) for size in ((640, 480), (1920, 1080)) for name in (GROUP, "obama.jpg"))
REPEATS = 7


class Dlib:
    """OLD: HOG (upsample 0 unless asked), 5-point landmarks, 150 px chip, ResNet v1."""

    def __init__(self) -> None:
        import dlib

        folder = model_folder()
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self.recognizer = dlib.face_recognition_model_v1(
            str(folder / "dlib_face_recognition_resnet_model_v1.dat")
        )

    def boxes(self, rgb: Array, upsample: int = 0) -> list[Box]:
        return [(r.left(), r.top(), r.width(), r.height()) for r in self.detector(rgb, upsample)]

    def vectors(self, rgb: Array, limit: int | None = None) -> list[Array]:
        """Embeddings of the faces HOG finds (upsample 0), largest first."""
        rects = sorted(self.detector(rgb, 0), key=lambda rect: -rect.area())[:limit]
        chips = [self.dlib.get_face_chip(rgb, self.landmarks(rgb, rect), size=150) for rect in rects]
        return [np.asarray(self.recognizer.compute_face_descriptor(chip)) for chip in chips]

    def score(self, a: Array, b: Array) -> float:
        return round(max(0.0, 100 * (1 - float(np.linalg.norm(a - b)) / 2.5)), 2)


class SFace:
    """NEW: YuNet's boxes and landmarks, the ArcFace-aligned 112 px chip, SFace."""

    def __init__(self) -> None:
        self.networks = ys.Networks.get()

    def faces(self, rgb: Array) -> list[ys.YuNetFace]:
        return sorted(ys.detect(rgb, self.networks), key=lambda face: -face.width * face.height)

    def boxes(self, rgb: Array) -> list[Box]:
        return [box(face) for face in self.faces(rgb)]

    def vectors(self, rgb: Array, limit: int | None = None) -> list[Array]:
        """Embeddings of the faces YuNet finds, largest first."""
        return [ys.embed(ys.aligned_chip(rgb, face), self.networks) for face in self.faces(rgb)[:limit]]

    def score(self, a: Array, b: Array) -> float:
        return ys.similarity(float(a @ b))


def box(face: ys.YuNetFace) -> Box:
    return (face.left, face.top, face.width, face.height)


Model = Dlib | SFace


def load(path: Path, max_side: int = 0) -> Array:
    """The photo upright in RGB; scaled down to ``max_side`` if one is given and it is larger."""
    with Image.open(path) as image:
        rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    return resized(rgb, max_side / max(rgb.shape[:2])) if 0 < max_side < max(rgb.shape[:2]) else rgb


def resized(rgb: Array, scale: float) -> Array:
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def pasted(rgb: Array, size: tuple[int, int], at: tuple[int, int]) -> Array:
    """``rgb`` on a mid-grey frame of ``size``, its top-left corner at ``at`` (clipped)."""
    frame = Image.new("RGB", size, GREY)
    frame.paste(Image.fromarray(rgb), at)
    return np.asarray(frame)


def iou(a: Box, b: Box) -> float:
    width = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    overlap = width * height
    return overlap / (a[2] * a[3] + b[2] * b[3] - overlap)


@dataclass(frozen=True)
class Sample:
    person: str
    vector: Array


def samples(model: Model, photos: Path) -> tuple[list[Sample], dict[str, Any]]:
    """The largest face of each single photo and every face of the group, with what was missed."""
    found, missed = [], []
    for name in SINGLES:
        vectors = model.vectors(load(photos / name), limit=1)
        found += [Sample(Path(name).stem.rstrip("0123456789"), vector) for vector in vectors]
        missed += [] if vectors else [name]
    strangers = model.vectors(load(photos / GROUP))
    found += [Sample(f"group-{index}", vector) for index, vector in enumerate(strangers, 1)]
    return found, {"photos_without_face": missed, "group_faces": len(strangers)}


def verification(model: Model, found: list[Sample]) -> dict[str, Any]:
    genuine: list[float] = []
    impostor: list[float] = []
    for a, b in itertools.combinations(found, 2):
        (genuine if a.person == b.person else impostor).append(model.score(a.vector, b.vector))
    gap = statistics.median(genuine) - statistics.median(impostor)
    return {
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "genuine": spread(genuine),
        "impostor": spread(impostor),
        "margin_over_median_gap": round((min(genuine) - max(impostor)) / gap, 3),
        "sweep": [sweep_row(t, genuine, impostor) for t in THRESHOLDS],
    }


def spread(scores: list[float]) -> dict[str, float]:
    return {"min": min(scores), "median": round(statistics.median(scores), 2), "max": max(scores)}


def sweep_row(threshold: int, genuine: list[float], impostor: list[float]) -> dict[str, Any]:
    far = sum(score >= threshold for score in impostor)
    frr = sum(score < threshold for score in genuine)
    return {
        "threshold": threshold,
        "far": far,
        "far_fraction": round(far / len(impostor), 4),
        "frr": frr,
        "frr_fraction": round(frr / len(genuine), 4),
    }


def identification(model: Model, found: list[Sample]) -> dict[str, Any]:
    """Each photo of a person with several enrolled in turn, probed by their others; the
    gallery holds the first photo of every other identity. Margin: own − best other."""
    by_person: dict[str, list[Sample]] = {}
    for sample in found:
        by_person.setdefault(sample.person, []).append(sample)
    margins = []
    for person, own in by_person.items():
        others = [shots[0] for name, shots in by_person.items() if name != person]
        for enrolled, probe in itertools.permutations(own, 2):
            best_other = max(model.score(probe.vector, other.vector) for other in others)
            margins.append(round(model.score(probe.vector, enrolled.vector) - best_other, 2))
    return {
        "trials": len(margins),
        "rank1_correct": sum(margin > 0 for margin in margins),
        "margin_min": min(margins),
        "margin_median": round(statistics.median(margins), 2),
    }


@dataclass(frozen=True)
class Probe:
    category: str
    rgb: Array
    known: list[tuple[str, Box]]  # label, where the face is


def probes(photos: Path, new: SFace) -> Iterator[Probe]:
    """Small and rolled faces made from the photos, and the really turned ones. Known boxes are
    YuNet's on the unaltered photo (longest side capped at 1280), moved as the photo was."""
    for name in (*SINGLES, GROUP):
        rgb = load(photos / name, PROBE_MAX_SIDE)
        faces = new.faces(rgb)
        known = [(f"{name}#{index}", face) for index, face in enumerate(faces, 1)] if name == GROUP else []
        known = known or [(name, face) for face in faces[:1]]
        if name != GROUP:
            yield from small_probes(rgb, [(label, box(face)) for label, face in known])
        yield from rolled_probes(rgb, [(label, box(face)) for label, face in known])
        turned = [
            (f"{label} yaw {ys.pose(face)[0]:+.0f}°", box(face))
            for label, face in known
            if name == GROUP or abs(ys.pose(face)[0]) > TURNED_YAW
        ]
        if turned:
            yield Probe("real turns", rgb, turned)


def small_probes(rgb: Array, known: list[tuple[str, Box]]) -> Iterator[Probe]:
    """The whole photo scaled so the face is 20…80 px wide, the face centred in a grey 640×480."""
    for label, (left, top, width, height) in known:
        for face_px in SMALL_WIDTHS:
            scale = face_px / width
            at = (
                round(SMALL_FRAME[0] / 2 - (left + width / 2) * scale),
                round(SMALL_FRAME[1] / 2 - (top + height / 2) * scale),
            )
            moved = (at[0] + left * scale, at[1] + top * scale, width * scale, height * scale)
            yield Probe(f"small {face_px} px", pasted(resized(rgb, scale), SMALL_FRAME, at), [(label, moved)])


def rolled_probes(rgb: Array, known: list[tuple[str, Box]]) -> Iterator[Probe]:
    """The photo rotated (counter-clockwise, canvas grown, grey corners); each known box keeps
    its size and moves to where its centre went."""
    image = Image.fromarray(rgb)
    for angle in ROLLS:
        rolled = image.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=GREY)
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        moved = []
        for label, (left, top, width, height) in known:
            dx, dy = left + width / 2 - image.width / 2, top + height / 2 - image.height / 2
            x, y = rolled.width / 2 + dx * cos + dy * sin, rolled.height / 2 - dx * sin + dy * cos
            moved.append((label, (x - width / 2, y - height / 2, width, height)))
        yield Probe(f"roll {angle:+d}°", np.asarray(rolled), moved)


def detection(all_probes: Iterator[Probe], old: Dlib, new: SFace) -> dict[str, Any]:
    """Recall per category: a known face is found when a detection overlaps it (IoU ≥ 0.3)."""
    # HOG upsampled once scans 4× the pixels: for the small faces only, where it matters.
    finders: dict[str, Callable[[Array], list[Box]]] = dict(
        zip(DETECTORS, (new.boxes, old.boxes, partial(old.boxes, upsample=1)), strict=True)
    )
    faces: dict[str, int] = {}
    missed: dict[str, dict[str, list[str]]] = {}
    for probe in all_probes:
        faces[probe.category] = faces.get(probe.category, 0) + len(probe.known)
        for name, find in finders.items():
            if name == "hog_upsample1" and not probe.category.startswith("small"):
                continue
            found = find(probe.rgb)
            missed.setdefault(probe.category, {}).setdefault(name, []).extend(
                label for label, where in probe.known if not any(iou(where, hit) >= MIN_IOU for hit in found)
            )
    return {
        category: {"faces": count}
        | {
            name: {"recall": round(1 - len(m) / count, 3), "missed": m}
            for name, m in missed[category].items()
        }
        for category, count in faces.items()
    }


def median_ms(run: Callable[[], Any]) -> float:
    return round(speed_bench.median_ms(run, REPEATS)[0], 1)


def speed(photos: Path, old: Dlib, new: SFace) -> list[dict[str, Any]]:
    """Median ms of one scan (detect, then embed the largest face), the photo fitted into the frame."""
    rows = []
    for name, size in SPEED_FRAMES:
        photo = load(photos / name)
        scaled = resized(photo, min(size[0] / photo.shape[1], size[1] / photo.shape[0]))
        rgb = pasted(scaled, size, ((size[0] - scaled.shape[1]) // 2, (size[1] - scaled.shape[0]) // 2))
        row: dict[str, Any] = {"frame": f"{name} {size[0]}×{size[1]}"}
        for key, model in (("old", old), ("new", new)):
            row[f"{key}_ms"] = median_ms(partial(model.vectors, rgb, 1))
            row[f"{key}_faces"] = len(model.boxes(rgb))
        row["new_over_old"] = round(row["new_ms"] / row["old_ms"], 3)
        rows.append(row)
    return rows


def cold_start() -> tuple[dict[str, Any], Dlib, SFace]:
    """Each model imported and loaded, timed in this process: cold only when neither was loaded
    before (``first_in_process``, true under ``python -m bench.models``); and the peak RSS each
    load added (ru_maxrss)."""
    figures: dict[str, Any] = {"first_in_process": not {"dlib", "onnxruntime"} & set(sys.modules)}
    loaded: dict[str, Any] = {}
    for key, model in (("old", Dlib), ("new", SFace)):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        loaded[key] = model()
        seconds = time.perf_counter() - started
        added = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
        figures[key] = {"seconds": round(seconds, 3), "peak_rss_added_mb": round(added, 1)}
    figures["new_over_old"] = round(figures["new"]["seconds"] / figures["old"]["seconds"], 2)
    return figures, loaded["old"], loaded["new"]


def run(photos: Path) -> dict[str, Any]:
    """Every figure, both models on the same photos in this one process."""
    started = time.perf_counter()
    cold, old, new = cold_start()
    figures: dict[str, Any] = {"cpus": os.cpu_count(), "cold_start": cold, "pairs": {}}
    for key, model in (("old", old), ("new", new)):
        found, notes = samples(model, photos)
        figures["pairs"][key] = notes | verification(model, found)
        figures["pairs"][key]["identification"] = identification(model, found)
    figures["detection"] = detection(probes(photos, new), old, new)
    figures["speed"] = speed(photos, old, new)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


PAIR_ROWS: dict[str, Callable[[dict[str, Any]], object]] = {
    "photos without a face": lambda p: ", ".join(p["photos_without_face"]) or "-",
    "group faces": lambda p: p["group_faces"],
    "genuine / impostor pairs": lambda p: f"{p['genuine_pairs']} / {p['impostor_pairs']}",
    "genuine min/median/max": lambda p: "/".join(str(v) for v in p["genuine"].values()),
    "impostor min/median/max": lambda p: "/".join(str(v) for v in p["impostor"].values()),
    "margin ÷ median gap": lambda p: p["margin_over_median_gap"],
    "rank-1 correct": lambda p: "{rank1_correct}/{trials}".format(**p["identification"]),
    "own − best other, min/median": lambda p: "{margin_min}/{margin_median}".format(**p["identification"]),
}


# The table's columns: heading → width.
PAIR_COLUMNS = {"LABELLED PAIRS (0–100 scale)": 32, "OLD dlib": 22, "NEW SFace": 22}
SWEEP_COLUMNS = {"threshold": 10, "OLD FAR": 14, "OLD FRR": 10, "NEW FAR": 14, "NEW FRR": 10}
RECALL_COLUMNS = {"DETECTION RECALL": 18, "faces": 6, "YuNet": 8, "HOG upsample0": 15, "HOG upsample1": 15}
SPEED_COLUMNS = {"SCAN (detect+embed)": 24, "OLD ms": 8, "OLD faces": 10, "NEW ms": 8, "NEW faces": 10}
SPEED_COLUMNS |= {"new÷old": 8}


def line(columns: dict[str, int], *cells: object) -> str:
    """One table row: the first cell left-aligned, the others right-aligned."""
    first, *rest = columns.values()
    return str(cells[0]).ljust(first) + "".join(str(c).rjust(w) for c, w in zip(cells[1:], rest, strict=True))


def table(figures: dict[str, Any]) -> str:
    """The figures for a person: pairs, sweep, detection recall, speed, cold start."""
    old, new = figures["pairs"]["old"], figures["pairs"]["new"]
    lines = [line(PAIR_COLUMNS, *PAIR_COLUMNS)]
    lines += [line(PAIR_COLUMNS, label, show(old), show(new)) for label, show in PAIR_ROWS.items()]
    lines += ["", line(SWEEP_COLUMNS, *SWEEP_COLUMNS)]
    for a, b in zip(old["sweep"], new["sweep"], strict=True):
        rates = (f"{r[k]} ({r[k + '_fraction']:.0%})" for r in (a, b) for k in ("far", "frr"))
        lines.append(line(SWEEP_COLUMNS, a["threshold"], *rates))
    lines += ["", line(RECALL_COLUMNS, *RECALL_COLUMNS)]
    for category, row in figures["detection"].items():
        recalls = (f"{row[k]['recall']:.0%}" if k in row else "-" for k in DETECTORS)
        lines.append(line(RECALL_COLUMNS, category, row["faces"], *recalls))
    lines += ["", line(SPEED_COLUMNS, *SPEED_COLUMNS)]
    lines += [line(SPEED_COLUMNS, *row.values()) for row in figures["speed"]]
    cold = figures["cold_start"]
    first = "first load in this process" if cold["first_in_process"] else "NOT cold: loaded before"
    lines += ["", f"COLD START: import + load ({first}); peak RSS the load added"]
    lines += [
        f"{k:4}{cold[k]['seconds']:>7.2f} s{cold[k]['peak_rss_added_mb']:>8} MB" for k in ("old", "new")
    ]
    lines.append(f"new ÷ old {cold['new_over_old']}  ({figures['cpus']} CPUs; {figures['seconds']} s in all)")
    return "\n".join(lines)


def main() -> None:
    figures = run(ensure_photos())
    print(table(figures))
    print(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
