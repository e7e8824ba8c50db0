"""What the local engine needs of a face model, and what both models share.

A model finds faces (``detect``), turns one into a 128-d embedding (``embed``), and puts the
squared distance of two of its own embeddings on facegate's 0–100 similarity scale
(``score``; ``squared_at`` is its inverse). An old model (``OldFaceModel``) only embeds the
faces the current one found, while employees still have only its faces. Embeddings of two
models are never compared: every stored face carries its model's id (``StoredFace.model``).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Self

if TYPE_CHECKING:
    import numpy as np

    from chalicelib.core.config import Policy
    from chalicelib.core.models import BoundingBox, DetectedFace, NormalisedImage

# Laplacian variance of a face chip maps onto 0–100 sharpness: 100·(1 − e^(−v/50)).
SHARPNESS_SCALE = 50.0


@dataclass
class FaceChip:
    """One face a model's ``detect`` found: where it is, and what its ``embed`` needs."""

    detected: DetectedFace
    chip: Any  # the model's aligned face (numpy array)


class LoadedOnce:
    """A model's weights, loaded at their first ``get`` and kept for the process (each
    subclass its own; loading is serialised)."""

    _lock = threading.Lock()
    _loaded: Any = None

    @classmethod
    def get(cls) -> Self:
        with LoadedOnce._lock:
            loaded = cls.__dict__.get("_loaded")
            if loaded is None:
                loaded = cls()
                cls._loaded = loaded
            return loaded


class FaceModel(Protocol):
    """A detector and embedder the local engine can match with."""

    model_id: str

    def load(self) -> None:
        """Import and load everything now rather than at the first scan."""
        ...

    def detect(self, image: NormalisedImage, policy: Policy) -> list[FaceChip]:
        """Every face in ``image``, largest first."""
        ...

    def embed(self, face: FaceChip) -> np.ndarray:
        """The float32 embedding of one face ``detect`` found."""
        ...

    def score(self, squared: float) -> float:
        """A squared distance of two of its embeddings on the 0–100 similarity scale."""
        ...

    def squared_at(self, score: float) -> float:
        """The squared distance ``score`` maps to (at or below it, ``score`` or more)."""
        ...


class OldFaceModel(Protocol):
    """A model whose faces are still matched, not enrolled: it embeds the faces the
    current model finds, until every employee has a face of the current model."""

    model_id: str

    def embed_at(self, image: NormalisedImage, box: BoundingBox) -> np.ndarray:
        """Its embedding of the face the current model found at ``box``."""
        ...

    def score(self, squared: float) -> float:
        """A squared distance of two of its embeddings on the 0–100 similarity scale."""
        ...

    def squared_at(self, score: float) -> float:
        """The squared distance ``score`` maps to."""
        ...


def sharpness(chip: Any) -> float:
    """Focus of an RGB face chip: variance of its Laplacian, mapped onto 0–100."""
    import numpy as np

    rgb = chip.astype(np.float32)
    gray = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    laplacian = gray[1:-1, :-2] + gray[1:-1, 2:] + gray[:-2, 1:-1] + gray[2:, 1:-1] - 4 * gray[1:-1, 1:-1]
    return round(100.0 * (1.0 - math.exp(-float(laplacian.var()) / SHARPNESS_SCALE)), 1)
