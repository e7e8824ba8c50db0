"""Rekognition responses shaped like the service's, and a Stubber harness that expects them.

Boxes are ratios of the frame, as Rekognition returns them; the scenes describe where
the faces are in the real test photos. In the sandbox, not tests/, because ``bench.system``
counts the engine's calls on this harness too, and bench never imports tests.
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.stub import Stubber

COLLECTION = "facegate-test-faces"

Box = tuple[float, float, float, float]  # left, top, width, height (ratios)

SCENES: dict[str, list[Box]] = {
    "obama.jpg": [(0.30, 0.22, 0.27, 0.21)],
    "obama2.jpg": [(0.26, 0.25, 0.49, 0.25)],
    "obama3.jpg": [(0.33, 0.28, 0.20, 0.12)],
    "biden.jpg": [(0.33, 0.18, 0.34, 0.15)],
    "astronaut.png": [(0.34, 0.10, 0.19, 0.19)],
    "coffee.png": [],
    "group.jpg": [
        (0.06, 0.30, 0.10, 0.14),
        (0.22, 0.28, 0.08, 0.12),
        (0.38, 0.27, 0.08, 0.12),
        (0.54, 0.31, 0.08, 0.12),
        (0.70, 0.29, 0.08, 0.12),
        (0.85, 0.30, 0.07, 0.10),
    ],
}


def face_detail(box: Box, sharpness: float = 86.86, confidence: float = 99.99) -> dict[str, Any]:
    left, top, width, height = box
    return {
        "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
        "Landmarks": [
            {"Type": "eyeLeft", "X": left + width * 0.3, "Y": top + height * 0.4},
            {"Type": "eyeRight", "X": left + width * 0.7, "Y": top + height * 0.4},
        ],
        "Pose": {"Roll": 1.2, "Yaw": -3.4, "Pitch": 5.6},
        "Quality": {"Brightness": 81.3, "Sharpness": sharpness},
        "Confidence": confidence,
    }


def index_faces_response(
    employee_id: str, boxes: list[Box], face_id: str | None = None, sharpness: float = 86.86
) -> dict[str, Any]:
    """IndexFaces with MaxFaces=1: the largest face indexed, the others EXCEEDS_MAX_FACES."""
    if not boxes:
        return {"FaceRecords": [], "FaceModelVersion": "7.0", "UnindexedFaces": []}
    first, *others = boxes
    return {
        "FaceRecords": [
            {
                "Face": {
                    "FaceId": face_id or str(uuid.uuid4()),
                    "BoundingBox": face_detail(first)["BoundingBox"],
                    "ImageId": str(uuid.uuid4()),
                    "ExternalImageId": employee_id,
                    "Confidence": 99.99,
                    "IndexFacesModelVersion": "7.0",
                },
                "FaceDetail": face_detail(first, sharpness),
            }
        ],
        "FaceModelVersion": "7.0",
        "UnindexedFaces": [
            {"Reasons": ["EXCEEDS_MAX_FACES"], "FaceDetail": face_detail(box)} for box in others
        ],
    }


def search_users_response(boxes: list[Box], matches: list[tuple[str, float]]) -> dict[str, Any]:
    first, *others = boxes
    return {
        "UserMatches": [
            {"Similarity": similarity, "User": {"UserId": user, "UserStatus": "ACTIVE"}}
            for user, similarity in matches
        ],
        "FaceModelVersion": "7.0",
        "SearchedFace": {"FaceDetail": face_detail(first)},
        "UnsearchedFaces": [
            {"FaceDetails": face_detail(box), "Reasons": ["FACE_NOT_LARGEST"]} for box in others
        ],
    }


class JpegBytes:
    """Matches ``{"Bytes": <a JPEG of at most 5 MB>}`` in Stubber's expected_params."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, dict) or set(other) != {"Bytes"}:
            return False
        data = other["Bytes"]
        self.seen.append(data)
        return isinstance(data, bytes) and data[:2] == b"\xff\xd8" and len(data) <= 5 * 1024 * 1024

    def __repr__(self) -> str:
        return "{'Bytes': <JPEG ≤ 5 MB>}"


