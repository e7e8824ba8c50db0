"""Images made by code for the tests: every mode, broken files, bombs."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def two_tone(width: int = 60, height: int = 40) -> Image.Image:
    """Red top half, blue bottom half: orientation is visible in the pixels."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (0, height // 2, width, height))
    return image


def jpeg_with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(image, "JPEG", exif=exif, quality=95)


def side_by_side(*photos: Path, height: int = 900) -> bytes:
    """Real photos scaled to one height and pasted left to right: a frame with several people."""
    parts = [Image.open(path).convert("RGB") for path in photos]
    parts = [part.resize((round(part.width * height / part.height), height)) for part in parts]
    frame = Image.new("RGB", (sum(part.width for part in parts), height), (128, 128, 128))
    left = 0
    for part in parts:
        frame.paste(part, (left, 0))
        left += part.width
    return encoded(frame, "JPEG", quality=90)
