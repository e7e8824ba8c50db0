"""Enrollment templates side by side: ``python -m bench.templates --dataset DIR``.

Does keeping more than one vector per enrolled photo pay? For each variant of the
ENROLLMENT side (the probes, i.e. door scans, stay one plain embedding: the door's latency
does not grow), in one run on the same chips: the hardest genuine pair (lowest similarity
of a probe to another photo of its own person), the nearest stranger (highest similarity
of a probe to someone else's photo), the gap between them, FAR / FRR on pairs at the
production threshold, a leave-one-out door simulation with the margin rule, the gallery
size factor and the enrollment time per photo relative to today's (detect + embed).

dlib's jitter is random on every call, so the whole comparison is repeated ``--repeats``
times and each figure is given as the mean, the gap also as its range.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.core.config import ImageLimits, Policy
from chalicelib.core.errors import RejectedImage
from chalicelib.engines.dlib_model import DlibModel, _Models, similarity
from chalicelib.engines.face_model import FaceChip
from chalicelib.engines.local import LocalEngine
from chalicelib.scanning.imaging import normalise
from sandbox.memory_faces import InMemoryFaceStore

# A variant turns one face chip into its enrollment vectors, with the embedder given.
Templates = Callable[[Any, Any], list[np.ndarray]]


@dataclass(frozen=True)
class Enrolled:
    """One photo of the dataset: its probe (plain) embedding and each variant's templates."""

    person: str
    photo: str
    probe: np.ndarray
    templates: dict[str, list[np.ndarray]]
    seconds: dict[str, float]  # detect + this variant's embeddings


def _descriptor(embedder: Any, chip: Any, jitters: int = 0) -> np.ndarray:
    with _Models.inference:
        return np.asarray(embedder.compute_face_descriptor(chip, jitters), dtype=np.float32)


def _mirror(chip: Any) -> Any:
    return np.ascontiguousarray(chip[:, ::-1])


def variants(jitters: list[int]) -> dict[str, Templates]:
    """Today's one plain vector, and the candidates, by name."""
    found: dict[str, Templates] = {
        "a plain (today)": lambda e, chip: [_descriptor(e, chip)],
        "b plain + mirrored": lambda e, chip: [_descriptor(e, chip), _descriptor(e, _mirror(chip))],
        "b' mean(plain, mirrored)": lambda e, chip: [
            (_descriptor(e, chip) + _descriptor(e, _mirror(chip))) / 2
        ],
    }
    for n in jitters:
        found[f"c jitter {n}"] = lambda e, chip, n=n: [_descriptor(e, chip, n)]  # type: ignore[misc]
    if jitters:
        n = max(jitters)
        found[f"d jitter {n} + mirrored"] = lambda e, chip, n=n: [  # type: ignore[misc]
            _descriptor(e, chip, n),
            _descriptor(e, _mirror(chip)),
        ]
    return found


def _faces(dataset: Path, engine: LocalEngine) -> list[tuple[str, str, FaceChip, float]]:
    """Every photo's largest face and the seconds its detection took."""
    found = []
    for folder in sorted(p for p in dataset.iterdir() if p.is_dir()):
        for photo in sorted(p for p in folder.iterdir() if p.is_file()):
            try:
                image = normalise(photo.read_bytes(), ImageLimits())
            except RejectedImage:
                continue
            start = time.perf_counter()
            faces = engine.detect(image)
            seconds = time.perf_counter() - start
            if faces:
                found.append((folder.name, photo.name, faces[0], seconds))
    return found


def enroll(faces: list[tuple[str, str, FaceChip, float]], named: dict[str, Templates]) -> list[Enrolled]:
    """Each variant's templates for each photo, the variants taking turns photo by photo."""
    embedder = _Models.get().embedder
    enrolled = []
    for person, photo, face, detect_seconds in faces:
        templates, seconds = {}, {}
        for name, make in named.items():
            start = time.perf_counter()
            templates[name] = make(embedder, face.chip)
            seconds[name] = detect_seconds + time.perf_counter() - start
        enrolled.append(Enrolled(person, photo, _descriptor(embedder, face.chip), templates, seconds))
    return enrolled


def _score(templates: list[np.ndarray], probe: np.ndarray) -> float:
    """A probe against one photo's templates: the nearest, as the gallery search does."""
    return float(max(similarity(float(np.linalg.norm(t - probe))) for t in templates))


