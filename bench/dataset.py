"""The accuracy dataset made from the test photos: one folder per person.

Four photos of one person, two each of two more, one each of three others, and the people
of the group photo whose faces the door would accept, cropped one by one. Small: it shows
the method and the engine's margins, not population error rates (use your own photos).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from chalicelib.core.config import ImageLimits, Policy
from chalicelib.engines.local import LocalEngine
from chalicelib.scanning.imaging import normalise
from chalicelib.scanning.recognition import quality_problem
from sandbox.memory_faces import InMemoryFaceStore

PEOPLE = {
    "person-a": ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama4.jpg"],
    "person-b": ["biden.jpg"],
    "person-c": ["astronaut.png"],
    "person-d": ["macron.jpg", "macron2.jpg"],
    "person-e": ["ardern.jpg", "ardern2.jpg"],
    "person-f": ["sunak.jpg"],
}


def build(photos: Path, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    for person, names in PEOPLE.items():
        (out / person).mkdir(parents=True)
        for name in names:
            shutil.copy(photos / name, out / person / name)
    group = normalise((photos / "group.jpg").read_bytes(), ImageLimits())
    engine = LocalEngine(InMemoryFaceStore(), Policy())
    faces = engine.detect(group)
    for number, face in enumerate(sorted(faces, key=lambda f: f.detected.box.left), start=1):
        box = face.detected.box
        margin = box.width
        crop = group.pixels.crop(
            (
                box.left - margin,
                box.top - margin,
                box.left + box.width + margin,
                box.top + box.height + margin,
            )
        )
        (out / f"group-{number}").mkdir(parents=True)
        crop.resize((crop.width * 2, crop.height * 2), Image.Resampling.BICUBIC).save(
            out / f"group-{number}" / "face.png"
        )
    _keep_only_usable(out, engine)
    return out


def _keep_only_usable(out: Path, engine: LocalEngine) -> None:
    """Remove the photos whose largest face the door would not trust (too small, blurred or
    turned, by the default policy), and the people left with none."""
    for photo in sorted(out.glob("*/*")):
        faces = engine.detect(normalise(photo.read_bytes(), ImageLimits()))
        if not faces or quality_problem(faces[0].detected, Policy()) is not None:
            photo.unlink()
    for folder in out.iterdir():
        if not any(folder.iterdir()):
            folder.rmdir()
