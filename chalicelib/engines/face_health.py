"""The gallery's health: every face against every other face of its model, in blocks of
bounded memory, for close pairs of employees, outlier faces and who waits for migration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.config import Policy
from chalicelib.core.health_jobs import HealthCensus, HealthPart
from chalicelib.core.models import GalleryHealth, OutlierFace, gallery_health
from chalicelib.engines.face_model import FaceModel, OldFaceModel
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.gallery_search import waiting_rows
from chalicelib.scanning.recognition import confusable_at

if TYPE_CHECKING:
    import numpy as np

# A block of rows at a time: at most this many distances (float32, 16 MB) at once,
# whatever the gallery's size.
HEALTH_BLOCK_CELLS = 4_000_000


# One slice of a health job (``health_of_rows``): its rows against the whole gallery, at
# most this many distances in all (~8 G multiply-adds: seconds of numpy), in blocks as above.
HEALTH_SLICE_CELLS = 64_000_000


def faces_health(
    gallery: Gallery,
    policy: Policy,
    current: FaceModel,
    old: dict[str, OldFaceModel],
    block_cells: int = HEALTH_BLOCK_CELLS,
) -> GalleryHealth:
    """Every face against every other face of its model, a block of rows at a time
    (``block_cells`` distances); faces of an old model not installed are not compared.

    n faces cost n²·128 multiply-adds and n² distances in all, never more than one block
    of them in memory (a few times ``block_cells`` × 4 bytes with temporaries). The health
    job does the same work in slices (``health_of_rows``) and adds them up to this report.
    """
    census = health_census(gallery, current)
    part = health_of_rows(gallery, policy, current, old, 0, census.faces, block_cells)
    return gallery_health(
        policy.match_threshold,
        policy.match_margin,
        census.face_counts,
        part.pairs,
        part.outliers,
        census.old_model_only,
    )


def health_census(
    gallery: Gallery, current: FaceModel, slice_cells: int = HEALTH_SLICE_CELLS
) -> HealthCensus:
    """The gallery counted (O(n)): its rows are the walking order; a slice takes as many rows
    as keep it under ``slice_cells`` distances against the whole gallery."""
    import numpy as np

    count = len(gallery.owners)
    counts = np.bincount(gallery.owners, minlength=len(gallery.employee_ids))
    face_counts = {employee: int(counts[n]) for n, employee in enumerate(gallery.employee_ids) if counts[n]}
    waiting = waiting_rows(gallery, current.model_id).values()
    old_only = {gallery.employee_ids[int(owner)] for rows_of in waiting for owner in gallery.owners[rows_of]}
    return HealthCensus(count, max(1, slice_cells // max(1, count)), face_counts, sorted(old_only))


def health_of_rows(
    gallery: Gallery,
    policy: Policy,
    current: FaceModel,
    old: dict[str, OldFaceModel],
    start: int,
    stop: int,
    block_cells: int = HEALTH_BLOCK_CELLS,
) -> HealthPart:
    """Rows ``start:stop`` against every row of their model, a block of rows at a time:
    close pairs (best per pair) and outliers among them."""
    count = len(gallery.owners)
    stop = min(stop, count)
    pairs: dict[tuple[str, str], float] = {}
    outliers: list[OutlierFace] = []
    rows = max(1, block_cells // max(1, count))
    models: dict[str, FaceModel | OldFaceModel] = {**old, current.model_id: current}
    for model_id in gallery.model_ids:
        if model_id in models:
            of_model = gallery.rows_of(model_id)
            for first in range(start, stop, rows):
                last = min(stop, first + rows)
                _health_of_block(gallery, policy, models[model_id], of_model, first, last, pairs, outliers)
    return HealthPart(pairs, outliers)


def _health_of_block(
    gallery: Gallery,
    policy: Policy,
    model: FaceModel | OldFaceModel,
    of_model: np.ndarray,
    start: int,
    stop: int,
    pairs: dict[tuple[str, str], float],
    outliers: list[OutlierFace],
) -> None:
    """Rows ``start:stop`` of the model against its other rows: close pairs (few) and
    outliers, added."""
    import numpy as np

    floor = confusable_at(policy)
    # A hair past the cut-off's distance, so that the model's rounding decides at the edge.
    cut = model.squared_at(floor) * 1.001 + 1e-6
    norms = gallery.square_norms
    squared = norms[start:stop, None] - 2.0 * (gallery.matrix[start:stop] @ gallery.matrix.T) + norms[None, :]
    squared[np.arange(stop - start), np.arange(start, stop)] = np.inf  # a face is not its own match
    squared[:, ~of_model] = np.inf
    squared[~of_model[start:stop], :] = np.inf
    squared = np.maximum(squared, 0.0)
    same = gallery.owners[start:stop, None] == gallery.owners[None, :]
    for row, column in zip(*np.nonzero((squared <= cut) & ~same), strict=True):
        score = model.score(squared[row, column])
        if score >= floor:
            first, second = sorted((int(gallery.owners[start + row]), int(gallery.owners[column])))
            ids = (gallery.employee_ids[first], gallery.employee_ids[second])
            pairs[ids] = max(pairs.get(ids, 0.0), score)
    own = np.where(same, squared, np.inf).min(axis=1)
    for row in np.nonzero(np.isfinite(own))[0]:  # rows whose employee has another face of the model
        score = model.score(own[row])
        if score < policy.match_threshold:
            employee = gallery.employee_ids[int(gallery.owners[start + row])]
            outliers.append(OutlierFace(employee, gallery.face_ids[start + row], score))
