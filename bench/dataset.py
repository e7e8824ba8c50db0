"""The accuracy dataset made from the test photos: one folder per person.

Three photos of one person, one each of two others, and the six people of the group
photo cropped one by one — eleven people, thirteen photos. Small: it shows the method
and the engine's margins, not population error rates (use your own photos for that).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from chalicelib.core.config import ImageLimits, Policy
from chalicelib.engines.local import LocalEngine
from chalicelib.scanning.imaging import normalise
from sandbox.memory_faces import InMemoryFaceStore

PEOPLE = {
    "person-a": ["obama.jpg", "obama2.jpg", "obama3.jpg"],
    "person-b": ["biden.jpg"],
    "person-c": ["astronaut.png"],
}


def build(photos: Path, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    for person, names in PEOPLE.items():
        (out / person).mkdir(parents=True)
        for name in names:
            shutil.copy(photos / name, out / person / name)
    group = normalise((photos / "group.jpg").read_bytes(), ImageLimits())
    faces = LocalEngine(InMemoryFaceStore(), Policy()).detect(group)
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
    return out
