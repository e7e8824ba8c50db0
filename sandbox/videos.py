"""Door camera videos made from the cached photos (tests, the demo, the bench): a person at the
door, nobody, a group, a 4K stream.

Each photo is letterboxed onto a frame of the video's size and held for ``seconds_each``;
grey frames between photos are "nobody at the door". Videos are MJPG .avi files (what
OpenCV's own build can always write and read back), cached under the given folder by a hash
of what went into them, so a second test asking for the same video reads the same file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from door.ports import Pixels

VIDEO_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "door-videos"  # git-ignored
VERSION = "1"  # bump when the way videos are made changes: cached files are then made again
BLANK_GREY = 128


def letterbox(image: Pixels, size: tuple[int, int], fill: float = 1.0) -> Pixels:
    """``image`` scaled to fit ``fill`` of a black frame of ``size`` (width, height), centred."""
    width, height = size
    scale = min(width / image.shape[1], height / image.shape[0]) * fill
    inner = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, inner, interpolation=interpolation)
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - inner[1]) // 2, (width - inner[0]) // 2
    frame[top : top + inner[1], left : left + inner[0]] = resized
    return frame


def read_photo(path: Path) -> Pixels:
    """A cached photo as BGR pixels."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return np.asarray(image, dtype=np.uint8)


def video_from_photos(
    folder: Path,
    photos: list[Path],
    seconds_each: float = 1.0,
    fps: int = 10,
    size: tuple[int, int] = (1280, 720),
    blank_between: float = 0.0,
    fill: float = 1.0,
) -> Path:
    """An MJPG .avi under ``folder`` showing each photo in turn (``fill``: how much of the frame
    it takes, < 1 for a face far away), ``blank_between`` seconds of grey between them."""
    key = hashlib.sha256(repr((VERSION, seconds_each, fps, size, blank_between, fill)).encode())
    for photo in photos:
        key.update(hashlib.sha256(photo.read_bytes()).digest())
    target = folder / f"{key.hexdigest()[:20]}.avi"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{target.stem}.{os.getpid()}.partial.avi"  # others never see half a video
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write an MJPG video at {partial}")
    blank = np.full((size[1], size[0], 3), BLANK_GREY, dtype=np.uint8)
    try:
        for index, photo in enumerate(photos):
            if index:
                for _ in range(round(blank_between * fps)):
                    writer.write(blank)
            frame = letterbox(read_photo(photo), size, fill)
            for _ in range(round(seconds_each * fps)):
                writer.write(frame)
    finally:
        writer.release()
    partial.replace(target)
    return target
