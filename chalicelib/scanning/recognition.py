"""The shared recognition module: ``decide()``, the door policy, and the face-quality rules.

The ``FaceEngine`` port itself is in ``chalicelib.core.ports``.

Every engine reports faces largest first, searches only the largest (the person at the
door) and scores matches on one 0–100 similarity scale, so one policy serves them all.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.core.config import Policy
from chalicelib.core.models import (
    Decision,
    DetectedFace,
    Employee,
    Reason,
    SearchResult,
    Status,
)


def quality_problem(face: DetectedFace, policy: Policy) -> str | None:
    """Why ``face`` cannot be trusted for a decision, or None when it is usable."""
    if face.size_px < policy.min_face_px:
        return f"face too small: {face.size_px}px across, minimum {policy.min_face_px}px"
    if face.sharpness < policy.min_sharpness:
        return f"face too blurred: sharpness {face.sharpness:.0f}, minimum {policy.min_sharpness:.0f}"
    if face.turn > policy.max_turn_degrees:
        return f"face turned too far: {face.turn:.0f} degrees, maximum {policy.max_turn_degrees:.0f}"
    return None


def is_a_person(face: DetectedFace, policy: Policy) -> bool:
    """Whether ``face`` is large and sharp enough to be someone at the door, whichever way
    they look: a second such face is a second person (tailgating), turned away or not. A
    turned face is not matched (``quality_problem``), but it is counted."""
    return face.size_px >= policy.min_face_px and face.sharpness >= policy.min_sharpness


def worth_matching(faces: list[DetectedFace], policy: Policy) -> bool:
    """Whether a match could change the decision: the largest face is usable and no other
    face is a person. Otherwise ``decide()`` says MULTIPLE_FACES, LOW_QUALITY or NO_FACE
    whatever the gallery holds, and an engine may skip the embedding and the search."""
    if not faces or quality_problem(faces[0], policy) is not None:
        return False
    return not any(is_a_person(face, policy) for face in faces[1:])


def confusable_at(policy: Policy) -> float:
    """The similarity at or above which a face of another employee is refused at enrollment
    and listed by the gallery's health check: ``match_threshold − match_margin``.

    A scan of one of two people whose faces score this close matches the other within the
    margin (UNKNOWN, "ambiguous") or, above the threshold, outright.
    """
    return max(0.0, policy.match_threshold - policy.match_margin)


def decide(result: SearchResult, employee: Employee | None, policy: Policy) -> Decision:
    """Turn what the engine saw into a door decision; anything doubtful stays closed.

    ``employee`` is the directory entry of ``result.best`` (None when unknown there).
    """
    faces = result.faces
    if not faces:
        return Decision(Status.NO_FACE, reason="no face in the photo", reason_code=Reason.NO_FACE)
    primary = faces[0]
    seen = Decision(Status.ERROR, faces_in_frame=len(faces), face_box=primary.box)
    people = [face for face in faces if is_a_person(face, policy)]
    if len(people) > 1:
        return replace(
            seen,
            status=Status.MULTIPLE_FACES,
            reason=f"{len(people)} people's faces in the photo",
            reason_code=Reason.SEVERAL_FACES,
        )
    problem = quality_problem(primary, policy)
    if problem is not None:
        return replace(seen, status=Status.LOW_QUALITY, reason=problem, reason_code=Reason.POOR_FACE)
    best = result.best
    if best is None or best.similarity < policy.match_threshold:
        return replace(
            seen,
            status=Status.UNKNOWN,
            reason="no enrolled employee matches",
            reason_code=Reason.NO_MATCH,
            similarity=None if best is None else best.similarity,
        )
    matched = replace(seen, employee_id=best.employee_id, similarity=best.similarity)
    runner_up = result.runner_up
    if runner_up is not None and best.similarity - runner_up.similarity < policy.match_margin:
        return replace(
            matched,
            status=Status.UNKNOWN,
            # No ids in the text: the best match is in employee_id, where erasure finds it,
            # and the runner-up is not recorded at all.
            reason=(
                f"ambiguous: the two closest employees score {best.similarity:.1f} and "
                f"{runner_up.similarity:.1f}, within {policy.match_margin:g} points"
            ),
            reason_code=Reason.AMBIGUOUS,
        )
    floor = confusable_at(policy)
    if runner_up is not None and runner_up.model != best.model and runner_up.similarity >= floor:
        # Two face models score on two scales (an engine upgrading its model): no margin
        # between them means anything, so a runner-up of the other one over the floor is
        # as good as a tie.
        return replace(
            matched,
            status=Status.UNKNOWN,
            reason=(
                f"ambiguous: the two closest employees score {best.similarity:.1f} and "
                f"{runner_up.similarity:.1f} by two face models, both at or over {floor:g}"
            ),
            reason_code=Reason.AMBIGUOUS,
        )
    if employee is None or employee.employee_id != best.employee_id:
        return replace(
            matched,
            status=Status.UNKNOWN,
            reason="matched face has no employee record",
            reason_code=Reason.NO_EMPLOYEE_RECORD,
        )
    if not employee.active:
        return replace(
            matched,
            status=Status.UNKNOWN,
            reason="employee is suspended",
            reason_code=Reason.SUSPENDED,
            employee_name=employee.name,
        )
    return replace(matched, status=Status.AUTHORIZED, employee_name=employee.name)
