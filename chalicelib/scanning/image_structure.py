"""Refuse JPEG and PNG files whose structure makes decoding slow, before Pillow sees them.

Pillow's pixel limit bounds memory, not time: a progressive JPEG may repeat a near-empty
scan thousands of times and libjpeg walks every block of the frame for each one (issue #11:
a 1.3 MB, 36 MP file kept it busy for 40–70 s); Pillow parses markers, chunks, tables and
fill bytes one by one in Python. All of that can be read from the markers without decoding
a pixel, so this module walks them with plain byte reads (no Pillow, no zlib) and bounds
each by what real encoders write, measured against what it costs. Files that are neither
JPEG nor PNG pass through untouched: Pillow names and refuses them.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from chalicelib.core.errors import UnsafeStructure

JPEG_SIGNATURE = b"\xff\xd8\xff"  # what Pillow itself keys on
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# libjpeg(-turbo)'s progressive script writes 10 scans for colour, 6 for grey, 18 for CMYK;
# mozjpeg's scan search keeps at most 16 (a DC scan per component, 5 luma AC, 4 per chroma).
MAX_JPEG_SCANS = 32
# Each scan walks every block (8x8 samples) of the components it names, however little data
# it holds (an AC refinement scan checks all 63 coefficients of each): the work is pixels ×
# scans. libjpeg's colour script walks the frame's blocks 5.3 times (4:2:0) or 4.7 times
# (4:4:4), mozjpeg's up to 5.7, its grey one 6: a 40 MP 4:4:4 progressive photo walks 8.8
# million blocks, a CMYK one 15.0 million. At this bound the slowest 40 MP file took ~1.1 s
# of CPU to decode here (bench.decode; docs/PERFORMANCE.md).
MAX_JPEG_BLOCK_WALKS = 15_000_000
# Real files carry APPn segments (extended XMP, e.g. a phone's depth map, takes up to ~100),
# a DQT, a DHT per scan: tens to hundreds. Pillow parses each one before the first scan in
# Python: a million 5-byte segments (5 MB) took it 1.5 s of CPU here, 15 MB of them ~4.5 s.
MAX_JPEG_SEGMENTS = 1000
# Junk and fill bytes (0xFF runs) between segments are legal-ish and skipped, but Pillow skips
# them byte by byte in Python: 1 MB of fill took it 0.4 s of CPU, a 15 MB file's worth 6 s.
# Quirky real files carry a few bytes of it.
MAX_JPEG_JUNK_BYTES = 64 * 1024
# Segments Pillow parses item by item in Python: 15 MB of quantization tables took it 1.3 s of
# CPU, 15 MB of Photoshop resources (APP13) 1.0 s. Real files carry 2–4 tables (under 1 kB)
# and, from editors, tens of kB of APP13; other segments Pillow keeps or skips whole.
MAX_JPEG_PARSED_BYTES = {0xDB: ("quantization tables", 64 * 1024), 0xED: ("Photoshop APP13 data", 256 * 1024)}
# Huffman sequential (baseline, extended) and progressive: all that cameras and phones write.
JPEG_FRAMES = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive"}
JPEG_REFUSED_FRAMES = {
    0xC3: "lossless",
    0xC5: "hierarchical",
    0xC6: "hierarchical",
    0xC7: "hierarchical",
    0xC9: "arithmetic-coded",
    0xCA: "arithmetic-coded",
    0xCB: "arithmetic-coded",
    0xCD: "hierarchical arithmetic-coded",
    0xCE: "hierarchical arithmetic-coded",
    0xCF: "hierarchical arithmetic-coded",
}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length
_SOS, _EOI, _SOI, _DHP, _EXP = 0xDA, 0xD9, 0xD8, 0xDE, 0xDF
# After a scan's coded data: 0xFF then anything but a stuffed zero, a restart or a fill byte.
# A regex, not a Python loop over every 0xFF: a file of stuffed bytes must not slow us down.
_MARKER_AFTER_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# One 0xFF and the marker byte: fixed length, so a search is linear in the bytes it passes
# (``\xff+`` would retry from every byte of a long 0xFF run: quadratic).
_NEXT_MARKER = re.compile(rb"\xff([^\x00\xff])")

# libpng writes 8 KiB IDAT chunks (1,900 for a 15 MB file); other encoders write larger ones.
# Pillow reads chunks one by one in Python: a million 3-byte IDATs (15 MB) took 1.7 s of CPU
# here, 300,000 tEXt chunks 0.7 s; 4,096 chunks take 0.02 s.
MAX_PNG_CHUNKS = 4096
# zTXt, compressed iTXt and iCCP are inflated while the header is read; Pillow caps each at
# 1 MiB out, so bound how many there are and how much goes in.
MAX_PNG_COMPRESSED_ANCILLARY = 8
MAX_PNG_COMPRESSED_ANCILLARY_BYTES = 1024 * 1024
# EXIF is parsed (and rewritten when rotated) tag by tag: a 780 kB eXIf of 65,000 tags took
# 0.9 s of CPU. A JPEG's APP1 cannot exceed 64 kB; hold PNG's eXIf to the same.
MAX_PNG_EXIF_BYTES = 65533
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# PNG decode work is the inflated sample data (inflate, unfilter, unpack), whatever the
# compressed size: a 330 kB 16-bit RGBA file at 40 MP inflates to 320 MB and took 1.7 s of
# CPU here. Allow 4 bytes a pixel at the pixel limit (8-bit RGBA, 1.1 s): 16-bit RGBA up to
# half the pixel limit, anything 8-bit up to all of it.
PNG_BYTES_PER_LIMIT_PIXEL = 4


@dataclass(frozen=True)
class _Component:
    ident: int
    blocks: int  # 8x8 blocks of this component in the frame


@dataclass(frozen=True)
class Structure:
    """What the walk found: the decode work a file asks for, in units we bound."""

    kind: str  # "JPEG", "PNG" or "" (left to Pillow)
    parts: int = 0  # JPEG segments or PNG chunks
    scans: int = 0  # JPEG only
    block_walks: int = 0  # JPEG: blocks walked by all scans together


def check(data: bytes, max_pixels: int) -> Structure:
    """Raise ``UnsafeStructure`` if ``data`` is a JPEG or PNG that would decode slowly or is malformed."""
    if data.startswith(JPEG_SIGNATURE):
        return _check_jpeg(data, max_pixels)
    if data.startswith(PNG_SIGNATURE):
        return _check_png(data, max_pixels)
    return Structure("")


def _check_jpeg(data: bytes, max_pixels: int) -> Structure:
    components: list[_Component] = []
    scans = segments = walks = junk = 0
    parsed: dict[int, int] = {}
    pos = 2
    while True:
        marker, start = _next_marker(data, pos)
        junk += start - pos - 2  # all but the marker's own two bytes
        if junk > MAX_JPEG_JUNK_BYTES:
            raise UnsafeStructure(f"image refused: over {MAX_JPEG_JUNK_BYTES} junk bytes among JPEG markers")
        pos = start
        if marker == _EOI:
            break
        segments += 1  # markers without a length too: millions of them would cost seconds
        if segments > MAX_JPEG_SEGMENTS:
            raise UnsafeStructure(f"image refused: over {MAX_JPEG_SEGMENTS} JPEG segments (cameras: tens)")
        if marker in _STANDALONE:
            continue
        end = _segment_end(data, pos, marker)
        _count_parsed(parsed, marker, end - pos)
        _refuse_frame_kind(marker)
        body = data[pos + 2 : end]
        if marker in JPEG_FRAMES:
            if components:
                raise UnsafeStructure("image refused: JPEG with more than one frame")
            components = _frame(body, max_pixels)
        elif marker == _SOS:
            scans, walks = _count_scan(body, components, scans, walks)
            end = _skip_entropy_coded(data, end)
        pos = end
    if not scans:
        raise UnsafeStructure("corrupt image: JPEG without image data")
    return Structure("JPEG", segments, scans, walks)


def _segment_end(data: bytes, pos: int, marker: int) -> int:
    """Where the segment starting at ``pos`` ends, from its length (a second SOI has none)."""
    if marker == _SOI:
        raise UnsafeStructure("corrupt image: a second JPEG start-of-image marker")
    if pos + 2 > len(data):
        raise UnsafeStructure("truncated image: JPEG ends inside a marker")
    (length,) = struct.unpack_from(">H", data, pos)
    end: int = pos + length
    if length < 2 or end > len(data):
        raise UnsafeStructure(f"truncated image: JPEG segment 0xFF{marker:02X} runs past the file's end")
    return end


def _count_parsed(parsed: dict[int, int], marker: int, length: int) -> None:
    """Add a segment Pillow parses item by item to its kind's total, within that kind's bound."""
    if marker not in MAX_JPEG_PARSED_BYTES:
        return
    parsed[marker] = parsed.get(marker, 0) + length
    what, most = MAX_JPEG_PARSED_BYTES[marker]
    if parsed[marker] > most:
        raise UnsafeStructure(f"image refused: over {most} bytes of JPEG {what}")


def _refuse_frame_kind(marker: int) -> None:
    if marker in JPEG_REFUSED_FRAMES or marker in (_DHP, _EXP):
        kind = JPEG_REFUSED_FRAMES.get(marker, "hierarchical")
        raise UnsafeStructure(f"image refused: {kind} JPEG (send a baseline or progressive one)")


def _count_scan(body: bytes, components: list[_Component], scans: int, walks: int) -> tuple[int, int]:
    """One more scan: the scans and the blocks they walk so far, each within its bound."""
    if not components:
        raise UnsafeStructure("corrupt image: JPEG scan before its frame header")
    scans += 1
    if scans > MAX_JPEG_SCANS:
        raise UnsafeStructure(f"image refused: over {MAX_JPEG_SCANS} JPEG scans (encoders: ≤ 18)")
    walks += _scan_blocks(body, components)
    if walks > MAX_JPEG_BLOCK_WALKS:
        frames = walks / sum(c.blocks for c in components)
        raise UnsafeStructure(
            f"image refused: its JPEG scans walk {walks} blocks ({frames:.1f} times the frame), "
            f"over {MAX_JPEG_BLOCK_WALKS} (too slow to decode)"
        )
    return scans, walks


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The next marker from ``pos`` and where its segment starts.

    Junk before a marker (stray bytes, a stuffed 0xFF00, fill bytes) is skipped, as libjpeg
    and Pillow skip it: cameras and editors write such files and they decode.
    """
    # Never look further than the junk allowance: beyond it the file is refused anyway.
    window = pos + MAX_JPEG_JUNK_BYTES + 2
    found = _NEXT_MARKER.search(data, pos, window)
    if found is None:
        if window < len(data):
            raise UnsafeStructure(f"image refused: over {MAX_JPEG_JUNK_BYTES} junk bytes among JPEG markers")
        raise UnsafeStructure("truncated image: JPEG ends without its end-of-image marker")
    return found[1][0], found.end()


