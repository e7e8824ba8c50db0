"""Decode-time traps in JPEG and PNG: refused from their structure, before Pillow decodes.

Each hostile file is made here by Pillow plus byte surgery; none of them is decoded when the
guard works (which is the point), so these tests stay fast.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from functools import cache

import pytest
from PIL import Image

from chalicelib.core.config import ImageLimits
from chalicelib.core.errors import RejectedImage, UnsafeStructure
from chalicelib.scanning import image_structure
from chalicelib.scanning.imaging import normalise
from sandbox.hostile_images import (
    animated_png,
    flat_progressive,
    issue_11_jpeg,
    jpeg_segments,
    png_chunks,
    png_from_chunks,
    png_of_zeros,
    png_split_idat,
    png_with_chunks_before_idat,
    repeated_last_scan,
    with_frame_marker,
    with_segments,
    ztxt_bomb,
)
from tests.images import encoded, two_tone

LIMITS = ImageLimits()


def rejection(data: bytes, limits: ImageLimits = LIMITS) -> str:
    with pytest.raises(RejectedImage) as caught:
        normalise(data, limits)
    return str(caught.value)


@cache
def photo_jpeg() -> bytes:
    return encoded(two_tone(320, 240), "JPEG", quality=90)


def test_the_file_of_issue_11_is_refused_from_its_scans() -> None:
    reason = rejection(issue_11_jpeg())
    assert reason.startswith("image refused: its JPEG scans walk") and "too slow to decode" in reason


def test_a_small_frame_repeating_a_scan_is_refused_by_the_scan_count() -> None:
    hostile = repeated_last_scan(flat_progressive(320, 240), 40)
    assert "image refused: over 32 JPEG scans" in rejection(hostile)


def test_the_block_budget_is_reached_before_the_scan_count_on_a_large_frame() -> None:
    # 40 MP in 4:4:4: libjpeg's own ten scans walk 8.7 M blocks, ten more refinements 18.7 M.
    small = flat_progressive(64, 64, subsampling=0)
    frame = next(start for marker, start, _ in jpeg_segments(small) if marker == 0xC2)
    big = small[: frame + 5] + struct.pack(">HH", 5470, 7300) + small[frame + 9 :]
    assert image_structure.check(big, LIMITS.max_pixels).block_walks == 8_742_888
    hostile = repeated_last_scan(big, 12)
    assert image_structure.check(repeated_last_scan(big, 10), LIMITS.max_pixels).scans == 20
    assert "over 15000000 (too slow to decode)" in rejection(hostile)


@pytest.mark.parametrize(
    ("image", "options", "scans"),
    [
        (two_tone(320, 240), {"progressive": True}, 10),
        (two_tone(320, 240).convert("L"), {"progressive": True}, 6),
        (Image.new("CMYK", (320, 240), (0, 80, 80, 0)), {"progressive": True}, 18),
        (two_tone(320, 240), {"progressive": True, "subsampling": 0, "optimize": True}, 10),
        (two_tone(320, 240), {"restart_marker_blocks": 1}, 1),
    ],
)
def test_what_real_encoders_write_is_accepted(
    image: Image.Image, options: dict[str, object], scans: int
) -> None:
    data = encoded(image, "JPEG", **options)
    assert image_structure.check(data, LIMITS.max_pixels).scans == scans
    assert normalise(data, LIMITS).pixels.size == (320, 240)


def test_markers_inside_an_exif_thumbnail_and_inside_scan_data_are_not_counted() -> None:
    thumbnail = repeated_last_scan(flat_progressive(64, 48), 40)  # 50 scans, inside APP1
    app1 = b"\xff\xe1" + struct.pack(">H", len(thumbnail) + 8) + b"Exif\x00\x00" + thumbnail
    noise = Image.frombytes("RGB", (256, 256), bytes(range(256)) * 768)
    photo = encoded(noise, "JPEG", quality=100)  # plenty of stuffed 0xFF00 in its scan
    assert b"\xff\x00" in photo
    with_thumbnail = photo[:2] + app1 + photo[2:]
    assert image_structure.check(with_thumbnail, LIMITS.max_pixels).scans == 1
    assert normalise(with_thumbnail, LIMITS).pixels.size == (256, 256)


@pytest.mark.parametrize(
    ("marker", "kind"),
    [
        (0xC3, "lossless JPEG"),
        (0xC5, "hierarchical JPEG"),
        (0xC9, "arithmetic-coded JPEG"),
        (0xCA, "arithmetic-coded JPEG"),
        (0xCB, "arithmetic-coded JPEG"),
    ],
)
def test_frame_types_cameras_do_not_write_are_refused(marker: int, kind: str) -> None:
    assert rejection(with_frame_marker(photo_jpeg(), marker)).startswith(f"image refused: {kind}")


def test_a_hierarchical_image_header_is_refused() -> None:
    for code, start, end in jpeg_segments(photo_jpeg()):
        if code == 0xC0:
            header = photo_jpeg()[start:end]
    hierarchy = b"\xff\xde" + header[2:]  # DHP: the header of a hierarchical image
    assert "hierarchical JPEG" in rejection(photo_jpeg()[:2] + hierarchy + photo_jpeg()[2:])


def test_a_second_frame_is_refused() -> None:
    segments = jpeg_segments(photo_jpeg())
    _, start, end = next(segment for segment in segments if segment[0] == 0xC0)
    eoi = segments[-1][1]
    data = photo_jpeg()
    twice = data[:eoi] + data[start:end] + data[end:eoi] + data[eoi:]
    assert rejection(twice) == "image refused: JPEG with more than one frame"


def test_twelve_bit_samples_are_refused_by_name() -> None:
    data = photo_jpeg()
    _, start, _ = next(segment for segment in jpeg_segments(data) if segment[0] == 0xC0)
    twelve = data[: start + 4] + b"\x0c" + data[start + 5 :]
    assert rejection(twelve) == "image refused: 12-bit JPEG (send 8-bit)"


def test_thousands_of_segments_are_refused() -> None:
    # Pillow parses each segment before the first scan in Python: millions would take seconds.
    assert rejection(with_segments(photo_jpeg(), 1000)).startswith("image refused: over 1000 JPEG segments")
    kept = normalise(with_segments(photo_jpeg(), 200), LIMITS)  # e.g. a depth map in extended XMP
    assert (kept.pixels.size, kept.source_format) == ((320, 240), "JPEG")
    restarts = photo_jpeg()[:2] + b"\xff\xd0" * 5000 + photo_jpeg()[2:]  # markers without a length
    assert rejection(restarts).startswith("image refused: over 1000 JPEG segments")


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (lambda data: data[:-2], "truncated image: JPEG ends inside a scan"),
        (lambda data: data[:30], "truncated image: JPEG segment 0xFFDB runs past"),
        (lambda data: data[:3] + b"\x00" * 200, "truncated image: JPEG ends without its end-of-image"),
        (lambda data: b"\xff\xd8\xff\xd9", "corrupt image: JPEG without image data"),
    ],
)
def test_truncated_or_garbage_marker_streams_get_a_clear_reason(cut: object, reason: str) -> None:
    assert callable(cut)
    assert rejection(cut(photo_jpeg())).startswith(reason)


def test_junk_between_segments_is_skipped_as_libjpeg_and_pillow_skip_it() -> None:
    data = photo_jpeg()
    _, start, _ = next(segment for segment in jpeg_segments(data) if segment[0] == 0xDB)
    junk = data[:start] + b"\x00\x17junk\xff\x00" + data[start:]
    assert image_structure.check(junk, LIMITS.max_pixels).scans == 1
    assert normalise(junk, LIMITS).pixels.size == (320, 240)


@pytest.mark.parametrize(
    ("marker", "body", "reason"),
    [
        (0xDB, b"\x00" + bytes(range(1, 65)), "image refused: over 65536 bytes of JPEG quantization tables"),
        (0xED, b"Photoshop 3.0\x00" + b"8BIM\x04\x04" + bytes(6), "image refused: over 262144 bytes of JPEG"),
    ],
)
def test_segments_pillow_parses_in_python_are_bounded(marker: int, body: bytes, reason: str) -> None:
    # 15 MB of quantization tables took Pillow 1.3 s, of Photoshop resources 1.0 s.
    many = with_segments(photo_jpeg(), 10, marker, body * (60_000 // len(body)))
    assert rejection(many).startswith(reason)
    assert normalise(with_segments(photo_jpeg(), 1, marker, body * 10), LIMITS).pixels.size == (320, 240)


def test_megabytes_of_fill_bytes_are_refused() -> None:
    # Pillow skips fill bytes one at a time in Python: 15 MB of them would take it seconds.
    data = photo_jpeg()
    fill = data[:2] + b"\xff" * 100_000 + data[2:]
    assert rejection(fill) == "image refused: over 65536 junk bytes among JPEG markers"
    assert normalise(data[:2] + b"\xff" * 1000 + data[2:], LIMITS).pixels.size == (320, 240)


def test_a_frame_claiming_too_many_pixels_is_refused_from_its_header() -> None:
    data = photo_jpeg()
    _, start, _ = next(segment for segment in jpeg_segments(data) if segment[0] == 0xC0)
    huge = data[: start + 5] + struct.pack(">HH", 20000, 20000) + data[start + 9 :]
    assert "20000x20000 is 400000000 pixels, limit 40000000" in rejection(huge)


def test_an_animated_png_is_refused() -> None:
    assert rejection(animated_png()) == "image refused: animated PNG (send a single photo)"


def test_thousands_of_tiny_idat_chunks_are_refused() -> None:
    noise = Image.frombytes("L", (200, 100), random.Random(11).randbytes(20_000))  # incompressible
    png = encoded(noise, "PNG")
    assert len(png) > 5000
    assert rejection(png_split_idat(png, 1)).startswith("image refused: over 4096 PNG chunks")
    assert normalise(png_split_idat(png, 8192), LIMITS).pixels.size == (200, 100)


def test_compressed_text_and_profile_chunks_are_bounded() -> None:
    png = encoded(two_tone(), "PNG")
    nine_bombs = png_with_chunks_before_idat(png, [ztxt_bomb()] * 9)
    assert "compressed PNG text/profile chunks" in rejection(nine_bombs)
    itxt = (b"iTXt", b"k\x00\x01\x00\x00\x00" + zlib.compress(b"\x00" * 1024 * 1024))
    assert "compressed PNG text/profile chunks" in rejection(png_with_chunks_before_idat(png, [itxt] * 9))
    two_small = normalise(png_with_chunks_before_idat(png, [ztxt_bomb(1000)] * 2), LIMITS)
    assert two_small.pixels.size == (60, 40) and two_small.pixels.getpixel((0, 0)) == (255, 0, 0)


def test_png_exif_is_held_to_a_jpeg_app1_size() -> None:
    tags = struct.pack("<HHII", 0x0112, 3, 1, 6) + struct.pack("<HHII", 0x9286, 7, 4, 0) * 6000
    exif = b"II*\x00" + struct.pack("<IH", 8, 6001) + tags + b"\x00" * 4
    chunks = png_chunks(encoded(two_tone(), "PNG"))
    big = png_from_chunks([chunks[0], (b"eXIf", exif), *chunks[1:]])
    assert rejection(big) == "image refused: PNG EXIF over 65533 bytes"
    rotated = Image.Exif()
    rotated[0x0112] = 6
    assert normalise(encoded(two_tone(), "PNG", exif=rotated), LIMITS).pixels.size == (40, 60)


def test_a_png_with_an_icc_profile_and_text_is_accepted() -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    two_tone().save(buffer, format="PNG", icc_profile=profile)
    assert normalise(buffer.getvalue(), LIMITS).pixels.size == (60, 40)


def test_png_decode_work_is_bounded_by_its_inflated_size_not_its_file_size() -> None:
    limits = ImageLimits(max_pixels=1_000_000)
    sixteen_bit_rgba = png_of_zeros(1000, 1000, 16, 6, interlace=1)  # 8 MB of samples
    assert len(sixteen_bit_rgba) < 20_000
    assert "inflates to 8000000 bytes, limit 4000000" in rejection(sixteen_bit_rgba, limits)
    eight_bit_rgba = png_of_zeros(1000, 1000, 8, 6, interlace=1)  # 4 MB: 4 bytes a pixel allowed
    assert normalise(eight_bit_rgba, limits).pixels.size == (1000, 1000)
    assert normalise(png_of_zeros(700, 700, 16, 6), limits).pixels.size == (700, 700)


@pytest.mark.parametrize(
    ("depth", "colour", "interlace"),
    [(3, 2, 0), (16, 3, 0), (8, 5, 0), (8, 2, 2)],
)
def test_an_impossible_png_header_is_refused(depth: int, colour: int, interlace: int) -> None:
    header = struct.pack(">IIBBBBB", 10, 10, depth, colour, 0, 0, interlace)
    png = png_from_chunks([(b"IHDR", header), (b"IDAT", zlib.compress(b"")), (b"IEND", b"")])
    assert rejection(png).startswith("corrupt image: PNG header with colour type")


def test_a_png_without_end_or_data_gets_a_clear_reason() -> None:
    chunks = png_chunks(encoded(two_tone(), "PNG"))
    assert rejection(png_from_chunks(chunks[:-1])) == "truncated image: PNG ends without its IEND chunk"
    no_data = [chunk for chunk in chunks if chunk[0] != b"IDAT"]
    assert rejection(png_from_chunks(no_data)) == "corrupt image: PNG without image data"


def test_other_formats_are_left_to_pillow() -> None:
    assert image_structure.check(encoded(two_tone(), "GIF"), LIMITS.max_pixels).kind == ""


@pytest.mark.parametrize("size", [70_000, 1_000_000, 14_000_000])
def test_a_long_run_of_fill_bytes_is_refused_within_the_junk_allowance(size: int) -> None:
    # Searched from every byte, such a run once cost seconds per 20 kB (quadratic).
    with pytest.raises(UnsafeStructure, match="junk bytes"):
        image_structure.check(b"\xff\xd8" + b"\xff" * size, 40_000_000)
