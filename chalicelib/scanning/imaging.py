"""Validate and normalise an uploaded photo with Pillow, refusing what could hurt us first.

The order matters: the byte size is checked before anything is parsed, the file's
structure (image_structure: scans, frames, chunks, and the header's pixel count) before
Pillow sees it, so a decompression bomb or a decode-time trap costs a walk over markers.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from chalicelib.core.config import ImageLimits
from chalicelib.core.errors import RejectedImage, UnsafeStructure
from chalicelib.core.models import NormalisedImage
from chalicelib.scanning import image_structure

if TYPE_CHECKING:
    from PIL.Image import Image

ACCEPTED_FORMATS = ("JPEG", "PNG")


def normalise(data: bytes, limits: ImageLimits) -> NormalisedImage:
    """Return upright 8-bit RGB pixels for ``data``, or raise ``RejectedImage`` with a reason."""
    _check_before_parsing(data, limits)
    image = _open_header(data, limits)
    _check_dimensions(image, limits)
    return NormalisedImage(pixels=_decode(image), source_format=str(image.format))


def load_decoders() -> None:
    """Import Pillow and its JPEG and PNG readers now rather than at the first photo (the
    camera function's warm-up in Lambda's init calls it)."""
    from PIL import Image as PILImage
    from PIL import ImageOps, TiffImagePlugin  # noqa: F401  (normalise turns photos by their EXIF)

    PILImage.preinit()


def _check_before_parsing(data: bytes, limits: ImageLimits) -> None:
    """The byte size, then the file's structure: nothing has parsed it yet."""
    if not data:
        raise RejectedImage("empty file")
    if len(data) > limits.max_bytes:
        raise RejectedImage(f"file too large: {len(data)} bytes, limit {limits.max_bytes}")
    try:
        image_structure.check(data, limits.max_pixels)
    except UnsafeStructure as error:
        raise RejectedImage(str(error)) from None


def _open_header(data: bytes, limits: ImageLimits) -> Image:
    """Pillow's reading of the header alone: an accepted format, no pixels decoded yet."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        image = PILImage.open(io.BytesIO(data))  # reads the header only
    except UnidentifiedImageError:
        raise RejectedImage("not an image (unrecognised file format)") from None
    except PILImage.DecompressionBombError:  # Pillow's own guard fires on absurd headers
        raise RejectedImage(f"image too large: its header claims over {limits.max_pixels} pixels") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise RejectedImage(f"unreadable image header: {error}") from None
    if image.format not in ACCEPTED_FORMATS:
        raise RejectedImage(f"unsupported image format {image.format}: send JPEG or PNG")
    return image


def _check_dimensions(image: Image, limits: ImageLimits) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise RejectedImage("image has no pixels")
    if width * height > limits.max_pixels:
        raise RejectedImage(
            f"image too large: {width}x{height} is {width * height} pixels, limit {limits.max_pixels}"
        )


def _decode(image: Image) -> Image:
    """The pixels, turned upright by their EXIF orientation, as 8-bit RGB."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # no copy of 40 MP when already upright
        return _to_rgb(image)
    except PILImage.DecompressionBombError as error:
        raise RejectedImage(f"image too large: {error}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise RejectedImage(f"corrupt or truncated image: {error}") from None


def _to_rgb(image: Image) -> Image:
    """Flatten any mode (palette, alpha, grayscale, 16-bit, CMYK) onto 8-bit RGB."""
    from PIL import Image as PILImage

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I")
    if image.mode == "I":  # 16-bit samples: scale, do not clip, to 8 bits
        image = image.point(lambda value: value * (1 / 256)).convert("L")
    if image.mode == "F":
        image = image.convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        # Blend onto white by pasting through the alpha band: the same pixels as compositing
        # onto an opaque white RGBA, without two more full-size RGBA copies (at 40 MP the
        # composite peaked at 780 MB, over a 512 MB Lambda).
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        flat = PILImage.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba)
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")
