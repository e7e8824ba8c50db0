"""normalise(): what a photo must be, and the clear reason when it is not."""

from __future__ import annotations

import pytest
from PIL import Image

from chalicelib.core.config import ImageLimits
from chalicelib.core.errors import RejectedImage
from chalicelib.scanning.imaging import normalise
from tests.images import encoded, jpeg_with_orientation, png_claiming, two_tone

LIMITS = ImageLimits()


def rejection(data: bytes, limits: ImageLimits = LIMITS) -> str:
    with pytest.raises(RejectedImage) as caught:
        normalise(data, limits)
    return str(caught.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_jpeg_and_png_become_rgb(fmt: str) -> None:
    image = normalise(encoded(two_tone(), fmt), LIMITS)
    assert image.pixels.mode == "RGB"
    assert (image.width, image.height) == (60, 40)
    assert image.source_format == fmt


def test_exif_orientation_is_applied() -> None:
    # Orientation 6: the stored pixels must be turned 90° clockwise to stand upright.
    image = normalise(jpeg_with_orientation(two_tone(60, 40), 6), LIMITS)
    assert (image.width, image.height) == (40, 60)
    left, right = image.pixels.getpixel((2, 30)), image.pixels.getpixel((37, 30))
    assert isinstance(left, tuple) and isinstance(right, tuple)  # RGB pixels
    assert left[2] > 200 and right[0] > 200  # blue (was bottom) now left, red (was top) right


@pytest.mark.parametrize(
    ("mode", "fmt", "extra"),
    [
        ("L", "PNG", {}),
        ("L", "JPEG", {}),
        ("CMYK", "JPEG", {}),
        ("P", "PNG", {}),
        ("RGBA", "PNG", {}),
        ("LA", "PNG", {}),
        ("I;16", "PNG", {}),
        ("1", "PNG", {}),
    ],
)
def test_every_mode_is_flattened_to_8_bit_rgb(mode: str, fmt: str, extra: dict[str, object]) -> None:
    source = Image.new(mode, (32, 24))
    image = normalise(encoded(source, fmt, **extra), LIMITS)
    assert image.pixels.mode == "RGB"
    assert image.pixels.size == (32, 24)


def test_transparent_areas_become_white_not_black() -> None:
    clear = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert normalise(encoded(clear, "PNG"), LIMITS).pixels.getpixel((5, 5)) == (255, 255, 255)


def test_sixteen_bit_samples_are_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (8, 8), 32768)  # half of full scale
    value = normalise(encoded(grey, "PNG"), LIMITS).pixels.getpixel((4, 4))
    assert value == (128, 128, 128)


def test_empty_file() -> None:
    assert rejection(b"") == "empty file"


def test_garbage_and_text_are_not_images() -> None:
    assert "not an image" in rejection(b"\x00\x01garbage" * 100)
    assert "not an image" in rejection(b"This is a text file named photo.jpg\n")


def test_truncated_jpeg_is_rejected_with_a_reason() -> None:
    photo = encoded(two_tone(400, 300), "JPEG")
    reason = rejection(photo[: len(photo) // 2])
    assert "truncated" in reason or "corrupt" in reason


def test_truncated_png_is_rejected() -> None:
    photo = encoded(two_tone(400, 300), "PNG")
    assert rejection(photo[: len(photo) // 2])


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "TIFF", "BMP"])
def test_other_formats_are_refused_by_name(fmt: str) -> None:
    assert f"unsupported image format {fmt}" in rejection(encoded(two_tone(), fmt))


def test_too_many_bytes_is_refused_before_parsing() -> None:
    photo = encoded(two_tone(), "PNG")
    reason = rejection(photo, ImageLimits(max_bytes=len(photo) - 1))
    assert reason.startswith("file too large")


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = png_claiming(30000, 30000)
    assert len(bomb) < 200
    assert rejection(bomb).startswith("image too large")
    assert "12000x12000 is 144000000 pixels" in rejection(png_claiming(12000, 12000))


def test_pixel_limit_is_a_setting() -> None:
    assert "too large" in rejection(encoded(two_tone(100, 100), "PNG"), ImageLimits(max_pixels=9999))
    at_the_limit = normalise(encoded(two_tone(100, 100), "PNG"), ImageLimits(max_pixels=10000))
    assert at_the_limit.pixels.size == (100, 100)


def test_half_transparent_pixels_are_blended_onto_white() -> None:
    half_red = Image.new("RGBA", (4, 4), (255, 0, 0, 128))
    assert normalise(encoded(half_red, "PNG"), LIMITS).pixels.getpixel((1, 1)) == (255, 127, 127)
    grey_alpha = Image.new("LA", (4, 4), (0, 64))  # black at a quarter opacity
    assert normalise(encoded(grey_alpha, "PNG"), LIMITS).pixels.getpixel((1, 1)) == (191, 191, 191)
