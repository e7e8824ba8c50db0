"""Faces cut from real photos for the daily email: small, upright, and never a crash."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from chalicelib.core.config import ImageLimits
from chalicelib.core.errors import RejectedImage
from chalicelib.core.models import BoundingBox
from chalicelib.reporting.thumbnails import (
    MAX_THUMBNAIL_BYTES,
    THUMBNAIL_PX,
    Thumbnail,
    ThumbnailBudget,
    crop_box,
    face_thumbnail,
)
from tests.images import encoded, jpeg_with_orientation, png_claiming

LIMITS = ImageLimits()
# Where the local engine finds the face in obama2.jpg (626x1200, upright).
OBAMA2_FACE = BoundingBox(164, 302, 311, 310)


def decoded(thumbnail: Thumbnail) -> Image.Image:
    image = Image.open(io.BytesIO(thumbnail.jpeg))
    assert image.format == "JPEG"
    return image.convert("RGB")


def test_a_face_becomes_a_small_square_jpeg_of_a_few_kilobytes(photos: Path) -> None:
    thumbnail = face_thumbnail((photos / "obama2.jpg").read_bytes(), OBAMA2_FACE, LIMITS)
    image = decoded(thumbnail)
    assert image.size == (thumbnail.width, thumbnail.height) == (THUMBNAIL_PX, THUMBNAIL_PX)
    assert 500 < len(thumbnail.jpeg) <= MAX_THUMBNAIL_BYTES
    assert b"Exif" not in thumbnail.jpeg[:200]  # nothing of the camera's metadata travels


def test_the_box_is_read_in_the_upright_photo_as_the_pipeline_saw_it(photos: Path) -> None:
    """A camera that stores its frames sideways with an EXIF turn: the box (found in the upright
    photo) must crop the same face from the sideways file."""
    upright = Image.open(photos / "obama2.jpg").convert("RGB")
    sideways = jpeg_with_orientation(upright.transpose(Image.Transpose.ROTATE_90), 6)  # 6: turn 90° clockwise
    from_upright = decoded(face_thumbnail(encoded(upright, "JPEG", quality=95), OBAMA2_FACE, LIMITS))
    from_sideways = decoded(face_thumbnail(sideways, OBAMA2_FACE, LIMITS))
    difference = ImageStat.Stat(ImageChops.difference(from_upright, from_sideways)).mean
    assert max(difference) < 6, difference  # JPEG noise only: the same face, the same way up


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        (BoundingBox(40, 40, 20, 20), (35, 35, 65, 65)),  # the longer side plus a quarter each way
        (BoundingBox(40, 40, 20, 10), (35, 30, 65, 60)),  # square around a wide box
        (BoundingBox(-10, -10, 30, 30), (0, 0, 28, 28)),  # cut to the photo, never past its edge
        (BoundingBox(0, 0, 10_000, 10_000), (0, 0, 100, 80)),
    ],
)
def test_the_crop_is_a_square_with_a_margin_cut_to_the_photo(
    box: BoundingBox, expected: tuple[int, int, int, int]
) -> None:
    assert crop_box(box, 100, 80) == expected


@pytest.mark.parametrize(
    "box",
    [
        BoundingBox(500, 500, 20, 20),  # beyond the photo (a record of another photo, or tampered)
        BoundingBox(95, 75, 100, 100),  # its margin reaches in, the face does not: a 5x5 sliver
        BoundingBox(-95, 10, 100, 20),
        BoundingBox(-500, 10, 20, 20),
        BoundingBox(10, 10, 0, 20),
        BoundingBox(10, 10, 20, -5),
    ],
)
def test_a_box_outside_the_photo_or_empty_is_refused(box: BoundingBox) -> None:
    with pytest.raises(RejectedImage):
        crop_box(box, 100, 80)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8\xff" + b"\x00" * 100,  # a JPEG that is only a start
        bytes(range(256)) * 40,
        png_claiming(30000, 30000),  # a decompression bomb
        b"GIF89a" + b"\x00" * 64,
    ],
    ids=["empty", "truncated-jpeg", "noise", "bomb", "gif"],
)
def test_a_photo_the_pipeline_would_refuse_gives_no_thumbnail(data: bytes) -> None:
    with pytest.raises(RejectedImage):
        face_thumbnail(data, BoundingBox(1, 1, 10, 10), LIMITS)


def test_a_photo_over_the_byte_limit_is_refused_unparsed(photos: Path) -> None:
    data = (photos / "obama2.jpg").read_bytes()
    with pytest.raises(RejectedImage, match="too large"):
        face_thumbnail(data, OBAMA2_FACE, ImageLimits(max_bytes=len(data) - 1))


def thumbnail_of(size: int) -> Thumbnail:
    return Thumbnail(bytes([size % 251]) * size, 96, 96)


def test_the_budget_caps_the_number_and_the_bytes_of_faces_in_one_email() -> None:
    by_count = ThumbnailBudget(count=2, total_bytes=10_000)
    assert [by_count.admit(thumbnail_of(100)) for _ in range(3)] == [True, True, False]
    assert by_count.spent
    by_bytes = ThumbnailBudget(count=10, total_bytes=2500)
    assert [by_bytes.admit(thumbnail_of(1000)) for _ in range(3)] == [True, True, False]
    assert by_bytes.admit(thumbnail_of(500)) and by_bytes.spent


def test_the_budget_stops_reading_photos_once_its_time_is_up() -> None:
    now = [100.0]
    budget = ThumbnailBudget(seconds=10.0, clock=lambda: now[0])
    assert not budget.spent  # the first look starts the clock
    assert budget.admit(thumbnail_of(100))
    now[0] = 109.0
    assert not budget.spent
    now[0] = 110.0
    assert budget.spent
