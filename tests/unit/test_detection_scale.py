"""How far the local engine shrinks a frame before detecting faces (pure arithmetic)."""

from __future__ import annotations

import pytest

from chalicelib.core.config import Policy, Settings
from chalicelib.engines.dlib_model import HOG_WINDOW_PX, detection_scale


@pytest.mark.parametrize(
    ("width", "height", "scale"),
    [
        (640, 480, 1.0),  # small frames are never enlarged
        (1280, 720, 1.0),  # the long side at the limit
        (1920, 1080, 1280 / 1920),
        (1080, 1920, 1280 / 1920),  # portrait: the long side counts, not the width
        (4000, 3000, 0.32),
    ],
)
def test_large_frames_shrink_to_the_long_side_limit(width: int, height: int, scale: float) -> None:
    assert detection_scale(width, height, Policy()) == pytest.approx(scale)


def test_zero_never_shrinks_for_size() -> None:
    policy = Policy(detect_max_side=0)
    assert detection_scale(8000, 6000, policy) == 1.0
    assert Settings.from_env({"FACEGATE_DETECT_MAX_SIDE": "0"}).policy.detect_max_side == 0


def test_large_minimum_faces_shrink_so_they_still_fill_the_window() -> None:
    # Faces of at least 160 px need no more than half the pixels to fill an 80 px window.
    assert detection_scale(640, 480, Policy(min_face_px=2 * HOG_WINDOW_PX)) == 0.5
    assert detection_scale(4000, 3000, Policy(min_face_px=2 * HOG_WINDOW_PX)) == pytest.approx(0.32)
    assert detection_scale(640, 480, Policy(min_face_px=40)) == 1.0  # small faces: never enlarged