def _skip_entropy_coded(data: bytes, pos: int) -> int:
    """The offset of the first marker after a scan's coded data (stuffed 0xFF00 and RSTn are data)."""
    found = _MARKER_AFTER_DATA.search(data, pos)
    if found is None:
        raise UnsafeStructure("truncated image: JPEG ends inside a scan")
    return found.start()


def _frame(body: bytes, max_pixels: int) -> list[_Component]:
    if len(body) < 6:
        raise UnsafeStructure("corrupt image: JPEG frame header too short")
    precision, height, width, count = struct.unpack_from(">BHHB", body)
    if precision != 8:
        raise UnsafeStructure(f"image refused: {precision}-bit JPEG (send 8-bit)")
    if width == 0 or height == 0:
        raise UnsafeStructure("image has no pixels (JPEG frame of zero width or height)")
    if width * height > max_pixels:
        raise UnsafeStructure(
            f"image too large: {width}x{height} is {width * height} pixels, limit {max_pixels}"
        )
    if count not in (1, 3, 4) or len(body) < 6 + 3 * count:
        raise UnsafeStructure(f"image refused: JPEG with {count} components (send grey, colour or CMYK)")
    sampling = [(body[7 + 3 * n] >> 4, body[7 + 3 * n] & 0x0F) for n in range(count)]
    if not all(1 <= h <= 4 and 1 <= v <= 4 for h, v in sampling):
        raise UnsafeStructure(f"corrupt image: JPEG sampling factors {sampling}")
    h_max, v_max = max(h for h, _ in sampling), max(v for _, v in sampling)
    return [
        _Component(body[6 + 3 * n], _ceil(_ceil(width * h, h_max), 8) * _ceil(_ceil(height * v, v_max), 8))
        for n, (h, v) in enumerate(sampling)
    ]


