"""Amazon Rekognition behind ``FaceEngine``: a collection of faces, one user vector per employee.

One call per scan: ``SearchUsersByImage`` searches the largest face and lists the others
(``UnsearchedFaces``), which is all ``decide()`` needs; tutorials that call DetectFaces
first pay twice. Photos are sent as bytes after our own normalisation (EXIF rotation,
colour), re-encoded as JPEG under Rekognition's 5 MB limit: the service then sees the
same upright pixels the local engine would, and needs no read access to the bucket.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import Policy
from chalicelib.core.errors import DuplicateFace, EnrollmentError, RejectedImage
from chalicelib.core.health_jobs import HealthCensus, HealthPart
from chalicelib.core.models import (
    BoundingBox,
    DetectedFace,
    FaceRecord,
    GalleryHealth,
    Match,
    NormalisedImage,
    OutlierFace,
    SearchResult,
    gallery_health,
)
from chalicelib.scanning.recognition import confusable_at, is_a_person, quality_problem

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_rekognition.type_defs import FaceDetailTypeDef, SearchUsersByImageResponseTypeDef

MAX_IMAGE_BYTES = 5 * 1024 * 1024
_DISASSOCIATE_LIMIT = 100
_DELETE_LIMIT = 4096
MAX_USERS = 50  # erasure: the employee may rank below others and still match
CROP_MARGIN = 0.5  # of the face box's size, on every side: Rekognition needs some context
MIN_IMAGE_PX = 80  # Rekognition refuses images narrower or lower than this
MAX_FACE_MATCHES = 4096  # SearchFaces' most: every face above the floor, in a sane gallery
# A health job's slice: this many faces searched, paced to SearchFaces' default rate (5/s).
HEALTH_SLICE_FACES = 100
HEALTH_SEARCHES_PER_SECOND = 5


class RekognitionEngine:
    """``FaceEngine`` on a Rekognition collection with the Users API."""

    name = "rekognition"

    def __init__(
        self,
        client: RekognitionClient,
        collection_id: str,
        policy: Policy,
        quality_filter: str = "AUTO",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._rekognition = client
        self._collection = collection_id
        self._policy = policy
        self._quality_filter = quality_filter
        self._clock = clock

    def add_face(
        self,
        employee_id: str,
        image: NormalisedImage,
        *,
        refuse_at: float | None = None,
        allow: frozenset[str] = frozenset(),
    ) -> FaceRecord:
        """IndexFaces, SearchUsers and SearchFaces by the new FaceId (``refuse_at``), then
        CreateUser (safe to repeat) and AssociateFaces: five calls, the photo sent once. A
        refused face is deleted again (DeleteFaces), never having been associated."""
        response = self._call(
            "index_faces",
            CollectionId=self._collection,
            Image={"Bytes": jpeg_within_limit(image)},
            ExternalImageId=employee_id,
            MaxFaces=1,
            QualityFilter=self._quality_filter,
            DetectionAttributes=["DEFAULT"],
        )
        records = response.get("FaceRecords", [])
        unindexed = response.get("UnindexedFaces", [])
        if not records:
            reasons = sorted({reason for face in unindexed for reason in face.get("Reasons", [])})
            if not reasons:
                raise EnrollmentError("no face found in the photo")
            raise EnrollmentError("no usable face: " + ", ".join(reasons))
        face_id = str(records[0]["Face"]["FaceId"])
        indexed = _face(records[0]["FaceDetail"], image)
        others = [_face(face["FaceDetail"], image) for face in unindexed]
        problem = self._enrollment_problem(indexed, others)
        if problem is not None:
            self._delete_faces([face_id])
            raise EnrollmentError(problem)
        if refuse_at is not None:
            other = self._other_user(face_id, employee_id, refuse_at, allow)
            if other is None:
                other = self._other_face(face_id, employee_id, refuse_at, allow)
            if other is not None:
                self._delete_faces([face_id])
                raise DuplicateFace(other.employee_id, other.similarity)
        self._create_user(employee_id)
        associated = self._call(
            "associate_faces", CollectionId=self._collection, UserId=employee_id, FaceIds=[face_id]
        )
        failures = associated.get("UnsuccessfulFaceAssociations", [])
        if failures:
            self._delete_faces([face_id])
            reasons = sorted({reason for failure in failures for reason in failure.get("Reasons", [])})
            raise EnrollmentError("face not added to the employee: " + ", ".join(reasons))
        return FaceRecord(employee_id, face_id, self.name, self._clock().isoformat(timespec="seconds"))

    def search(self, image: NormalisedImage) -> SearchResult:
        """One SearchUsersByImage call: the largest face searched, the others listed."""
        # Ask for everything within the margin below the threshold, so the margin rule
        # sees a close rival even when that rival itself would not match.
        floor = max(0.0, self._policy.match_threshold - self._policy.match_margin)
        response = self._search_users(image, floor, max_users=2)
        if response is None:
            return SearchResult(faces=[])  # Rekognition's way of saying: no face
        searched = response.get("SearchedFace", {}).get("FaceDetail")
        if searched is None:
            return SearchResult(faces=[])
        others = [_face(face["FaceDetails"], image) for face in response.get("UnsearchedFaces", [])]
        others.sort(key=lambda face: face.box.width * face.box.height, reverse=True)
        faces = [_face(searched, image), *others]  # the searched face is the largest
        matches = [
            Match(str(match["User"]["UserId"]), round(float(match["Similarity"]), 2))
            for match in sorted(response.get("UserMatches", []), key=lambda m: -float(m["Similarity"]))
        ]
        return SearchResult(
            faces=faces,
            best=matches[0] if matches else None,
            runner_up=matches[1] if len(matches) > 1 else None,
        )

    def shows_employee(self, image: NormalisedImage, employee_id: str) -> bool:
        """Whether any face in ``image`` matches the employee's user vector (erasure).

        SearchUsersByImage searches only the largest face and lists the others; each of
        those is searched again in a crop of its own. No DetectFaces: it names no
        collection, so IAM could allow it only on every resource.
        """
        threshold = self._policy.match_threshold
        response = self._search_users(image, threshold, max_users=MAX_USERS)
        if response is None:
            return False
        if _names(response, employee_id):
            return True
        for other in response.get("UnsearchedFaces", []):
            crop = _crop(image, other.get("FaceDetails", {}))
            answer = self._search_users(crop, threshold, max_users=MAX_USERS)
            if answer is not None and _names(answer, employee_id):
                return True
        return False

    def list_faces(self, employee_id: str) -> list[FaceRecord]:
        """The faces associated with the employee's user vector (ListFaces by UserId)."""
        return [
            FaceRecord(employee_id, face_id, self.name, "") for face_id in self._user_face_ids(employee_id)
        ]

    def remove_faces(self, employee_id: str, face_ids: Sequence[str] | None = None) -> None:
        """DisassociateFaces and DeleteFaces; with no ids, every face and the user go."""
        ids = list(face_ids) if face_ids is not None else self._user_face_ids(employee_id)
        for start in range(0, len(ids), _DISASSOCIATE_LIMIT):
            self._call(
                "disassociate_faces",
                CollectionId=self._collection,
                UserId=employee_id,
                FaceIds=ids[start : start + _DISASSOCIATE_LIMIT],
            )
        self._delete_faces(ids)
        if face_ids is None:
            self._ignoring("ResourceNotFoundException", "delete_user", UserId=employee_id)

    def gallery_health(self, policy: Policy) -> GalleryHealth:
        """ListFaces (paged), then SearchFaces by each associated face at the confusable
        floor: one call per face, and one more for a face none of whose own faces came back
        (to score the outlier). Faces not associated with a user are not counted."""
        faces = self._associated_faces()
        counts = _face_counts(faces)
        part = self._health_of(faces, counts, policy, pace=0.0)
        return gallery_health(policy.match_threshold, policy.match_margin, counts, part.pairs, part.outliers)

    def health_census(self, policy: Policy) -> HealthCensus:
        """The associated faces (ListFaces, paged), walked by (employee, face id); a slice is
        ``HEALTH_SLICE_FACES`` SearchFaces calls, paced."""
        counts = _face_counts(self._associated_faces())
        return HealthCensus(sum(counts.values()), HEALTH_SLICE_FACES, counts)

    def health_slice(self, policy: Policy, start: int, stop: int) -> HealthPart:
        """Faces ``start:stop`` searched one by one, at most ``HEALTH_SEARCHES_PER_SECOND``
        (SearchFaces has a per-account rate; the SDK's retries cover the rest)."""
        faces = self._associated_faces()
        counts = _face_counts(faces)
        return self._health_of(faces[start:stop], counts, policy, pace=1.0 / HEALTH_SEARCHES_PER_SECOND)

    def _health_of(
        self, faces: list[tuple[str, str]], counts: dict[str, int], policy: Policy, pace: float
    ) -> HealthPart:
        import time

        floor = confusable_at(policy)
        pairs: dict[tuple[str, str], float] = {}
        outliers: list[OutlierFace] = []
        due = time.monotonic()
        for employee_id, face_id in faces:
            time.sleep(max(0.0, due - time.monotonic()))
            due = time.monotonic() + pace
            matches = self._matches(face_id, floor)
            for user, score in matches:
                if user != employee_id:
                    ids = (min(user, employee_id), max(user, employee_id))
                    pairs[ids] = max(pairs.get(ids, 0.0), score)
            if counts[employee_id] < 2:
                continue
            own = [score for user, score in matches if user == employee_id]
            if not own:  # below the floor: ask again without one, for the number
                own = [score for user, score in self._matches(face_id, 0.0) if user == employee_id] or [0.0]
            if max(own) < policy.match_threshold:
                outliers.append(OutlierFace(employee_id, face_id, max(own)))
        return HealthPart(pairs, outliers)

    def _associated_faces(self) -> list[tuple[str, str]]:
        """(employee id, face id) of every face associated with a user, in that order."""
        return sorted(
            (str(face["UserId"]), str(face["FaceId"])) for face in self._all_faces() if face.get("UserId")
        )

    def _other_face(
        self, face_id: str, employee_id: str, threshold: float, allow: frozenset[str] = frozenset()
    ) -> Match | None:
        """The best face of another employee matching the new face, associated or not yet:
        its owner is its UserId or, before association, its ExternalImageId (IndexFaces
        sets it to the employee id). The guard's re-check, after our own IndexFaces.

        SearchUsers alone leaves a race: it compares with user vectors, which hold only
        associated faces (and AssociateFaces answers UserStatus UPDATING: the vector
        follows later), so two enrollments of one face under two ids that overlap both
        find nobody and both stay. Faces are searchable once IndexFaces has returned, and
        this search starts after ours returned: of two such enrollments the later-indexed
        one sees the other's face (unless it was deleted already), so both never stay;
        both may be refused, which is fail-safe (a second attempt enrolls one). Doing it
        before AssociateFaces means a refused duplicate never matches anyone at a door.
        That Rekognition's searches see every face whose IndexFaces returned is observed
        practice, not documented; ``gallery_health`` stays the net behind it.
        """
        response = self._call(
            "search_faces",
            CollectionId=self._collection,
            FaceId=face_id,
            FaceMatchThreshold=threshold,
            MaxFaces=MAX_FACE_MATCHES,  # the employee's own faces (up to 100) may come first
        )
        for match in sorted(response.get("FaceMatches", []), key=lambda m: -float(m["Similarity"])):
            face = match.get("Face", {})
            owner = face.get("UserId") or face.get("ExternalImageId")
            if owner and owner != employee_id and owner not in allow:
                return Match(str(owner), round(float(match["Similarity"]), 2))
        return None

    def _other_user(
        self, face_id: str, employee_id: str, threshold: float, allow: frozenset[str] = frozenset()
    ) -> Match | None:
        """The closest user but ``employee_id`` and ``allow`` matching the (unassociated) face."""
        response = self._call(
            "search_users",
            CollectionId=self._collection,
            FaceId=face_id,
            UserMatchThreshold=threshold,
            # one user per employee: the employee's own and the allowed look-alikes may come first
            MaxUsers=min(2 + len(allow), MAX_USERS),
        )
        for match in sorted(response.get("UserMatches", []), key=lambda m: -float(m["Similarity"])):
            if str(match["User"]["UserId"]) not in {employee_id, *allow}:
                return Match(str(match["User"]["UserId"]), round(float(match["Similarity"]), 2))
        return None

    def _matches(self, face_id: str, threshold: float) -> list[tuple[str, float]]:
        """SearchFaces by one face: (user id, similarity) of each associated face matched."""
        response = self._call(
            "search_faces",
            CollectionId=self._collection,
            FaceId=face_id,
            FaceMatchThreshold=threshold,
            MaxFaces=MAX_FACE_MATCHES,
        )
        return [
            (str(match["Face"]["UserId"]), round(float(match["Similarity"]), 2))
            for match in response.get("FaceMatches", [])
            if match.get("Face", {}).get("UserId")
        ]

    def _all_faces(self) -> list[dict[str, Any]]:
        faces: list[dict[str, Any]] = []
        params: dict[str, Any] = {"CollectionId": self._collection}
        while True:
            page = self._call("list_faces", **params)
            faces += page.get("Faces", [])
            if not page.get("NextToken"):
                return faces
            params["NextToken"] = page["NextToken"]

    def _search_users(
        self, image: NormalisedImage, threshold: float, max_users: int
    ) -> SearchUsersByImageResponseTypeDef | None:
        """One SearchUsersByImage call; None when Rekognition finds no face."""
        from botocore.exceptions import ClientError

        try:
            response = self._rekognition.search_users_by_image(
                CollectionId=self._collection,
                Image={"Bytes": jpeg_within_limit(image)},
                UserMatchThreshold=threshold,
                MaxUsers=max_users,
                QualityFilter="NONE",  # decide() judges quality, with the same policy for every engine
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            if code == "InvalidParameterException" and "face" in message.lower():
                return None
            if code in ("InvalidImageFormatException", "ImageTooLargeException"):
                raise RejectedImage(f"Rekognition refused the image: {code}") from None
            raise
        return response

    def _enrollment_problem(self, indexed: DetectedFace, others: list[DetectedFace]) -> str | None:
        people = [face for face in others if is_a_person(face, self._policy)]
        if people:
            return f"{len(people) + 1} faces in the photo: enroll a photo of one person"
        return quality_problem(indexed, self._policy)

    def _create_user(self, employee_id: str) -> None:
        self._ignoring("ConflictException", "create_user", UserId=employee_id)  # exists already

    def _user_face_ids(self, employee_id: str) -> list[str]:
        ids: list[str] = []
        params: dict[str, Any] = {"CollectionId": self._collection, "UserId": employee_id}
        while True:
            page = self._call("list_faces", **params)
            ids += [str(face["FaceId"]) for face in page.get("Faces", [])]
            if not page.get("NextToken"):
                return ids
            params["NextToken"] = page["NextToken"]

    def _delete_faces(self, face_ids: list[str]) -> None:
        for start in range(0, len(face_ids), _DELETE_LIMIT):
            self._call(
                "delete_faces", CollectionId=self._collection, FaceIds=face_ids[start : start + _DELETE_LIMIT]
            )

    def _ignoring(self, code: str, operation: str, **params: Any) -> None:
        from botocore.exceptions import ClientError

        try:
            self._call(operation, CollectionId=self._collection, **params)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != code:
                raise

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            response: dict[str, Any] = getattr(self._rekognition, operation)(**params)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if operation == "index_faces" and code in (
                "InvalidImageFormatException",
                "ImageTooLargeException",
            ):
                raise EnrollmentError(f"Rekognition refused the image: {code}") from None
            raise
        return response


def _face_counts(faces: list[tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for employee_id, _ in faces:
        counts[employee_id] = counts.get(employee_id, 0) + 1
    return counts


def jpeg_within_limit(image: NormalisedImage, limit: int = MAX_IMAGE_BYTES) -> bytes:
    """The normalised pixels as a JPEG Rekognition accepts, scaled down only if it must be."""
    pixels = image.pixels
    while True:
        buffer = io.BytesIO()
        pixels.save(buffer, format="JPEG", quality=90)
        if buffer.tell() <= limit:
            return buffer.getvalue()
        shrink = (limit / buffer.tell()) ** 0.5 * 0.9
        pixels = pixels.resize((max(1, int(pixels.width * shrink)), max(1, int(pixels.height * shrink))))


def _face(detail: FaceDetailTypeDef, image: NormalisedImage) -> DetectedFace:
    """A Rekognition FaceDetail (box as ratios of the frame) in pixels of the normalised photo."""
    box = detail.get("BoundingBox", {})
    left = max(0.0, float(box.get("Left", 0.0)))
    top = max(0.0, float(box.get("Top", 0.0)))
    width = min(float(box.get("Width", 0.0)), 1.0 - left)
    height = min(float(box.get("Height", 0.0)), 1.0 - top)
    return DetectedFace(
        box=BoundingBox(
            round(left * image.width),
            round(top * image.height),
            round(width * image.width),
            round(height * image.height),
        ),
        sharpness=round(float(detail.get("Quality", {}).get("Sharpness", 0.0)), 1),
        # Rekognition's own pose, so that FACEGATE_MAX_TURN_DEGREES means the same on both engines.
        yaw=round(float(detail.get("Pose", {}).get("Yaw", 0.0)), 1),
        pitch=round(float(detail.get("Pose", {}).get("Pitch", 0.0)), 1),
        roll=round(float(detail.get("Pose", {}).get("Roll", 0.0)), 1),
        confidence=round(float(detail.get("Confidence", 100.0)), 2),
    )


def _names(response: SearchUsersByImageResponseTypeDef, employee_id: str) -> bool:
    return any(str(match["User"]["UserId"]) == employee_id for match in response.get("UserMatches", []))


def _crop(image: NormalisedImage, detail: FaceDetailTypeDef) -> NormalisedImage:
    """The face ``detail`` describes, with a margin, as an image of its own.

    Never under Rekognition's minimum of 80 px a side (a crop of a small face would be
    refused with InvalidParameterException and fail the erasure job): the window grows
    around the face within the photo, and only a photo smaller than that is scaled up.
    """
    box = _face(detail, image).box
    width = max(round(box.width * (1 + 2 * CROP_MARGIN)), MIN_IMAGE_PX)
    height = max(round(box.height * (1 + 2 * CROP_MARGIN)), MIN_IMAGE_PX)
    left = _window_start(box.left + box.width / 2, width, image.width)
    top = _window_start(box.top + box.height / 2, height, image.height)
    right, bottom = min(image.width, left + width), min(image.height, top + height)
    crop = image.pixels.crop((left, top, max(right, left + 1), max(bottom, top + 1)))
    if crop.width < MIN_IMAGE_PX or crop.height < MIN_IMAGE_PX:
        scale = MIN_IMAGE_PX / min(crop.width, crop.height)
        crop = crop.resize((math.ceil(crop.width * scale), math.ceil(crop.height * scale)))
    return NormalisedImage(crop, image.source_format)


def _window_start(centre: float, length: int, limit: int) -> int:
    """Where a window of ``length`` centred on ``centre`` starts, kept inside ``0..limit``."""
    return max(0, min(round(centre - length / 2), limit - length))