def compare(enrolled: list[Enrolled], variant: str, policy: Policy) -> dict[str, Any]:
    """One variant's figures: every (enrolled photo, other photo as plain probe) pair, and
    a door simulation where each photo in turn probes a gallery of all the others."""
    genuine: list[tuple[float, str]] = []
    impostor: list[tuple[float, str]] = []
    for gallery in enrolled:
        for probe in enrolled:
            if probe is not gallery:
                score = _score(gallery.templates[variant], probe.probe)
                pair = f"{gallery.person}/{gallery.photo} enrolled, {probe.person}/{probe.photo} probing"
                (genuine if probe.person == gallery.person else impostor).append((score, pair))
    members = identified = strangers = let_in = wrong = 0
    margins = []
    for probe in enrolled:
        best: dict[str, float] = {}
        for gallery in enrolled:
            if gallery is not probe:
                score = _score(gallery.templates[variant], probe.probe)
                best[gallery.person] = max(best.get(gallery.person, 0.0), score)
        ranked = sorted(((score, person) for person, score in best.items()), reverse=True)
        margin = ranked[0][0] - ranked[1][0] if len(ranked) > 1 else 100.0
        accepted = ranked[0][0] >= policy.match_threshold and margin >= policy.match_margin
        if probe.person in best:
            members += 1
            margins.append(margin)
            identified += accepted and ranked[0][1] == probe.person
            wrong += accepted and ranked[0][1] != probe.person
        else:
            strangers += 1
            let_in += accepted
    hardest, nearest = min(genuine), max(impostor)
    return {
        "hardest_genuine": hardest[0],
        "hardest_genuine_pair": hardest[1],
        "nearest_stranger": nearest[0],
        "nearest_stranger_pair": nearest[1],
        "gap": round(hardest[0] - nearest[0], 2),
        "far": round(sum(s >= policy.match_threshold for s, _ in impostor) / len(impostor), 4),
        "frr": round(sum(s < policy.match_threshold for s, _ in genuine) / len(genuine), 4),
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "members_identified": identified,
        "members": members,
        "members_let_in_as_someone_else": wrong,
        "strangers_let_in": let_in,
        "strangers": strangers,
        "smallest_member_margin": round(min(margins), 2) if margins else None,
        "vectors_per_photo": statistics.mean(len(e.templates[variant]) for e in enrolled),
        "enroll_seconds_per_photo": statistics.median(e.seconds[variant] for e in enrolled),
    }


def evaluate(dataset: Path, jitters: list[int], repeats: int, policy: Policy | None = None) -> dict[str, Any]:
    """The variants side by side, ``repeats`` times over (dlib's jitter is random)."""
    policy = policy or Policy()
    engine = LocalEngine(InMemoryFaceStore(), policy, model=DlibModel())
    named = variants(jitters)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in named}
    photos = people = 0
    for _ in range(repeats):
        faces = _faces(dataset, engine)
        enrolled = enroll(faces, named)
        photos, people = len(enrolled), len({e.person for e in enrolled})
        for name in named:
            runs[name].append(compare(enrolled, name, policy))
    today = statistics.mean(run["enroll_seconds_per_photo"] for run in runs["a plain (today)"])
    table = {}
    for name, figures in runs.items():
        seconds = statistics.mean(run["enroll_seconds_per_photo"] for run in figures)
        gaps = [run["gap"] for run in figures]
        table[name] = {
            "hardest_genuine": _mean(figures, "hardest_genuine"),
            "nearest_stranger": _mean(figures, "nearest_stranger"),
            "gap": _mean(figures, "gap"),
            "gap_range": [min(gaps), max(gaps)],
            "hardest_genuine_pairs": sorted({run["hardest_genuine_pair"] for run in figures}),
            "nearest_stranger_pairs": sorted({run["nearest_stranger_pair"] for run in figures}),
            "genuine_pairs": figures[0]["genuine_pairs"],
            "impostor_pairs": figures[0]["impostor_pairs"],
            "far": _mean(figures, "far", 4),
            "frr": _mean(figures, "frr", 4),
            "members_identified": _mean(figures, "members_identified"),
            "members": figures[0]["members"],
            "strangers_let_in": _mean(figures, "strangers_let_in"),
            "strangers": figures[0]["strangers"],
            "smallest_member_margin": _mean(figures, "smallest_member_margin"),
            "gallery_size_factor": figures[0]["vectors_per_photo"],
            "enroll_ms_per_photo": round(seconds * 1000, 1),
            "enroll_time_ratio": round(seconds / today, 2),
        }
    return {
        "dataset": str(dataset),
        "people": people,
        "photos": photos,
        "repeats": repeats,
        "threshold": policy.match_threshold,
        "margin": policy.match_margin,
        "variants": table,
    }


def _mean(runs: list[dict[str, Any]], key: str, digits: int = 2) -> float:
    return round(float(statistics.mean(run[key] for run in runs)), digits)


def render(result: dict[str, Any]) -> str:
    lines = [
        f"{result['people']} people, {result['photos']} photos, {result['repeats']} repeats; "
        f"threshold {result['threshold']}, margin {result['margin']}; probes: one plain embedding",
        "| variant | hardest genuine | nearest stranger | gap (range) | FAR / FRR at "
        f"{result['threshold']:g} | door: members in, strangers in | smallest member margin "
        "| gallery × | enroll time × |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, v in result["variants"].items():
        lines.append(
            f"| {name} | {v['hardest_genuine']:.2f} | {v['nearest_stranger']:.2f} | "
            f"{v['gap']:.2f} ({v['gap_range'][0]:.2f}–{v['gap_range'][1]:.2f}) | "
            f"{v['far']:.3f} / {v['frr']:.3f} | {v['members_identified']:g}/{v['members']}, "
            f"{v['strangers_let_in']:g}/{v['strangers']} | {v['smallest_member_margin']:.2f} | "
            f"{v['gallery_size_factor']:g} | {v['enroll_time_ratio']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.templates", description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True, help="one folder per person")
    parser.add_argument("--out", type=Path, default=Path("bench"), help="where templates.json goes")
    parser.add_argument("--jitters", default="5,10", help="num_jitters values to try (comma-separated)")
    parser.add_argument("--repeats", type=int, default=3, help="runs (dlib's jitter is random)")
    args = parser.parse_args(argv)
    jitters = [int(n) for n in args.jitters.split(",") if n]
    result = evaluate(args.dataset, jitters, args.repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "templates.json").write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