def _ceil(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _scan_blocks(body: bytes, components: list[_Component]) -> int:
    """How many blocks one scan walks: all those of the components it names."""
    if not body or len(body) < 1 + 2 * body[0] + 3:
        raise UnsafeStructure("corrupt image: JPEG scan header too short")
    idents = {body[1 + 2 * n] for n in range(body[0])}
    blocks = sum(c.blocks for c in components if c.ident in idents)
    if not blocks:
        raise UnsafeStructure("corrupt image: JPEG scan of a component the frame does not have")
    return blocks


def _check_png(data: bytes, max_pixels: int) -> Structure:
    pos = len(PNG_SIGNATURE)
    chunks = 0
    compressed = _Compressed()
    seen_idat = False
    while True:
        length, kind, end = _png_chunk(data, pos)
        body_start = pos + 8
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise UnsafeStructure(f"image refused: over {MAX_PNG_CHUNKS} PNG chunks")
        if chunks == 1:
            if kind != b"IHDR" or length != 13:
                raise UnsafeStructure("corrupt image: PNG does not start with its IHDR chunk")
            _png_header(data[body_start : body_start + 13], max_pixels)
        elif kind in (b"acTL", b"fcTL", b"fdAT"):
            raise UnsafeStructure("image refused: animated PNG (send a single photo)")
        elif kind == b"IDAT":
            seen_idat = True
        elif kind == b"IEND":
            break
        else:
            _check_ancillary(data, kind, body_start, end, compressed)
        pos = end
    if not seen_idat:
        raise UnsafeStructure("corrupt image: PNG without image data")
    return Structure("PNG", chunks)


def _png_chunk(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """The length and type of the chunk at ``pos``, and where it ends (its CRC included)."""
    if pos + 8 > len(data):
        raise UnsafeStructure("truncated image: PNG ends without its IEND chunk")
    length, kind = struct.unpack_from(">I4s", data, pos)
    end = pos + 12 + length
    if end > len(data):
        raise UnsafeStructure(f"truncated image: PNG chunk {kind!r} runs past the end of the file")
    return length, kind, end


@dataclass
class _Compressed:
    """The compressed ancillary chunks seen so far: Pillow inflates them with the header."""

    chunks: int = 0
    size: int = 0  # bytes, compressed


def _check_ancillary(data: bytes, kind: bytes, body_start: int, end: int, compressed: _Compressed) -> None:
    """eXIf within its bound; a compressed text or profile chunk counted against theirs."""
    length = end - body_start - 4
    if kind == b"eXIf" and length > MAX_PNG_EXIF_BYTES:
        raise UnsafeStructure(f"image refused: PNG EXIF over {MAX_PNG_EXIF_BYTES} bytes")
    if kind in (b"zTXt", b"iCCP") or (kind == b"iTXt" and _itxt_compressed(data[body_start:end])):
        compressed.chunks += 1
        compressed.size += length
        too_many = compressed.chunks > MAX_PNG_COMPRESSED_ANCILLARY
        if too_many or compressed.size > MAX_PNG_COMPRESSED_ANCILLARY_BYTES:
            raise UnsafeStructure(
                f"image refused: over {MAX_PNG_COMPRESSED_ANCILLARY} compressed PNG text/profile chunks "
                f"or {MAX_PNG_COMPRESSED_ANCILLARY_BYTES} bytes of them"
            )


def _png_header(header: bytes, max_pixels: int) -> None:
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
    if width == 0 or height == 0:
        raise UnsafeStructure("image has no pixels (PNG of zero width or height)")
    if width * height > max_pixels:
        raise UnsafeStructure(
            f"image too large: {width}x{height} is {width * height} pixels, limit {max_pixels}"
        )
    if depth not in _PNG_DEPTHS.get(colour, ()) or compression or filtering or interlace > 1:
        raise UnsafeStructure(
            f"corrupt image: PNG header with colour type {colour}, bit depth {depth}, "
            f"compression {compression}, filter {filtering}, interlace {interlace}"
        )
    samples = _ceil(width * depth * _PNG_CHANNELS[colour], 8) * height
    if samples > PNG_BYTES_PER_LIMIT_PIXEL * max_pixels:
        raise UnsafeStructure(
            f"image too large: a {width}x{height} PNG of {depth}-bit colour type {colour} inflates to "
            f"{samples} bytes, limit {PNG_BYTES_PER_LIMIT_PIXEL * max_pixels} (send 8-bit or fewer pixels)"
        )


def _itxt_compressed(body: bytes) -> bool:
    """iTXt: keyword, NUL, compression flag, ... (only a set flag means zlib data)."""
    keyword_end = body.find(b"\0")
    return 0 <= keyword_end < len(body) - 1 and body[keyword_end + 1] == 1
