"""What is particular to the Rekognition engine: calls made, refusals, failures, image size."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from PIL import Image

from chalicelib import wiring
from chalicelib.core.config import Policy, Settings
from chalicelib.core.errors import DuplicateFace, EnrollmentError, RejectedImage
from chalicelib.core.models import BoundingBox, Employee, Match, NormalisedImage, Status, Upload
from chalicelib.engines.rekognition import RekognitionEngine, jpeg_within_limit
from chalicelib.scanning.pipeline import PipelinePorts, process_upload
from chalicelib.scanning.recognition import decide
from sandbox.rekognition import RekognitionEndpoint
from sandbox.rekognition_shapes import (
    COLLECTION,
    SCENES,
    JpegBytes,
    StubbedRekognition,
    index_faces_response,
    search_users_response,
)
from tests.fakes import (
    InMemoryEmployeeDirectory,
    InMemoryImageStore,
    InMemoryScanLog,
    RecordingNotifier,
    unconfigured_access,
)

Photo = Callable[[str], NormalisedImage]
POLICY = Policy()


@pytest.fixture
def service() -> StubbedRekognition:
    return StubbedRekognition()


@pytest.fixture
def engine(service: StubbedRekognition) -> RekognitionEngine:
    return RekognitionEngine(service.client, COLLECTION, POLICY)


def test_a_scan_is_exactly_one_call(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    service.expect_search("group.jpg", [("EMP001", 91.0), ("EMP002", 80.5)])
    result = engine.search(photo("group.jpg"))
    assert service.calls == ["SearchUsersByImage"]
    assert result.best is not None and (result.best.employee_id, result.best.similarity) == ("EMP001", 91.0)
    assert result.runner_up is not None and result.runner_up.employee_id == "EMP002"
    service.stubber.assert_no_pending_responses()


def test_an_enrollment_is_three_calls(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    face_id = service.expect_enrollment("EMP001", "obama.jpg")
    record = engine.add_face("EMP001", photo("obama.jpg"))
    assert service.calls == ["IndexFaces", "CreateUser", "AssociateFaces"]
    assert record.face_id == face_id and record.engine == "rekognition"


def test_enrolling_a_second_photo_tolerates_the_existing_user(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    service.expect_index("EMP001", index_faces_response("EMP001", SCENES["obama3.jpg"], "f-2"))
    service.expect_error("create_user", "ConflictException", "User already exists", 409)
    service.expect(
        "associate_faces",
        {"AssociatedFaces": [{"FaceId": "f-2"}], "UnsuccessfulFaceAssociations": []},
        UserId="EMP001",
        FaceIds=["f-2"],
    )
    assert engine.add_face("EMP001", photo("obama3.jpg")).face_id == "f-2"


def test_faces_rekognition_refuses_come_back_with_its_reasons(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    refused = {
        "FaceRecords": [],
        "UnindexedFaces": [
            {
                "Reasons": ["LOW_SHARPNESS", "SMALL_BOUNDING_BOX"],
                "FaceDetail": {"BoundingBox": {"Width": 0.05, "Height": 0.05, "Left": 0.1, "Top": 0.1}},
            }
        ],
    }
    service.expect_index("EMP001", refused)
    with pytest.raises(EnrollmentError, match="no usable face: LOW_SHARPNESS, SMALL_BOUNDING_BOX"):
        engine.add_face("EMP001", photo("obama.jpg"))


def test_a_face_that_does_not_match_the_employee_is_not_kept(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    service.expect_index("EMP001", index_faces_response("EMP001", SCENES["biden.jpg"], "f-9"))
    service.expect("create_user", {}, UserId="EMP001")
    service.expect(
        "associate_faces",
        {
            "AssociatedFaces": [],
            "UnsuccessfulFaceAssociations": [{"FaceId": "f-9", "Reasons": ["LOW_MATCH_CONFIDENCE"]}],
        },
        UserId="EMP001",
        FaceIds=["f-9"],
    )
    service.expect("delete_faces", {"DeletedFaces": ["f-9"]}, FaceIds=["f-9"])
    with pytest.raises(EnrollmentError, match="LOW_MATCH_CONFIDENCE"):
        engine.add_face("EMP001", photo("biden.jpg"))
    service.stubber.assert_no_pending_responses()


def test_a_blurred_enrollment_face_is_deleted_again(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    service.expect_index("EMP001", index_faces_response("EMP001", SCENES["obama.jpg"], "f-3", sharpness=4.0))
    service.expect("delete_faces", {"DeletedFaces": ["f-3"]}, FaceIds=["f-3"])
    with pytest.raises(EnrollmentError, match="blurred"):
        engine.add_face("EMP001", photo("obama.jpg"))


def test_rekognition_boxes_become_pixels_of_the_photo(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    image = photo("obama2.jpg")
    service.expect_search("obama2.jpg", [])
    [face] = engine.search(image).faces
    left, top, width, height = SCENES["obama2.jpg"][0]
    assert face.box.top == round(top * image.height)
    assert face.box.left == round(left * image.width) and face.box.width == round(width * image.width)
    assert face.box.height == round(height * image.height) and face.sharpness == 86.9


def test_the_margin_rule_sees_rivals_just_below_the_threshold(
    service: StubbedRekognition, photo: Photo
) -> None:
    engine = RekognitionEngine(service.client, COLLECTION, Policy(match_threshold=90, match_margin=4))
    service.expect_search("obama2.jpg", [("EMP001", 92.0), ("EMP002", 87.0)], floor=86.0)
    result = engine.search(photo("obama2.jpg"))
    assert result.runner_up is not None and result.runner_up.similarity == 87.0


@pytest.mark.parametrize("code", ["InvalidImageFormatException", "ImageTooLargeException"])
def test_images_rekognition_refuses_are_rejected(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo, code: str
) -> None:
    service.expect_error("search_users_by_image", code, "Request has invalid image format")
    with pytest.raises(RejectedImage, match=code):
        engine.search(photo("obama2.jpg"))


def test_other_invalid_parameters_are_errors_not_no_face(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    from botocore.exceptions import ClientError

    service.expect_error(
        "search_users_by_image", "InvalidParameterException", "1 validation error: CollectionId"
    )
    with pytest.raises(ClientError):
        engine.search(photo("obama2.jpg"))


def test_images_over_5_mb_are_scaled_down_to_fit() -> None:
    noise = Image.frombytes("RGB", (3000, 2400), os.urandom(3000 * 2400 * 3))
    image = NormalisedImage(noise, "PNG")
    data = jpeg_within_limit(image)
    assert len(data) <= 5 * 1024 * 1024
    assert Image.open(io.BytesIO(data)).width < 3000
    small = NormalisedImage(Image.new("RGB", (640, 480)), "PNG")
    assert Image.open(io.BytesIO(jpeg_within_limit(small))).size == (640, 480)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, Status.ERROR),
        ("ProvisionedThroughputExceededException", 400, Status.ERROR),
        ("InternalServerError", 500, Status.ERROR),
        ("AccessDeniedException", 400, Status.ERROR),
        ("InvalidImageFormatException", 400, Status.REJECTED),
    ],
)
def test_service_failures_through_the_pipeline_never_open_the_door(
    service: StubbedRekognition, photos: Path, code: str, status: int, expected: Status
) -> None:
    engine = RekognitionEngine(service.client, COLLECTION, POLICY)
    images = InMemoryImageStore()
    images.objects[("cams", "incoming/door/a.jpg")] = (photos / "obama2.jpg").read_bytes()
    scans, notifier = InMemoryScanLog(), RecordingNotifier()
    directory = InMemoryEmployeeDirectory(Employee("EMP001", "A"))
    ports = PipelinePorts(images, engine, directory, scans, notifier, unconfigured_access())
    service.expect_error("search_users_by_image", code, "simulated", status)
    upload = Upload("cams", "incoming/door/a.jpg", "v1", None, datetime.now(UTC).isoformat())
    process_upload(upload, ports, Settings.from_env({}))
    [scan] = scans.scans.values()
    assert scan.status is expected
    assert scan.engine == "rekognition"
    assert code in (scan.decision.reason or "")


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, photos: Path) -> Iterator[RekognitionEndpoint]:
    """The sandbox's Rekognition endpoint with EMP001 enrolled, and wiring's clients pointed at it."""
    served = RekognitionEndpoint()
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", served.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    wiring.reset()
    client = wiring.client("rekognition")
    client.create_collection(CollectionId=COLLECTION)
    indexed = client.index_faces(
        CollectionId=COLLECTION, Image={"Bytes": (photos / "obama.jpg").read_bytes()}
    )
    client.create_user(CollectionId=COLLECTION, UserId="EMP001")
    face_ids = [record["Face"]["FaceId"] for record in indexed["FaceRecords"]]
    client.associate_faces(CollectionId=COLLECTION, UserId="EMP001", FaceIds=face_ids)
    served.calls.clear()
    yield served
    wiring.reset()
    served.stop()


def test_wiring_client_retries_throttling_then_5xx_and_the_scan_succeeds(
    endpoint: RekognitionEndpoint, photo: Photo
) -> None:
    endpoint.fail_next(1, "ThrottlingException", 400)
    endpoint.fail_next(1, "InternalServerError", 500)
    engine = RekognitionEngine(wiring.client("rekognition"), COLLECTION, POLICY)
    result = engine.search(photo("obama2.jpg"))
    assert result.best is not None and result.best.employee_id == "EMP001"
    assert endpoint.calls == ["SearchUsersByImage"] * 3  # the first try and two retries


def test_wiring_client_gives_up_after_three_attempts_and_the_door_stays_shut(
    endpoint: RekognitionEndpoint, photos: Path
) -> None:
    for _ in range(2):
        endpoint.fail_next(1, "ThrottlingException", 400)
        endpoint.fail_next(1, "InternalServerError", 500)
    engine = RekognitionEngine(wiring.client("rekognition"), COLLECTION, POLICY)
    images = InMemoryImageStore()
    images.objects[("cams", "incoming/door/a.jpg")] = (photos / "obama2.jpg").read_bytes()
    scans, notifier = InMemoryScanLog(), RecordingNotifier()
    directory = InMemoryEmployeeDirectory(Employee("EMP001", "A"))
    ports = PipelinePorts(images, engine, directory, scans, notifier, unconfigured_access())
    upload = Upload("cams", "incoming/door/a.jpg", "v1", None, datetime.now(UTC).isoformat())
    process_upload(upload, ports, Settings.from_env({}))
    assert endpoint.calls == ["SearchUsersByImage"] * 3
    assert endpoint.pending == 1  # the fourth failure was never asked for
    [scan] = scans.scans.values()
    assert scan.status is Status.ERROR
    assert "ThrottlingException" in (scan.decision.reason or "")


def test_search_maps_ratio_boxes_onto_pixels_and_ranks_matches_by_similarity(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    image = photo("group.jpg")
    service.expect_search("group.jpg", [("EMP002", 81.0), ("EMP001", 93.456)])  # out of order
    result = engine.search(image)
    left, top, width, height = SCENES["group.jpg"][0]
    w, h = image.width, image.height
    expected = BoundingBox(round(left * w), round(top * h), round(width * w), round(height * h))
    assert result.faces[0].box == expected  # the searched face, in pixels of the normalised photo
    assert len(result.faces) == len(SCENES["group.jpg"])
    assert result.best == Match("EMP001", 93.46)
    assert result.runner_up == Match("EMP002", 81.0)


def test_erasure_searches_every_other_face_in_a_crop_of_its_own(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    # group.jpg: the largest face is someone else; EMP007 is found in the second face's crop.
    boxes = SCENES["group.jpg"]
    assert len(boxes) >= 3
    params = {"Image": JpegBytes(), "UserMatchThreshold": 80.0, "MaxUsers": 50, "QualityFilter": "NONE"}
    service.expect("search_users_by_image", search_users_response(boxes, [("EMP001", 97.0)]), **params)
    service.expect("search_users_by_image", search_users_response(boxes[1:2], []), **params)
    service.expect("search_users_by_image", search_users_response(boxes[2:3], [("EMP007", 88.0)]), **params)
    assert engine.shows_employee(photo("group.jpg"), "EMP007")
    assert service.calls == ["SearchUsersByImage"] * 3  # no DetectFaces: IAM could not scope it
    service.stubber.assert_no_pending_responses()


def test_erasure_crops_of_small_faces_are_never_under_rekognitions_80_px(
    service: StubbedRekognition, engine: RekognitionEngine
) -> None:
    # A 640x480 frame: a large face, and a 20 px one in a corner whose own crop would be
    # 40 px, which Rekognition refuses (InvalidParameterException) and the job would fail on.
    frame = NormalisedImage(Image.new("RGB", (640, 480), (120, 120, 120)), "JPEG")
    boxes = [(0.3, 0.2, 0.4, 0.5), (0.97, 0.96, 20 / 640, 20 / 480)]
    crop = JpegBytes()
    params = {"UserMatchThreshold": 80.0, "MaxUsers": 50, "QualityFilter": "NONE"}
    service.expect("search_users_by_image", search_users_response(boxes, []), Image=JpegBytes(), **params)
    service.expect(
        "search_users_by_image", search_users_response(boxes[1:], [("EMP007", 90.0)]), Image=crop, **params
    )
    assert engine.shows_employee(frame, "EMP007")
    [sent] = {data for data in crop.seen}
    width, height = Image.open(io.BytesIO(sent)).size
    assert width >= 80 and height >= 80


def test_erasure_of_a_photo_without_faces_is_one_call(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    service.expect_error(
        "search_users_by_image", "InvalidParameterException", "There are no faces in the image"
    )
    assert not engine.shows_employee(photo("coffee.png"), "EMP001")


def test_the_rekognition_stage_searches_and_decides_at_rekognitions_own_threshold(
    monkeypatch: pytest.MonkeyPatch, photo: Photo
) -> None:
    # The engine wiring builds from the settings, not one built by hand: it must ask for
    # matches from 99 − 5 and decide at 99, the threshold AWS recommends (docs/engines.md).
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = Settings.from_env({"FACEGATE_ENGINE": "rekognition", "FACEGATE_COLLECTION_ID": COLLECTION})
    wiring.reset()
    try:
        engine = wiring.face_engine(settings)
        stubber = Stubber(wiring.client("rekognition"))
        params = {"Image": JpegBytes(), "UserMatchThreshold": 94.0, "MaxUsers": 2, "QualityFilter": "NONE"}
        for similarity in (98.9, 99.0):
            stubber.add_response(
                "search_users_by_image",
                search_users_response(SCENES["obama2.jpg"], [("EMP001", similarity)]),
                {"CollectionId": COLLECTION, **params},
            )
        with stubber:
            decisions = [
                decide(engine.search(photo("obama2.jpg")), Employee("EMP001", "A"), settings.policy).status
                for _ in range(2)
            ]
        stubber.assert_no_pending_responses()
    finally:
        wiring.reset()
    assert decisions == [Status.UNKNOWN, Status.AUTHORIZED]


def test_a_guarded_enrollment_is_four_calls_and_a_duplicate_is_deleted_again(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    service.expect_index("EMP002", index_faces_response("EMP002", SCENES["obama2.jpg"], "f-4"))
    matches = [
        {"Similarity": 99.5, "User": {"UserId": "EMP002", "UserStatus": "ACTIVE"}},  # their own: fine
        {"Similarity": 97.25, "User": {"UserId": "EMP001", "UserStatus": "ACTIVE"}},
    ]
    answer = {"UserMatches": matches}
    service.expect("search_users", answer, FaceId="f-4", UserMatchThreshold=94.0, MaxUsers=2)
    service.expect("delete_faces", {"DeletedFaces": ["f-4"]}, FaceIds=["f-4"])
    with pytest.raises(DuplicateFace, match=r"matches employee EMP001 \(similarity 97.2"):
        engine.add_face("EMP002", photo("obama2.jpg"), refuse_at=94.0)
    assert service.calls == ["IndexFaces", "SearchUsers", "DeleteFaces"]  # never associated
    service.stubber.assert_no_pending_responses()


def test_the_guard_also_searches_faces_not_yet_associated(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    # SearchUsers sees only associated faces: an enrollment of the same face still in
    # flight (indexed, not associated) is found by SearchFaces, owned by its ExternalImageId.
    service.expect_index("EMP002", index_faces_response("EMP002", SCENES["obama2.jpg"], "f-4"))
    service.expect("search_users", {"UserMatches": []}, FaceId="f-4", UserMatchThreshold=94.0, MaxUsers=2)
    faces = [
        {"Similarity": 99.1, "Face": {"FaceId": "f-1", "ExternalImageId": "EMP002", "UserId": "EMP002"}},
        {"Similarity": 96.5, "Face": {"FaceId": "f-3", "ExternalImageId": "EMP001"}},  # in flight
    ]
    service.expect(
        "search_faces", {"FaceMatches": faces}, FaceId="f-4", FaceMatchThreshold=94.0, MaxFaces=4096
    )
    service.expect("delete_faces", {"DeletedFaces": ["f-4"]}, FaceIds=["f-4"])
    with pytest.raises(DuplicateFace, match=r"matches employee EMP001 \(similarity 96.5"):
        engine.add_face("EMP002", photo("obama2.jpg"), refuse_at=94.0)
    assert service.calls == ["IndexFaces", "SearchUsers", "SearchFaces", "DeleteFaces"]
    service.stubber.assert_no_pending_responses()


def test_a_guarded_enrollment_is_five_calls(
    service: StubbedRekognition, engine: RekognitionEngine, photo: Photo
) -> None:
    service.expect_index("EMP002", index_faces_response("EMP002", SCENES["obama2.jpg"], "f-4"))
    service.expect("search_users", {"UserMatches": []}, FaceId="f-4", UserMatchThreshold=94.0, MaxUsers=2)
    own = [{"Similarity": 99.1, "Face": {"FaceId": "f-1", "ExternalImageId": "EMP002", "UserId": "EMP002"}}]
    service.expect("search_faces", {"FaceMatches": own}, FaceId="f-4", FaceMatchThreshold=94.0, MaxFaces=4096)
    service.expect("create_user", {}, UserId="EMP002")
    service.expect(
        "associate_faces",
        {"AssociatedFaces": [{"FaceId": "f-4"}], "UnsuccessfulFaceAssociations": []},
        UserId="EMP002",
        FaceIds=["f-4"],
    )
    assert engine.add_face("EMP002", photo("obama2.jpg"), refuse_at=94.0).face_id == "f-4"
    assert service.calls == ["IndexFaces", "SearchUsers", "SearchFaces", "CreateUser", "AssociateFaces"]
    service.stubber.assert_no_pending_responses()


def test_rekognitions_pose_and_confidence_reach_the_face_so_a_turned_face_is_low_quality() -> None:
    from chalicelib.engines.rekognition import _face
    from chalicelib.scanning.recognition import quality_problem

    image = NormalisedImage(Image.new("RGB", (1000, 800)), "JPEG")
    detail: Any = {
        "BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.3, "Height": 0.4},
        "Quality": {"Sharpness": 90.0},
        "Pose": {"Yaw": -62.4, "Pitch": 5.0, "Roll": 3.0},
        "Confidence": 99.81,
    }
    face = _face(detail, image)
    assert (face.yaw, face.pitch, face.roll, face.confidence) == (-62.4, 5.0, 3.0, 99.81)
    assert quality_problem(face, Policy()) == "face turned too far: 62 degrees, maximum 45"
