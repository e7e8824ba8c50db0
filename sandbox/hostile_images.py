"""Hostile JPEG and PNG files made by code (Pillow + byte surgery): decode-time traps.

Beside ``photos.py``: the tests try the system with them and ``bench.decode`` times them,
and bench never imports tests (tests/unit/test_layers.py).
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from PIL import Image

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "hostile"  # git-ignored
_SEGMENT_AFTER_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def cached(name: str, make: Callable[[], bytes]) -> bytes:
    """``make()``'s bytes, kept on disk: some of these take seconds to encode."""
    path = CACHE / name
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(make())
        partial.replace(path)
    return path.read_bytes()


def issue_11_jpeg() -> bytes:
    """The file of issue #11: a 36 MP progressive JPEG repeating one scan 20,000 times (~2 MB).

    Pillow took 40–70 s over it; every size and pixel limit let it through.
    """
    return cached("issue-11.jpg", lambda: repeated_last_scan(flat_progressive(6000, 6000), 20_000))


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of every segment, each scan's coded data included in its SOS."""
    found, pos = [], 2
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            found.append((marker, pos, pos + 2))
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        if marker == 0xDA:
            match = _SEGMENT_AFTER_DATA.search(data, end)
            assert match is not None
            end = match.start()
        found.append((marker, pos, end))
        pos = end
    return found


def flat_progressive(width: int, height: int, **options: object) -> bytes:
    """A progressive JPEG of a flat colour: its scans hold almost no data."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 150)).save(
        buffer, format="JPEG", progressive=True, quality=90, **options
    )
    return buffer.getvalue()


def repeated_last_scan(jpeg: bytes, extra: int, source: bytes | None = None) -> bytes:
    """Repeat the last scan (with the tables just before it) ``extra`` times before EOI.

    libjpeg warns about the bogus progression and walks every block of the scan's
    components again each time: decode time grows with pixels × repeats. ``source``: take
    the scan from another file of the same frame layout (a flat image's scan is tiny).
    """
    source = source or jpeg
    segments = jpeg_segments(source)
    scans = [n for n, (marker, _, _) in enumerate(segments) if marker == 0xDA]
    first = scans[-1]
    while first > 0 and segments[first - 1][0] == 0xC4:  # its Huffman tables
        first -= 1
    group = source[segments[first][1] : segments[scans[-1]][2]]
    eoi = jpeg_segments(jpeg)[-1][1]
    return jpeg[:eoi] + group * extra + jpeg[eoi:]


def with_frame_marker(jpeg: bytes, marker: int) -> bytes:
    """The same file labelled with another SOF type (lossless, arithmetic, hierarchical...)."""
    for code, start, _ in jpeg_segments(jpeg):
        if code in (0xC0, 0xC1, 0xC2):
            return jpeg[: start + 1] + bytes([marker]) + jpeg[start + 2 :]
    raise ValueError("no frame header")


def with_segments(jpeg: bytes, count: int, marker: int = 0xFE, body: bytes = b"x") -> bytes:
    """``count`` extra segments (COM by default) right after SOI."""
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body
    return jpeg[:2] + segment * count + jpeg[2:]


def png_of_zeros(
    width: int, height: int, depth: int, colour: int, *, interlace: int = 0, row_filter: int = 0
) -> bytes:
    """A PNG of all-zero rows at zlib's best ratio: a tiny file, every sample of it inflated.

    ``row_filter`` 4 (Paeth) makes Pillow do the most arithmetic per byte to unfilter it.
    """
    bits = depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
    passes.append((0, 1, 1, 2))  # Adam7: (first column, first row, column step, row step)
    compressor = zlib.compressobj(9)
    parts = []
    for x0, y0, dx, dy in passes if interlace else [(0, 0, 1, 1)]:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            row = bytes([row_filter]) + b"\x00" * -(-columns * bits // 8)
            parts += [compressor.compress(row) for _ in range(rows)]
    stream = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    palette = [(b"PLTE", b"\x00\x00\x00\xff\xff\xff")] if colour == 3 else []
    return png_from_chunks([(b"IHDR", header), *palette, (b"IDAT", stream), (b"IEND", b"")])


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk."""
    found, pos = [], 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack_from(">I4s", png, pos)
        found.append((kind, png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return found


def png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(kind, data) for kind, data in chunks)


def png_split_idat(png: bytes, size: int) -> bytes:
    """The same image with its compressed data cut into IDAT chunks of ``size`` bytes."""
    chunks = png_chunks(png)
    stream = b"".join(data for kind, data in chunks if kind == b"IDAT")
    head = [chunk for chunk in chunks if chunk[0] not in (b"IDAT", b"IEND")]
    idats = [(b"IDAT", stream[n : n + size]) for n in range(0, len(stream), size)]
    return png_from_chunks([*head, *idats, (b"IEND", b"")])


def png_with_chunks_before_idat(png: bytes, extra: list[tuple[bytes, bytes]]) -> bytes:
    chunks = png_chunks(png)
    return png_from_chunks([chunks[0], *extra, *chunks[1:]])


def ztxt_bomb(size: int = 1024 * 1024) -> tuple[bytes, bytes]:
    """A zTXt chunk of ~1 KiB that inflates to ``size`` bytes."""
    return b"zTXt", b"comment\x00\x00" + zlib.compress(b"\x00" * size, 9)


def animated_png(frames: int = 3) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("RGB", (32, 24), (n * 40, 0, 0)) for n in range(frames)]
    images[0].save(buffer, format="PNG", save_all=True, append_images=images[1:])
    return buffer.getvalue()