class StubbedRekognition:
    """A real boto3 Rekognition client with botocore's Stubber and a call counter."""

    def __init__(self) -> None:
        import boto3

        self.client = boto3.client(
            "rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        self.calls: list[str] = []
        self.client.meta.events.register(
            "provide-client-params.rekognition", lambda model, **_: self.calls.append(model.name)
        )
        self.stubber = Stubber(self.client)
        self.stubber.activate()

    def expect(self, operation: str, response: dict[str, Any], **params: Any) -> None:
        self.stubber.add_response(operation, response, {"CollectionId": COLLECTION, **params})

    def expect_error(self, operation: str, code: str, message: str = "", status: int = 400) -> None:
        self.stubber.add_client_error(
            operation, service_error_code=code, service_message=message, http_status_code=status
        )

    def expect_index(self, employee_id: str, response: dict[str, Any]) -> None:
        """An IndexFaces call as the engine makes it for ``employee_id``, answered so."""
        self.expect(
            "index_faces",
            response,
            Image=JpegBytes(),
            ExternalImageId=employee_id,
            MaxFaces=1,
            QualityFilter="AUTO",
            DetectionAttributes=["DEFAULT"],
        )

    def expect_enrollment(self, employee_id: str, photo: str, face_id: str | None = None) -> str:
        face_id = face_id or str(uuid.uuid4())
        self.expect_index(employee_id, index_faces_response(employee_id, SCENES[photo], face_id))
        if len(SCENES[photo]) == 1:
            self.expect("create_user", {}, UserId=employee_id)
            self.expect(
                "associate_faces",
                {
                    "AssociatedFaces": [{"FaceId": face_id}],
                    "UnsuccessfulFaceAssociations": [],
                    "UserStatus": "UPDATING",
                },
                UserId=employee_id,
                FaceIds=[face_id],
            )
        elif SCENES[photo]:
            self.expect(
                "delete_faces",
                {"DeletedFaces": [face_id], "UnsuccessfulFaceDeletions": []},
                FaceIds=[face_id],
            )
        return face_id

    def expect_search(self, photo: str, matches: list[tuple[str, float]], floor: float = 75.0) -> None:
        params = {"Image": JpegBytes(), "UserMatchThreshold": floor, "MaxUsers": 2, "QualityFilter": "NONE"}
        if not SCENES[photo]:
            self.stubber.add_client_error(
                "search_users_by_image",
                service_error_code="InvalidParameterException",
                service_message="There are no faces in the image. Should be at least 1.",
                expected_params={"CollectionId": COLLECTION, **params},
            )
            return
        self.expect("search_users_by_image", search_users_response(SCENES[photo], matches), **params)

    def expect_removal(self, employee_id: str, face_ids: list[str]) -> None:
        self.expect(
            "list_faces",
            {"Faces": [_listed(f, employee_id) for f in face_ids], "FaceModelVersion": "7.0"},
            UserId=employee_id,
        )
        self.expect(
            "disassociate_faces",
            {
                "DisassociatedFaces": [{"FaceId": f} for f in face_ids],
                "UnsuccessfulFaceDisassociations": [],
                "UserStatus": "UPDATING",
            },
            UserId=employee_id,
            FaceIds=face_ids,
        )
        self.expect(
            "delete_faces", {"DeletedFaces": face_ids, "UnsuccessfulFaceDeletions": []}, FaceIds=face_ids
        )
        self.expect("delete_user", {}, UserId=employee_id)


def _listed(face_id: str, employee_id: str) -> dict[str, Any]:
    return {
        "FaceId": face_id,
        "BoundingBox": {"Width": 0.3, "Height": 0.3, "Left": 0.3, "Top": 0.2},
        "ImageId": str(uuid.uuid4()),
        "ExternalImageId": employee_id,
        "Confidence": 99.9,
        "IndexFacesModelVersion": "7.0",
        "UserId": employee_id,
    }
