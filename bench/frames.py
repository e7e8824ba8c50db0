"""Camera-sized frames made from the test photos: the face framed as a door camera would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image

SIZES = {"640": (640, 480), "1080": (1920, 1080)}
# How many face-widths the frame is wide: a face of 160 px at 640×480, 320 px at 1080p.
FACE_WIDTHS_ACROSS = {"640": 4.0, "1080": 6.0}
PORTRAITS = ("obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png")
SCENES = ("coffee.png", "group.jpg")  # no face; six faces: framed whole

Box = tuple[int, int, int, int]  # left, top, width, height


def frames(photos: Path, size: str, locate: Callable[[Image.Image], Box]) -> dict[str, Image.Image]:
    """One frame per test photo at ``size`` ("640" or "1080"); ``locate`` finds the face."""
    width, height = SIZES[size]
    out = {}
    for name in PORTRAITS:
        photo = Image.open(photos / name).convert("RGB")
        left, top, face_width, face_height = locate(photo)
        crop_width = face_width * FACE_WIDTHS_ACROSS[size]
        crop_height = crop_width * height / width
        centre_x, centre_y = left + face_width / 2, top + face_height / 2
        box = (
            round(centre_x - crop_width / 2),
            round(centre_y - crop_height / 2),
            round(centre_x + crop_width / 2),
            round(centre_y + crop_height / 2),
        )
        out[name] = _crop_padded(photo, box).resize((width, height), Image.Resampling.BILINEAR)
    for name in SCENES:
        photo = Image.open(photos / name).convert("RGB")
        canvas = Image.new("RGB", (width, height), (128, 128, 128))
        scale = min(width / photo.width, height / photo.height)
        fitted = photo.resize((round(photo.width * scale), round(photo.height * scale)))
        canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
        out[name] = canvas
    return out


def _crop_padded(photo: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), (128, 128, 128))
    canvas.paste(photo, (-box[0], -box[1]))
    return canvas
