"""The Users API: associating faces with users, and searching users by the largest face."""

from __future__ import annotations

from typing import Any

from sandbox.rekognition import vision
from sandbox.rekognition.errors import ServiceError, invalid
from sandbox.rekognition.state import FACE_MODEL_VERSION, Collection, user_status


def associate(collection: Collection, params: dict[str, Any], default: float, limit: int) -> dict[str, Any]:
    """AssociateFaces: a face joins a user that has faces only if it matches them."""
    user_id = params["UserId"]
    owned = collection.user(user_id)
    threshold = params.get("UserMatchThreshold", default)
    had_faces = bool(owned)
    associated: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for face_id in dict.fromkeys(params["FaceIds"]):
        face = collection.faces.get(face_id)
        if face is None:
            failed.append({"FaceId": face_id, "UserId": user_id, "Reasons": ["FACE_NOT_FOUND"]})
            continue
        if face.user_id == user_id:
            continue  # already this user's: ignored, in neither list
        if face.user_id is not None:
            failed.append(
                {"FaceId": face_id, "UserId": face.user_id, "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]}
            )
            continue
        if had_faces:
            confidence = collection.similarity(user_id, face.embedding)
            if confidence < threshold:
                failed.append(
                    {
                        "FaceId": face_id,
                        "UserId": user_id,
                        "Confidence": round(confidence, 4),
                        "Reasons": ["LOW_MATCH_CONFIDENCE"],
                    }
                )
                continue
        associated.append({"FaceId": face_id})
    if len(owned) + len(associated) > limit:
        raise ServiceError("ServiceQuotaExceededException", f"A user holds at most {limit} faces")
    for entry in associated:
        collection.faces[entry["FaceId"]].user_id = user_id
        owned.append(entry["FaceId"])
    return {
        "AssociatedFaces": associated,
        "UnsuccessfulFaceAssociations": failed,
        "UserStatus": user_status(collection, user_id),
    }


def disassociate(collection: Collection, params: dict[str, Any]) -> dict[str, Any]:
    """DisassociateFaces: faces not associated with anyone are ignored."""
    user_id = params["UserId"]
    owned = collection.user(user_id)
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for face_id in dict.fromkeys(params["FaceIds"]):
        face = collection.faces.get(face_id)
        if face is None:
            failed.append({"FaceId": face_id, "UserId": user_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.user_id is not None and face.user_id != user_id:
            failed.append(
                {"FaceId": face_id, "UserId": face.user_id, "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]}
            )
        elif face.user_id == user_id:
            face.user_id = None
            owned.remove(face_id)
            done.append({"FaceId": face_id})
    return {
        "DisassociatedFaces": done,
        "UnsuccessfulFaceDisassociations": failed,
        "UserStatus": user_status(collection, user_id),
    }


def search_users(
    collection: Collection, params: dict[str, Any], threshold: float, max_users: int
) -> dict[str, Any]:
    """SearchUsersByImage: the largest face searched, every other face listed as unsearched.

    No face at all is an ``InvalidParameterException``; a largest face the QualityFilter
    refuses leaves no ``SearchedFace`` and no matches, as the API reference describes.
    """
    seen = vision.faces(vision.decode(params["Image"]))
    if not seen:
        raise invalid("There are no faces in the image. Should be at least 1.")
    quality_filter = params.get("QualityFilter", "NONE")
    largest, *others = seen
    unsearched = [
        {"FaceDetails": face.detail, "Reasons": ["FACE_NOT_LARGEST", *face.problems(quality_filter)]}
        for face in others
    ]
    answer: dict[str, Any] = {
        "FaceModelVersion": FACE_MODEL_VERSION,
        "UserMatches": [],
        "UnsearchedFaces": unsearched,
    }
    problems = largest.problems(quality_filter)
    if problems:
        unsearched.insert(0, {"FaceDetails": largest.detail, "Reasons": problems})
        return answer
    answer["SearchedFace"] = {"FaceDetail": largest.detail}
    users = [user_id for user_id, faces in collection.users.items() if faces]
    if users:
        embedding = vision.embedding(largest)
        scored = [(collection.similarity(user_id, embedding), user_id) for user_id in users]
        ranked = sorted((pair for pair in scored if pair[0] >= threshold), key=lambda pair: -pair[0])
        answer["UserMatches"] = [
            {"Similarity": round(similarity, 4), "User": {"UserId": user_id, "UserStatus": "ACTIVE"}}
            for similarity, user_id in ranked[:max_users]
        ]
    return answer


def search_users_by_id(
    collection: Collection, params: dict[str, Any], threshold: float, max_users: int
) -> dict[str, Any]:
    """SearchUsers: the users closest to one indexed face (``FaceId``) or to a user
    (``UserId``, itself left out); exactly one of the two."""
    if ("FaceId" in params) == ("UserId" in params):
        raise invalid("Provide exactly one of FaceId and UserId")
    answer: dict[str, Any] = {"FaceModelVersion": FACE_MODEL_VERSION}
    if "FaceId" in params:
        face = collection.faces.get(params["FaceId"])
        if face is None:
            raise invalid(f"Face {params['FaceId']} does not exist")  # the sandbox's guess at the code
        probes = [face.embedding]
        answer["SearchedFace"] = {"FaceId": face.face_id}
        myself = None
    else:
        myself = params["UserId"]
        probes = [collection.faces[face_id].embedding for face_id in collection.user(myself)]
        answer["SearchedUser"] = {"UserId": myself}
    users = [user_id for user_id, faces in collection.users.items() if faces and user_id != myself]
    scored = [(max(collection.similarity(user_id, probe) for probe in probes), user_id) for user_id in users]
    ranked = sorted((pair for pair in scored if pair[0] >= threshold), key=lambda pair: -pair[0])
    answer["UserMatches"] = [
        {"Similarity": round(similarity, 4), "User": {"UserId": user_id, "UserStatus": "ACTIVE"}}
        for similarity, user_id in ranked[:max_users]
    ]
    return answer
