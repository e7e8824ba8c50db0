"""Rekognition's collections, faces and users, in memory, with the documented semantics.

Every operation facegate calls, plus the collection bookkeeping around them. Requests are
checked against botocore's model first (``wire``), then each operation raises the error
code the API reference documents. Faces are found and compared by the bundled dlib model
(``vision``): **the similarities are the bundled model's, mapped onto Rekognition's 0–100
scale by ``similarity_from_distance``; they are not AWS's scores**.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.rekognition import vision
from sandbox.rekognition.errors import ServiceError, not_found
from sandbox.rekognition.state import (
    ASSOCIATE_THRESHOLD,
    DEFAULT_MAX_USERS,
    DEFAULT_PAGE,
    FACE_MODEL_VERSION,
    MAX_FACES_PER_USER,
    MAX_SEARCH_FACES,
    SEARCH_THRESHOLD,
    Collection,
    Face,
    similarity_from_distance,
    user_status,
)
from sandbox.rekognition.users import associate, disassociate, search_users, search_users_by_id
from sandbox.rekognition.wire import decode_request

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class RekognitionService:
    """The service's state and operations; ``handle`` is its one entry (not thread-safe)."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.collections: dict[str, Collection] = {}
        self._clock = clock
        self._tokens: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}

    def handle(self, operation: str, body: Any) -> dict[str, Any]:
        """Answer one request (its JSON body) or raise the ``ServiceError`` the service would."""
        handler: Handler | None = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise ServiceError("UnknownOperationException", f"{operation} is not in the sandbox endpoint")
        params = decode_request(operation, body)
        token = params.pop("ClientRequestToken", None)
        if token is None:
            return handler(params)
        return self._idempotent(operation, token, params, handler)

    def _idempotent(
        self, operation: str, token: str, params: dict[str, Any], handler: Handler
    ) -> dict[str, Any]:
        if token in self._tokens:
            seen_operation, seen_params, answer = self._tokens[token]
            if (seen_operation, seen_params) != (operation, params):
                raise ServiceError("IdempotentParameterMismatchException", "ClientRequestToken reused")
            return answer
        answer = handler(params)
        self._tokens[token] = (operation, params, answer)
        return answer

    def _collection(self, params: dict[str, Any]) -> Collection:
        collection_id = params["CollectionId"]
        if collection_id not in self.collections:
            raise not_found(f"collection id: {collection_id}")
        return self.collections[collection_id]

    # -- collections --

    def _op_CreateCollection(self, params: dict[str, Any]) -> dict[str, Any]:
        collection_id = params["CollectionId"]
        if collection_id in self.collections:
            raise ServiceError(
                "ResourceAlreadyExistsException", f"The collection id: {collection_id} already exists"
            )
        collection = self.collections[collection_id] = Collection(collection_id, self._clock())
        return {"StatusCode": 200, "CollectionArn": collection.arn, "FaceModelVersion": FACE_MODEL_VERSION}

    def _op_DescribeCollection(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        return {
            "FaceCount": len(collection.faces),
            "UserCount": len(collection.users),
            "FaceModelVersion": FACE_MODEL_VERSION,
            "CollectionARN": collection.arn,
            "CreationTimestamp": collection.created,
        }

    def _op_DeleteCollection(self, params: dict[str, Any]) -> dict[str, Any]:
        self._collection(params)
        del self.collections[params["CollectionId"]]
        return {"StatusCode": 200}

    def _op_ListCollections(self, params: dict[str, Any]) -> dict[str, Any]:
        ids, answer = page(sorted(self.collections), params, DEFAULT_PAGE)
        return {**answer, "CollectionIds": ids, "FaceModelVersions": [FACE_MODEL_VERSION] * len(ids)}

    # -- faces --

    def _op_IndexFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        seen = vision.faces(vision.decode(params["Image"]))
        quality_filter = params.get("QualityFilter", "AUTO")
        room = params.get("MaxFaces", vision.MAX_FACES_SEEN)
        image_id = str(uuid.uuid4())
        records: list[dict[str, Any]] = []
        unindexed: list[dict[str, Any]] = []
        for face in seen:  # largest first: the smallest are the ones beyond MaxFaces
            reasons = face.problems(quality_filter)
            if not reasons and len(records) >= room:
                reasons = ["EXCEEDS_MAX_FACES"]
            if reasons:
                unindexed.append({"Reasons": reasons, "FaceDetail": face.detail})
                continue
            stored = Face(str(uuid.uuid4()), image_id, face.detail["BoundingBox"], vision.embedding(face))
            stored.external_image_id = params.get("ExternalImageId")
            stored.confidence = face.detail["Confidence"]
            collection.faces[stored.face_id] = stored
            records.append({"Face": stored.listed(), "FaceDetail": face.detail})
        return {"FaceRecords": records, "UnindexedFaces": unindexed, "FaceModelVersion": FACE_MODEL_VERSION}

    def _op_ListFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        faces = list(collection.faces.values())
        if "UserId" in params:
            faces = [face for face in faces if face.user_id == params["UserId"]]
        if "FaceIds" in params:
            faces = [face for face in faces if face.face_id in params["FaceIds"]]
        chosen, answer = page(faces, params, DEFAULT_PAGE)
        return {**answer, "Faces": [face.listed() for face in chosen], "FaceModelVersion": FACE_MODEL_VERSION}

    def _op_DeleteFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        deleted: list[str] = []
        failed: list[dict[str, Any]] = []
        for face_id in dict.fromkeys(params["FaceIds"]):
            face = collection.faces.get(face_id)
            if face is None:
                failed.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
            elif face.user_id is not None:
                failed.append(
                    {"FaceId": face_id, "UserId": face.user_id, "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}
                )
            else:
                del collection.faces[face_id]
                deleted.append(face_id)
        answer: dict[str, Any] = {"UnsuccessfulFaceDeletions": failed}
        if deleted:  # the model's DeletedFaces holds at least one id
            answer["DeletedFaces"] = deleted
        return answer

    # -- users --

    def _op_CreateUser(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        if params["UserId"] in collection.users:
            raise ServiceError("ConflictException", f"User {params['UserId']} already exists")
        collection.users[params["UserId"]] = []
        return {}

    def _op_DeleteUser(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        for face_id in collection.user(params["UserId"]):  # its faces stay, unassociated
            collection.faces[face_id].user_id = None
        del collection.users[params["UserId"]]
        return {}

    def _op_ListUsers(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        ids, answer = page(list(collection.users), params, DEFAULT_PAGE)
        users = [{"UserId": user_id, "UserStatus": user_status(collection, user_id)} for user_id in ids]
        return {**answer, "Users": users}

    def _op_AssociateFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        return associate(self._collection(params), params, ASSOCIATE_THRESHOLD, MAX_FACES_PER_USER)

    def _op_DisassociateFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        return disassociate(self._collection(params), params)

    def _op_SearchUsersByImage(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        threshold = params.get("UserMatchThreshold", SEARCH_THRESHOLD)
        return search_users(collection, params, threshold, params.get("MaxUsers", DEFAULT_MAX_USERS))

    def _op_SearchUsers(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params)
        threshold = params.get("UserMatchThreshold", SEARCH_THRESHOLD)
        return search_users_by_id(collection, params, threshold, params.get("MaxUsers", DEFAULT_MAX_USERS))

    def _op_SearchFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        """The faces closest to one indexed face (itself left out), highest first."""
        import numpy as np

        collection = self._collection(params)
        searched = collection.faces.get(params["FaceId"])
        if searched is None:
            raise ServiceError("InvalidParameterException", f"Face {params['FaceId']} does not exist")
        threshold = params.get("FaceMatchThreshold", SEARCH_THRESHOLD)
        others = [face for face in collection.faces.values() if face.face_id != searched.face_id]
        matches: list[tuple[float, Face]] = []
        if others:
            distances = np.linalg.norm(
                np.stack([face.embedding for face in others]) - searched.embedding, axis=1
            )
            scored = [
                (similarity_from_distance(float(d)), face) for d, face in zip(distances, others, strict=True)
            ]
            matches = sorted((pair for pair in scored if pair[0] >= threshold), key=lambda pair: -pair[0])
        return {
            "SearchedFaceId": searched.face_id,
            "FaceMatches": [
                {"Similarity": round(score, 4), "Face": face.listed()}
                for score, face in matches[: params.get("MaxFaces", MAX_SEARCH_FACES)]
            ],
            "FaceModelVersion": FACE_MODEL_VERSION,
        }


def page(items: list[Any], params: dict[str, Any], default: int) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``items`` from ``params``' NextToken and MaxResults, and the next token."""
    start = 0
    if "NextToken" in params:
        try:
            start = int(base64.b64decode(params["NextToken"], validate=True).decode())
        except ValueError:
            raise ServiceError("InvalidPaginationTokenException", "Invalid pagination token") from None
        if not 0 <= start <= len(items):
            raise ServiceError("InvalidPaginationTokenException", "Invalid pagination token")
    size = params.get("MaxResults", default) or default
    end = start + size
    answer = {"NextToken": base64.b64encode(str(end).encode()).decode()} if end < len(items) else {}
    return items[start:end], answer


__all__ = ["RekognitionService", "ServiceError", "similarity_from_distance"]
