"""The endpoint's state: collections of faces and users, and the one similarity scale.

**The similarities are the bundled dlib model's, mapped onto Rekognition's 0–100 scale by
``similarity_from_distance``; they are not AWS's scores.**
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.rekognition.errors import not_found

if TYPE_CHECKING:
    import numpy as np

FACE_MODEL_VERSION = "7.0"
REGION, ACCOUNT = "us-east-1", "123456789012"
# Defaults from the API reference; DEFAULT_MAX_USERS and the page sizes are not documented.
ASSOCIATE_THRESHOLD = 75.0
SEARCH_THRESHOLD = 80.0
DEFAULT_MAX_USERS = 50
DEFAULT_PAGE = 1000
MAX_FACES_PER_USER = 100
MAX_SEARCH_FACES = 4096  # SearchFaces' MaxFaces: the model's most; its default is not documented

# The scale: a logistic in the distance of SFace's unit embeddings, 50 at SCALE_MIDPOINT,
# steepness SCALE_WIDTH. Measured on .cache/photos (bench.models): one person's photos at
# 0.55–0.88 (cosine 0.85–0.61, → 100), different people at 1.12 and more (cosine 0.373 and
# less, → 2 and less). facegate's Rekognition threshold 99 falls at d = 1.0 (cosine 0.50),
# where the local engine's own 80 is, so a photo matches on both engines or on neither.
SCALE_MIDPOINT = 1.064
SCALE_WIDTH = 0.014


def similarity_from_distance(distance: float) -> float:
    """The bundled model's embedding distance as a Rekognition-like similarity, 0–100.

    100 / (1 + e^((d − 1.064) / 0.014)): same-person photos (d ≤ 0.88) read above 99.9 as
    Rekognition's do, different people (d ≥ 1.12) below 2.
    """
    exponent = (distance - SCALE_MIDPOINT) / SCALE_WIDTH
    if exponent > 700:  # e^700 is near float's limit; the similarity is 0 long before
        return 0.0
    return 100.0 / (1.0 + math.exp(exponent))


@dataclass
class Face:
    """One indexed face: what ListFaces shows, and the embedding searches compare."""

    face_id: str
    image_id: str
    box: dict[str, float]
    embedding: np.ndarray
    external_image_id: str | None = None
    user_id: str | None = None
    confidence: float = 100.0  # the detector's, when it was indexed

    def listed(self) -> dict[str, Any]:
        """The face as the ``Face`` shape."""
        face: dict[str, Any] = {
            "FaceId": self.face_id,
            "BoundingBox": self.box,
            "ImageId": self.image_id,
            "Confidence": self.confidence,
            "IndexFacesModelVersion": FACE_MODEL_VERSION,
        }
        if self.external_image_id is not None:
            face["ExternalImageId"] = self.external_image_id
        if self.user_id is not None:
            face["UserId"] = self.user_id
        return face


@dataclass
class Collection:
    """One collection: faces by id and users (in creation order), each user's faces by id."""

    collection_id: str
    created: datetime
    faces: dict[str, Face] = field(default_factory=dict)
    users: dict[str, list[str]] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"aws:rekognition:{REGION}:{ACCOUNT}:collection/{self.collection_id}"

    def user(self, user_id: str) -> list[str]:
        if user_id not in self.users:
            raise not_found(f"user {user_id}")
        return self.users[user_id]

    def similarity(self, user_id: str, embedding: np.ndarray) -> float:
        """A user's similarity to a face: the best over the user's faces."""
        import numpy as np

        gallery = np.stack([self.faces[face_id].embedding for face_id in self.users[user_id]])
        return similarity_from_distance(float(np.linalg.norm(gallery - embedding, axis=1).min()))


def user_status(collection: Collection, user_id: str) -> str:
    """CREATED until a face is associated, then ACTIVE (the sandbox never leaves it UPDATING)."""
    return "ACTIVE" if collection.users[user_id] else "CREATED"
