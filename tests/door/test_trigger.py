"""The upload trigger on real photos through the real YuNet detector: one person at the door
is one upload, the best frame of a burst goes up, retries and cooldown follow the decisions."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from door.camera import OpenCvCamera
from door.ports import Frame
from door.trigger import (
    FaceDetector,
    FaceTrigger,
    ModelError,
    Photo,
    TriggerState,
    default_model_path,
    faces_of,
)
from sandbox.photos import ensure_photos
from sandbox.videos import VIDEO_CACHE, letterbox, read_photo, video_from_photos

PHOTOS = ensure_photos()
FPS = 10


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def frames_of(video: Path) -> Iterator[Frame]:
    """The video's frames through the door's camera, read at the video's own times."""
    clock = Clock()
    camera = OpenCvCamera(str(video), clock=clock)
    index = 0
    while (frame := camera.read()) is not None:
        yield frame
        index += 1
        clock.now = index / FPS
    camera.close()


def video(*names: str, seconds: float = 1.0, blank_between: float = 0.0, fill: float = 1.0) -> Path:
    photos = [PHOTOS / name for name in names]
    return video_from_photos(VIDEO_CACHE, photos, seconds, FPS, blank_between=blank_between, fill=fill)


def run(trigger: FaceTrigger, frames: Iterator[Frame], answer: str | None = "AUTHORIZED") -> list[Photo]:
    """Feed every frame; each upload gets ``answer`` at once (None: the cloud never answers)."""
    photos = []
    for frame in frames:
        photo = trigger.offer(frame)
        if photo is not None:
            photos.append(photo)
            if answer is not None:
                trigger.decided(answer, frame.read_at)
    return photos


def still(name: str, read_at: float, blur: int = 0) -> Frame:
    pixels = letterbox(read_photo(PHOTOS / name), (1280, 720))
    if blur:
        pixels = np.asarray(cv2.GaussianBlur(pixels, (0, 0), blur), dtype=np.uint8)
    return Frame(pixels, read_at)


