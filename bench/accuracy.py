"""Accuracy on a folder of people: ``python -m bench.accuracy --dataset DIR``.

The dataset has one folder per person with one or more photos. Prints and writes, for the
local engine's embeddings: verification (every pair: FAR and FRR per threshold, equal
error rate), identification with people left out of the gallery (strangers falsely let
in, per threshold), a recommended threshold, and a PNG plot of FAR and FRR. Then, per
engine (``by_engine``; the Rekognition engine through the local endpoint, so with the
bundled model's scores, not AWS's): the same identification run through each engine's
own ``add_face``, ``search`` and ``decide``, at its own default threshold.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from chalicelib.core.config import ENGINES, ImageLimits, Policy
from chalicelib.core.errors import EnrollmentError, RejectedImage
from chalicelib.core.models import Employee, NormalisedImage, SearchResult, Status
from chalicelib.core.ports import FaceEngine
from chalicelib.engines.face_model import FaceModel
from chalicelib.engines.local import LocalEngine
from chalicelib.engines.sface_model import SFaceModel
from chalicelib.scanning.imaging import normalise
from chalicelib.scanning.recognition import decide
from sandbox.memory_faces import InMemoryFaceStore

THRESHOLDS = [round(t * 0.5, 1) for t in range(0, 201)]


@dataclass(frozen=True)
class Sample:
    person: str
    photo: str
    embedding: np.ndarray


def embed_dataset(dataset: Path, model: FaceModel | None = None) -> tuple[list[Sample], list[str]]:
    """One embedding per photo (its largest face), by the engine's model or ``model``;
    photos without a face are listed apart."""
    engine = LocalEngine(InMemoryFaceStore(), Policy(), model=model)
    samples, skipped = [], []
    for folder in sorted(p for p in dataset.iterdir() if p.is_dir()):
        for photo in sorted(p for p in folder.iterdir() if p.is_file()):
            try:
                faces = engine.detect(normalise(photo.read_bytes(), ImageLimits()))
            except RejectedImage:
                faces = []
            if not faces:
                skipped.append(f"{folder.name}/{photo.name}")
                continue
            samples.append(Sample(folder.name, photo.name, engine.embed(faces[0])))
    return samples, skipped


def _similarity(first: np.ndarray, second: np.ndarray, model: FaceModel | None = None) -> float:
    """Two embeddings of ``model`` (the local engine's by default) on the 0–100 scale."""
    return (model or SFaceModel()).score(float(np.sum((first - second) ** 2)))


def verification(samples: list[Sample], model: FaceModel | None = None) -> dict[str, Any]:
    genuine: list[float] = []
    impostor: list[float] = []
    for a, b in itertools.combinations(samples, 2):
        score = _similarity(a.embedding, b.embedding, model)
        (genuine if a.person == b.person else impostor).append(score)
    rows = []
    for threshold in THRESHOLDS:
        far = sum(score >= threshold for score in impostor) / max(1, len(impostor))
        frr = sum(score < threshold for score in genuine) / max(1, len(genuine))
        rows.append({"threshold": threshold, "far": round(far, 4), "frr": round(frr, 4)})
    eer = min(rows, key=lambda row: abs(row["far"] - row["frr"]))
    return {
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "genuine_similarity": _spread(genuine),
        "impostor_similarity": _spread(impostor),
        "equal_error_rate": {"threshold": eer["threshold"], "rate": round((eer["far"] + eer["frr"]) / 2, 4)},
        "roc": rows,
    }


def enrolled_people(owners: list[str]) -> set[str]:
    """Who is enrolled in the identification runs: everyone with two photos or more (their
    other photos are the members' probes) and every other one of the rest (strangers)."""
    people = sorted(set(owners))
    several = {person for person in people if owners.count(person) > 1}
    return several | set([person for person in people if person not in several][::2])


def identification(samples: list[Sample], policy: Policy) -> dict[str, Any]:
    """Everyone with several photos and every other one of the rest enrolled (their first
    photo); all other photos probe the gallery, nearest face per person, with the margin rule."""
    enrolled = enrolled_people([sample.person for sample in samples])
    gallery = {p: next(s for s in samples if s.person == p) for p in enrolled}
    probes = [s for s in samples if s is not gallery.get(s.person)]
    by_threshold = []
    for threshold in THRESHOLDS:
        false_accepts = correct = members = strangers = 0
        for probe in probes:
            ranked = sorted(
                ((_similarity(g.embedding, probe.embedding), p) for p, g in gallery.items()),
                reverse=True,
            )
            best_score, best_person = ranked[0]
            margin_ok = len(ranked) < 2 or best_score - ranked[1][0] >= policy.match_margin
            accepted = best_score >= threshold and margin_ok
            if probe.person in enrolled:
                members += 1
                correct += accepted and best_person == probe.person
                false_accepts += accepted and best_person != probe.person
            else:
                strangers += 1
                false_accepts += accepted
        by_threshold.append(
            {
                "threshold": threshold,
                "false_accepts": false_accepts,
                "strangers": strangers,
                "members_identified": correct,
                "members": members,
            }
        )
    return {"enrolled": sorted(enrolled), "probes": len(probes), "by_threshold": by_threshold}


@contextmanager
def engine_for(name: str, policy: Policy) -> Iterator[FaceEngine]:
    """A fresh engine: the local one in memory, Rekognition's on a local endpoint."""
    if name == "local":
        yield LocalEngine(InMemoryFaceStore(), policy)
        return

    from chalicelib.engines.rekognition import RekognitionEngine
    from sandbox.rekognition import RekognitionEndpoint

    with RekognitionEndpoint(port=0) as endpoint:
        client = endpoint.client()
        client.create_collection(CollectionId="facegate-accuracy")
        yield RekognitionEngine(client, "facegate-accuracy", policy)


def engine_identification(dataset: Path, name: str) -> dict[str, Any]:
    """``identification`` through an engine's own calls and ``decide``: the people of
    ``enrolled_people`` enrolled from their first photo, every other photo a probe, decided
    at each threshold."""
    policy = Policy.for_engine(name)
    # Searched with the threshold at the margin, so the engine reports every score (from 0)
    # and each threshold is then applied by decide() to the same answers.
    seeing_all = replace(policy, match_threshold=policy.match_margin)
    photos = _photos(dataset)
    enrolled = enrolled_people([person for person, _ in photos])
    answers: list[tuple[str, SearchResult]] = []
    not_enrolled: list[str] = []
    with engine_for(name, seeing_all) as engine:
        gallery = {person: next(image for p, image in photos if p == person) for person in enrolled}
        for person, image in gallery.items():
            try:
                engine.add_face(person, image)
            except EnrollmentError:
                not_enrolled.append(person)
        for person, image in photos:
            if image is not gallery.get(person):
                answers.append((person, engine.search(image)))
    by_threshold = []
    for threshold in THRESHOLDS:
        at = replace(policy, match_threshold=threshold)
        false_accepts = correct = 0
        for person, result in answers:
            employee = Employee(result.best.employee_id, "") if result.best else None
            if decide(result, employee, at).status is not Status.AUTHORIZED or employee is None:
                continue
            correct += employee.employee_id == person
            false_accepts += employee.employee_id != person
        by_threshold.append({"threshold": threshold, "false_accepts": false_accepts, "identified": correct})
    default = next(row for row in by_threshold if row["threshold"] == policy.match_threshold)
    members = sum(person in enrolled for person, _ in answers)
    safe = [row["threshold"] for row in by_threshold if row["false_accepts"] == 0]
    return {
        "engine": name,
        "threshold": policy.match_threshold,
        "enrolled": sorted(enrolled),
        "not_enrolled": not_enrolled,
        "probes": len(answers),
        "members": members,
        "strangers": len(answers) - members,
        "members_identified": default["identified"],
        "strangers_let_in": default["false_accepts"],
        "lowest_threshold_letting_no_one_wrong_in": safe[0] if safe else None,
        "by_threshold": by_threshold,
    }


def _photos(dataset: Path) -> list[tuple[str, NormalisedImage]]:
    photos = []
    for folder in sorted(p for p in dataset.iterdir() if p.is_dir()):
        for photo in sorted(p for p in folder.iterdir() if p.is_file()):
            try:
                photos.append((folder.name, normalise(photo.read_bytes(), ImageLimits())))
            except RejectedImage:
                continue
    return photos


def recommend(verify: dict[str, Any], identify: dict[str, Any], target_far: float = 0.001) -> dict[str, Any]:
    """Among thresholds with FAR ≤ target on pairs and no stranger let in, those with the
    lowest FRR; of that band, the middle (the edges are where a new photo tips over)."""
    safe = [
        row
        for row, ident in zip(verify["roc"], identify["by_threshold"], strict=True)
        if row["far"] <= target_far and ident["false_accepts"] == 0
    ]
    if not safe:
        return {"threshold": 100.0, "target_far": target_far, "frr_at_threshold": 1.0, "safe_band": None}
    lowest = min(row["frr"] for row in safe)
    band = [row["threshold"] for row in safe if row["frr"] == lowest]
    middle = band[len(band) // 2]
    return {
        "threshold": middle,
        "target_far": target_far,
        "frr_at_threshold": lowest,
        "safe_band": [band[0], band[-1]],
    }


def plot(verify: dict[str, Any], recommended: float, out: Path) -> Path:
    """FAR and FRR against the threshold, drawn with Pillow (no plotting library needed)."""
    width, height, pad = 720, 420, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def x(threshold: float) -> float:
        return pad + (width - 2 * pad) * threshold / 100

    def y(rate: float) -> float:
        return height - pad - (height - 2 * pad) * rate

    draw.rectangle((pad, pad, width - pad, height - pad), outline="black")
    for tick in range(0, 101, 10):
        draw.line((x(tick), height - pad, x(tick), height - pad + 5), fill="black")
        draw.text((x(tick) - 8, height - pad + 8), str(tick), fill="black")
    for rate in (0.0, 0.5, 1.0):
        draw.text((8, y(rate) - 6), f"{rate:.1f}", fill="black")
    for key, colour in (("far", "#c0392b"), ("frr", "#2471a3")):
        points = [(x(row["threshold"]), y(row[key])) for row in verify["roc"]]
        draw.line(points, fill=colour, width=3)
    draw.line((x(recommended), pad, x(recommended), height - pad), fill="#27ae60", width=2)
    draw.text(
        (pad + 8, 12), "FAR (red), FRR (blue) by similarity threshold; green: recommended", fill="black"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return out


def evaluate(dataset: Path, out: Path, engines: Sequence[str] = ENGINES) -> dict[str, Any]:
    samples, skipped = embed_dataset(dataset)
    policy = Policy()
    verify = verification(samples)
    identify = identification(samples, policy)
    recommended = recommend(verify, identify)
    at_default = next(row for row in identify["by_threshold"] if row["threshold"] == policy.match_threshold)
    result = {
        "people": len({s.person for s in samples}),
        "photos": len(samples),
        "skipped_without_face": skipped,
        "verification": verify,
        "identification": identify,
        "at_default_threshold": {
            "threshold": policy.match_threshold,
            "far": next(r["far"] for r in verify["roc"] if r["threshold"] == policy.match_threshold),
            "frr": next(r["frr"] for r in verify["roc"] if r["threshold"] == policy.match_threshold),
            "strangers_let_in": at_default["false_accepts"],
        },
        "recommended": recommended,
        "plot": str(plot(verify, recommended["threshold"], out / "accuracy.png")),
        "by_engine": {name: engine_identification(dataset, name) for name in engines},
    }
    (out / "accuracy.json").write_text(json.dumps(result, indent=2))
    return result


def _spread(scores: list[float]) -> dict[str, float]:
    if not scores:
        return {}
    return {
        "min": round(min(scores), 2),
        "median": round(float(np.median(scores)), 2),
        "max": round(max(scores), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True, help="one folder per person")
    parser.add_argument("--out", type=Path, default=Path("bench"), help="where accuracy.json and .png go")
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help="engines to identify with (default: all)"
    )
    args = parser.parse_args(argv)
    result = evaluate(args.dataset, args.out, [name for name in args.engines.split(",") if name])
    verify, default, recommended = (
        result["verification"],
        result["at_default_threshold"],
        result["recommended"],
    )
    eer = verify["equal_error_rate"]
    lines = [
        f"{result['people']} people, {result['photos']} photos "
        f"({len(result['skipped_without_face'])} without a face)",
        f"pairs: {verify['genuine_pairs']} genuine {verify['genuine_similarity']}, "
        f"{verify['impostor_pairs']} impostor {verify['impostor_similarity']}",
        f"equal error rate {eer['rate']:.3f} at {eer['threshold']}",
        f"at the default threshold {default['threshold']}: FAR {default['far']:.4f}, "
        f"FRR {default['frr']:.4f}, strangers let in {default['strangers_let_in']}",
        f"recommended threshold {recommended['threshold']} (FAR ≤ {recommended['target_far']}, "
        f"FRR there {recommended['frr_at_threshold']:.3f}); plot: {result['plot']}",
    ]
    for name, figures in result["by_engine"].items():
        lines.append(
            f"{name} engine at its threshold {figures['threshold']}: "
            f"{figures['members_identified']}/{figures['members']} enrolled people let in, "
            f"{figures['strangers_let_in']} wrong people let in "
            f"(none from {figures['lowest_threshold_letting_no_one_wrong_in']})"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
