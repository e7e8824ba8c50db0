"""``python -m bench.decode``: the slowest file each accepted image class can be, decoded.

Every accepted class is pushed to the limits the structure check and ImageLimits allow
(40 MP, 15 MB, the JPEG block-walk budget, the PNG inflated-size budget) with content
that is slowest to decode, and ``imaging.normalise`` is timed on it: wall time
(``perf_counter``, what a caller waits, inflated when the machine is shared) and CPU time
(``process_time``, what the decode itself costs). The file of issue #11 is timed too: it
must be refused in milliseconds. Files are made once and kept in ``.cache/hostile``.
Results go to ``bench/results.json`` under ``decode_*`` keys, other keys left as they are.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from chalicelib.core.config import ImageLimits
from chalicelib.core.errors import RejectedImage
from chalicelib.scanning import image_structure
from chalicelib.scanning.imaging import normalise
from sandbox.hostile_images import (
    CACHE,
    cached,
    flat_progressive,
    issue_11_jpeg,
    png_of_zeros,
    repeated_last_scan,
    with_segments,
)

RESULTS = Path(__file__).resolve().parent / "results.json"
LIMITS = ImageLimits()
WIDTH, HEIGHT = 7300, 5470  # 39.9 MP: just under the 40 MP limit
REPEATS = 3
PROJECT_DIR = Path(__file__).resolve().parent.parent
# normalise() once in a fresh process; VmHWM, not ru_maxrss (which carries over across exec).
_PEAK = (
    "import sys; from chalicelib.core.config import ImageLimits; "
    "from chalicelib.scanning.imaging import normalise; "
    "normalise(open(sys.argv[1], 'rb').read(), ImageLimits()); "
    "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
)


def worst_files() -> dict[str, tuple[bytes, str]]:
    """class → (file, what makes it the slowest of its class)."""
    half = int((LIMITS.max_pixels // 2) ** 0.5)
    return {
        "jpeg_baseline": (cached("worst-baseline.jpg", _dense_baseline), "40 MP noise, 4:4:4, ~15 MB"),
        "jpeg_progressive_dense": (
            cached("worst-progressive-dense.jpg", _dense_progressive),
            "40 MP noise, 4:4:4, ~15 MB, extra refinement scans up to the block-walk budget",
        ),
        "jpeg_progressive_repeated_scans": (
            cached("worst-progressive-repeats.jpg", _flat_repeats),
            "40 MP 4:4:4, refinement scans repeated up to the block-walk budget",
        ),
        "jpeg_every_bound": (
            cached("worst-every-bound.jpg", _every_bound),
            "the repeated-scans file plus 65 kB of fill bytes, 1,000 quantization tables, 254 kB of "
            "APP13 and comments up to the marker bound",
        ),
        "jpeg_cmyk_progressive": (
            cached("worst-cmyk.jpg", _cmyk),
            "40 MP CMYK progressive (libjpeg's 18 scans: 6 frame walks)",
        ),
        "png_rgba8_adam7": (
            cached("worst-rgba8.png", lambda: png_of_zeros(WIDTH, HEIGHT, 8, 6, interlace=1, row_filter=4)),
            "40 MP 8-bit RGBA, Adam7, Paeth rows, max-ratio zlib (4 bytes a pixel: the budget)",
        ),
        "png_rgba16_adam7": (
            cached("worst-rgba16.png", lambda: png_of_zeros(half, half, 16, 6, interlace=1, row_filter=4)),
            "20 MP 16-bit RGBA, Adam7, Paeth rows, max-ratio zlib (the most 16-bit RGBA allowed)",
        ),
    }


def measure(data: bytes) -> dict[str, Any]:
    """normalise() on ``data``: median and worst wall and CPU seconds over ``REPEATS`` runs."""
    walls, cpus = [], []
    outcome = "accepted"
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            normalise(data, LIMITS)
        except RejectedImage as error:
            outcome = f"refused: {error}"
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "bytes": len(data),
        "outcome": outcome,
        "wall_s": round(statistics.median(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3),
    }


def run() -> dict[str, Any]:
    classes: dict[str, Any] = {}
    for name, (data, note) in worst_files().items():
        classes[name] = figures = {**measure(data), "peak_rss_mb": _peak_mb(data), "file": note}
        print(
            f"{name:34} {figures['wall_s']:6.2f} s wall {figures['cpu_s']:6.2f} s CPU "
            f"{figures['peak_rss_mb']:6.0f} MB {figures['outcome']}"
        )
    refused = measure(issue_11_jpeg())
    accepted = [figures for figures in classes.values() if figures["outcome"] == "accepted"]
    return {
        "decode_worst_wall_s": max(figures["wall_s"] for figures in accepted),
        "decode_worst_cpu_s": max(figures["cpu_s"] for figures in accepted),
        "decode_issue_11_refused_ms": round(refused["wall_s"] * 1000, 1),
        "decode_worst_case": {**classes, "issue_11_refused": {**refused, "file": "36 MP, one scan × 20,000"}},
    }


def _peak_mb(data: bytes) -> float:
    """Peak resident memory of a fresh process that normalises ``data`` (interpreter included)."""
    path = CACHE / "peak-probe.bin"
    path.write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path)], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return round(int(result.stdout.split()[-1]) / 1024, 1)


def _encoded(image: Image.Image, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def _noise() -> Image.Image:
    """Noise blurred just enough that a quality setting brings 40 MP to about 15 MB."""
    samples = np.random.default_rng(11).integers(0, 256, (HEIGHT // 2, WIDTH // 2, 3), dtype=np.uint8)
    return Image.fromarray(samples).resize((WIDTH, HEIGHT))


def _largest(make: Callable[[int], bytes]) -> bytes:
    """The file of the highest quality that still fits ``max_bytes``."""
    for quality in range(40, 0, -2):
        data = make(quality)
        if len(data) <= LIMITS.max_bytes:
            return data
    raise AssertionError("no quality fits")


def _dense_baseline() -> bytes:
    noise = _noise()
    return _largest(lambda quality: _encoded(noise, quality=quality, subsampling=0))


def _dense_progressive() -> bytes:
    noise = _noise()
    flat = flat_progressive(WIDTH, HEIGHT, subsampling=0)  # same layout, scans of no data
    return _largest(lambda q: _to_budget(_encoded(noise, quality=q, subsampling=0, progressive=True), flat))


def _flat_repeats() -> bytes:
    return _to_budget(flat_progressive(WIDTH, HEIGHT, subsampling=0))


def _every_bound() -> bytes:
    """Each parsing bound of image_structure reached at once, on top of the block-walk budget."""
    base = _flat_repeats()
    tables = with_segments(base[:2], 1, 0xDB, (b"\x00" + bytes(range(1, 65))) * 1000)
    photoshop = with_segments(b"", 4, 0xED, b"Photoshop 3.0\x00" + (b"8BIM\x04\x04" + bytes(6)) * 5400)
    markers = image_structure.check(base, LIMITS.max_pixels).parts + 5
    comments = with_segments(b"", image_structure.MAX_JPEG_SEGMENTS - markers, 0xFE, b"x")
    fill = b"\xff" * (image_structure.MAX_JPEG_JUNK_BYTES - 1000)
    return tables + photoshop + comments + fill + base[2:]


def _cmyk() -> bytes:
    return _encoded(Image.new("CMYK", (WIDTH, HEIGHT), (9, 80, 80, 9)), progressive=True)


def _to_budget(jpeg: bytes, source: bytes | None = None) -> bytes:
    """Add copies of a last scan (a luma refinement) while the file stays under the block-walk budget."""
    walks = image_structure.check(jpeg, LIMITS.max_pixels).block_walks
    once = repeated_last_scan(jpeg, 1, source)
    per_scan = image_structure.check(once, LIMITS.max_pixels).block_walks - walks
    return repeated_last_scan(jpeg, (image_structure.MAX_JPEG_BLOCK_WALKS - walks) // per_scan, source)


def main() -> int:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(run())
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"worst accepted: {results['decode_worst_wall_s']} s wall, {results['decode_worst_cpu_s']} s CPU")
    print(f"issue #11's file refused in {results['decode_issue_11_refused_ms']} ms; written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