def test_one_person_standing_at_the_door_is_one_upload(detector: FaceDetector) -> None:
    # The cooldown is shorter than the stay: only the face's presence holds further uploads back.
    trigger = FaceTrigger(detector, cooldown_seconds=0.5)
    photos = run(trigger, frames_of(video("ardern.jpg", seconds=3.0)))
    assert len(photos) == 1
    photo = photos[0]
    assert (photo.attempt, photo.faces) == (1, 1) and photo.face_px >= 200 and photo.frontal > 0.9
    assert photo.read_at <= 0.4  # the first burst: five frames a tenth of a second apart
    decoded = cv2.imdecode(np.frombuffer(photo.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == (720, 1280, 3)
    assert trigger.state is TriggerState.COOLDOWN


def test_no_face_no_upload(detector: FaceDetector) -> None:
    trigger = FaceTrigger(detector)
    assert run(trigger, frames_of(video("coffee.png"))) == []
    assert trigger.state is TriggerState.IDLE


def test_a_face_smaller_than_min_face_px_is_not_uploaded(detector: FaceDetector) -> None:
    far = video("ardern.jpg", fill=0.3)
    faces = detector.detect(next(frames_of(far)).pixels)
    assert len(faces) == 1 and 40 <= faces[0].min_side < 80  # seen, and too small to send
    assert run(FaceTrigger(detector), frames_of(far)) == []


def test_a_group_is_uploaded_once_for_the_cloud_to_refuse(detector: FaceDetector) -> None:
    photos = run(FaceTrigger(detector), frames_of(video("group.jpg", seconds=2.0)), "MULTIPLE_FACES")
    assert len(photos) == 1 and photos[0].faces == 6


def test_the_burst_sends_its_sharpest_frame(detector: FaceDetector) -> None:
    trigger = FaceTrigger(detector)
    burst = [still("ardern.jpg", 0.1 * index, blur=0 if index == 2 else 3) for index in range(5)]
    photos = [trigger.offer(frame) for frame in burst]
    assert photos[:4] == [None] * 4 and trigger.state is TriggerState.WAITING
    photo = photos[4]
    assert photo is not None and photo.read_at == pytest.approx(0.2)
    assert photo.sharpness > 2 * max(
        trigger_sharpness(detector, frame) for index, frame in enumerate(burst) if index != 2
    )


def trigger_sharpness(detector: FaceDetector, frame: Frame) -> float:
    from door.trigger import sharpness

    return sharpness(frame.pixels, detector.detect(frame.pixels)[0].box)


def test_frontal_is_high_for_a_face_looking_at_the_camera_and_low_for_one_turned(
    detector: FaceDetector,
) -> None:
    (ahead,) = detector.detect(still("ardern.jpg", 0).pixels)
    (turned,) = detector.detect(still("camera.png", 0).pixels)
    assert ahead.frontal > 0.9 and turned.frontal < 0.6


def test_the_burst_ends_after_burst_seconds_with_what_it_has(detector: FaceDetector) -> None:
    trigger = FaceTrigger(detector, burst_seconds=1.0)
    assert trigger.offer(still("obama.jpg", 0.0)) is None
    assert trigger.offer(still("coffee.png", 0.5)) is None and trigger.state is TriggerState.BURST
    photo = trigger.offer(still("coffee.png", 1.1))
    assert photo is not None and photo.read_at == 0.0


def test_no_face_is_retried_up_to_attempts_then_cools_down(detector: FaceDetector) -> None:
    trigger = FaceTrigger(detector, attempts=3)
    photos = run(trigger, frames_of(video("ardern.jpg", seconds=3.0)), "NO_FACE")
    assert [photo.attempt for photo in photos] == [1, 2, 3]
    assert trigger.state is TriggerState.COOLDOWN


def test_a_retry_uses_frames_read_after_the_decision(detector: FaceDetector) -> None:
    trigger = FaceTrigger(detector, burst_frames=1)
    assert trigger.offer(still("ardern.jpg", 1.0)) is not None
    trigger.decided("LOW_QUALITY", now=2.0)
    assert trigger.offer(still("ardern.jpg", 1.5)) is None  # read before the answer: stale
    photo = trigger.offer(still("ardern.jpg", 2.1))
    assert photo is not None and photo.attempt == 2


@pytest.mark.parametrize(("away", "uploads"), [(1.5, 2), (0.5, 1)])
def test_the_cooldown_ends_once_nobody_was_there_for_cooldown_seconds(
    detector: FaceDetector, away: float, uploads: int
) -> None:
    trigger = FaceTrigger(detector, cooldown_seconds=1.0)
    frames = frames_of(video("ardern.jpg", "ardern.jpg", blank_between=away))
    photos = run(trigger, frames, "DENIED")
    assert len(photos) == uploads


def test_someone_who_leaves_before_using_every_retry_leaves_the_next_person_every_attempt(
    detector: FaceDetector,
) -> None:
    trigger = FaceTrigger(detector, attempts=3, cooldown_seconds=1.0)
    frames = frames_of(video("ardern.jpg", "obama.jpg", blank_between=1.5))
    photos = run(trigger, frames, "NO_FACE")
    assert [photo.attempt for photo in photos] == [1, 2, 1, 2]


def test_no_decision_within_the_timeout_is_final(
    detector: FaceDetector, caplog: pytest.LogCaptureFixture
) -> None:
    trigger = FaceTrigger(detector, decision_timeout=1.0, cooldown_seconds=0.5)
    photos = run(trigger, frames_of(video("ardern.jpg", seconds=3.0)), answer=None)
    assert len(photos) == 1 and trigger.state is TriggerState.COOLDOWN
    warnings = [record.getMessage() for record in caplog.records if record.name == "door.trigger"]
    assert len(warnings) == 1 and warnings[0].startswith("no decision 1.1 s after the upload")
    trigger.decided("AUTHORIZED", now=2.9)  # too late: changes nothing
    assert trigger.state is TriggerState.COOLDOWN


def test_a_4k_frame_is_detected_on_a_downscaled_copy(detector: FaceDetector) -> None:
    pixels = letterbox(read_photo(PHOTOS / "ardern.jpg"), (3840, 2160))
    (face,) = detector.detect(pixels)
    assert detector.last_input_size == (320, 180)
    assert face.min_side > 600  # the box is in the 4K frame's pixels
    x, y, width, height = face.box
    assert 1500 < x + width / 2 < 2340 and 500 < y + height / 2 < 1500


def test_yunet_rows_that_are_not_all_finite_are_dropped() -> None:
    inf, nan = float("inf"), float("nan")
    # What YuNet gave for a fresh detector's 1 × 320 frame: infinities in its box.
    degenerate = [3.75e27, -inf, 0.0, inf, 2.1e28, 2.0e27, 7.4e27, 4.8e26, 2.8e28, -1.6e26]
    degenerate += [1.6e28, 7.6e26, -1.4e27, 5.0e26, 1.0]
    face = [10.0, 20.0, 30.0, 40.0, 18.0, 35.0, 32.0, 35.0, 25.0, 42.0, 20.0, 50.0, 30.0, 50.0, 0.9]
    lost_landmark = [*face[:7], nan, *face[8:]]
    found = np.array([degenerate, face, lost_landmark], dtype=np.float32)
    [only] = faces_of(found, scale=0.5)
    assert only.box == (20, 40, 60, 80) and only.score == pytest.approx(0.9)
    assert faces_of(None, scale=1.0) == []


def test_a_model_file_with_another_digest_is_refused(tmp_path: Path) -> None:
    changed = tmp_path / "yunet.onnx"
    shutil.copyfile(default_model_path(), changed)
    with changed.open("r+b") as model:
        model.seek(-1, 2)
        last = model.read(1)
        model.seek(-1, 2)
        model.write(bytes([last[0] ^ 1]))
    with pytest.raises(ModelError, match="sha256"):
        FaceDetector(changed)
    with pytest.raises(ModelError, match="unreadable"):
        FaceDetector(tmp_path / "missing.onnx")


def test_logging_is_quiet_for_a_plain_visit(detector: FaceDetector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="door.trigger")
    run(FaceTrigger(detector), frames_of(video("obama.jpg")))
    assert [record for record in caplog.records if record.name == "door.trigger"] == []
