"""decide(): the door policy over its whole table, boundaries included."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.core.config import Policy
from chalicelib.core.models import BoundingBox, DetectedFace, Employee, Match, Reason, SearchResult, Status
from chalicelib.scanning.recognition import decide, worth_matching

POLICY = Policy(match_threshold=80.0, match_margin=5.0, min_face_px=80, min_sharpness=20.0)
JANE = Employee("EMP001", "Jane Doe")


def face(size: int = 200, sharpness: float = 60.0, left: int = 10) -> DetectedFace:
    return DetectedFace(BoundingBox(left, 20, size, size), sharpness)


def seen(*faces: DetectedFace, best: float | None = 95.0, runner_up: float | None = None) -> SearchResult:
    return SearchResult(
        faces=list(faces),
        best=None if best is None else Match("EMP001", best),
        runner_up=None if runner_up is None else Match("EMP002", runner_up),
    )


def test_one_clear_face_matching_an_active_employee_is_authorized() -> None:
    decision = decide(seen(face()), JANE, POLICY)
    assert decision.status is Status.AUTHORIZED
    assert (decision.employee_id, decision.employee_name, decision.similarity) == ("EMP001", "Jane Doe", 95.0)
    assert decision.faces_in_frame == 1
    assert decision.face_box == BoundingBox(10, 20, 200, 200)


def test_no_face_is_no_face() -> None:
    decision = decide(SearchResult(faces=[]), None, POLICY)
    assert decision.status is Status.NO_FACE
    assert decision.reason


def test_two_usable_faces_are_multiple_faces_even_when_the_largest_matches() -> None:
    decision = decide(seen(face(300), face(120, left=400)), JANE, POLICY)
    assert decision.status is Status.MULTIPLE_FACES
    assert decision.faces_in_frame == 2
    assert decision.employee_id is None


def test_a_small_background_face_does_not_count_as_a_second_person() -> None:
    decision = decide(seen(face(300), face(40, left=400)), JANE, POLICY)
    assert decision.status is Status.AUTHORIZED
    assert decision.faces_in_frame == 2


@pytest.mark.parametrize(
    ("size", "sharpness", "expected"),
    [
        (80, 20.0, Status.AUTHORIZED),  # exactly at both minimums
        (79, 20.0, Status.LOW_QUALITY),
        (80, 19.9, Status.LOW_QUALITY),
        (30, 90.0, Status.LOW_QUALITY),
    ],
)
def test_face_size_and_sharpness_boundaries(size: int, sharpness: float, expected: Status) -> None:
    decision = decide(seen(face(size, sharpness)), JANE, POLICY)
    assert decision.status is expected


def test_low_quality_says_what_is_wrong() -> None:
    assert "too small" in (decide(seen(face(50)), JANE, POLICY).reason or "")
    assert "blurred" in (decide(seen(face(200, 5.0)), JANE, POLICY).reason or "")


def test_largest_face_blurred_beside_a_clear_smaller_face_is_low_quality() -> None:
    decision = decide(seen(face(300, sharpness=5.0), face(100, left=400)), JANE, POLICY)
    assert decision.status is Status.LOW_QUALITY


@pytest.mark.parametrize(
    ("similarity", "expected"),
    [(80.0, Status.AUTHORIZED), (79.99, Status.UNKNOWN), (100.0, Status.AUTHORIZED), (0.0, Status.UNKNOWN)],
)
def test_match_threshold_boundary(similarity: float, expected: Status) -> None:
    assert decide(seen(face(), best=similarity), JANE, POLICY).status is expected


def test_no_candidate_at_all_is_unknown() -> None:
    decision = decide(seen(face(), best=None), None, POLICY)
    assert decision.status is Status.UNKNOWN
    assert decision.similarity is None


def test_unknown_keeps_the_best_similarity_for_the_record() -> None:
    decision = decide(seen(face(), best=61.5), JANE, POLICY)
    assert decision.status is Status.UNKNOWN
    assert decision.similarity == 61.5
    assert decision.employee_id is None


@pytest.mark.parametrize(
    ("best", "runner_up", "expected"),
    [
        (90.0, 85.0, Status.AUTHORIZED),  # margin exactly 5
        (90.0, 85.01, Status.UNKNOWN),
        (90.0, 40.0, Status.AUTHORIZED),
    ],
)
def test_margin_over_the_next_best_employee(best: float, runner_up: float, expected: Status) -> None:
    decision = decide(seen(face(), best=best, runner_up=runner_up), JANE, POLICY)
    assert decision.status is expected
    if expected is Status.UNKNOWN:
        assert decision.reason_code is Reason.AMBIGUOUS
        assert "ambiguous" in (decision.reason or "")
        # ids live in structured fields only, where erasure finds them; never in the text
        assert "EMP001" not in (decision.reason or "") and "EMP002" not in (decision.reason or "")
        assert decision.employee_id == "EMP001"


def test_suspended_employee_is_never_authorized() -> None:
    suspended = Employee("EMP001", "Jane Doe", active=False)
    decision = decide(seen(face(), best=99.0), suspended, POLICY)
    assert decision.status is Status.UNKNOWN
    assert decision.reason == "employee is suspended"


def test_matched_face_without_employee_record_is_unknown() -> None:
    assert decide(seen(face()), None, POLICY).status is Status.UNKNOWN
    other = Employee("EMP999", "Someone Else")
    assert decide(seen(face()), other, POLICY).status is Status.UNKNOWN


def test_thresholds_come_from_the_policy() -> None:
    strict = Policy(match_threshold=97.0, match_margin=5.0, min_face_px=250, min_sharpness=20.0)
    assert decide(seen(face(300), best=96.0), JANE, strict).status is Status.UNKNOWN
    assert decide(seen(face(200), best=99.0), JANE, strict).status is Status.LOW_QUALITY


@pytest.mark.parametrize(
    ("faces", "worth"),
    [
        ((), False),
        ((face(),), True),
        ((face(300), face(40, left=400)), True),  # a background face does not count
        ((face(300), face(120, left=400)), False),  # two people: MULTIPLE_FACES regardless
        ((face(50),), False),  # too small: LOW_QUALITY regardless
        ((face(200, 5.0),), False),  # too blurred
    ],
)
def test_a_match_is_only_worth_searching_when_it_could_decide(
    faces: tuple[DetectedFace, ...], worth: bool
) -> None:
    assert worth_matching(list(faces), POLICY) is worth
    if not worth:  # whatever the engine would have found, the decision is the same
        with_match = decide(seen(*faces, best=99.0), JANE, POLICY).status
        without = decide(seen(*faces, best=None), None, POLICY).status
        assert with_match is without is not Status.AUTHORIZED


@pytest.mark.parametrize(
    ("runner_up", "status"),
    [(83.0, Status.UNKNOWN), (75.0, Status.UNKNOWN), (74.9, Status.AUTHORIZED)],
)
def test_a_runner_up_scored_by_another_face_model_over_the_floor_is_a_tie(
    runner_up: float, status: Status
) -> None:
    """SFace scores one person at 94 where dlib gives 83: 11 points apart is no margin
    across two scales, so a rival of the other model at or over threshold − margin (75)
    keeps the door shut; under it, they are a stranger on either scale."""
    result = SearchResult(
        faces=[face()],
        best=Match("EMP001", 94.0, "sface-2021dec-int8bq"),
        runner_up=Match("EMP002", runner_up, "dlib-resnet-v1"),
    )
    decision = decide(result, JANE, POLICY)
    assert decision.status is status
    if status is Status.UNKNOWN:
        assert decision.reason_code is Reason.AMBIGUOUS
        expected = f"94.0 and {runner_up:.1f} by two face models, both at or over 75"
        assert decision.reason == f"ambiguous: the two closest employees score {expected}"
    same_model = replace(result, runner_up=Match("EMP002", 83.0, "sface-2021dec-int8bq"))
    assert decide(same_model, JANE, POLICY).status is Status.AUTHORIZED  # 11 points on one scale


def test_a_second_person_turned_away_is_still_a_second_person() -> None:
    """A tailgater looking aside: too turned to be matched, not too turned to be counted."""
    turned = DetectedFace(BoundingBox(300, 20, 120, 120), 60.0, yaw=62.0)
    result = SearchResult(faces=[face(), turned], best=Match("EMP001", 95.0))
    decision = decide(result, JANE, POLICY)
    assert (decision.status, decision.reason) == (Status.MULTIPLE_FACES, "2 people's faces in the photo")
    assert not worth_matching([face(), turned], POLICY)
    alone = decide(SearchResult(faces=[turned]), None, POLICY)
    assert alone.status is Status.LOW_QUALITY and "turned too far" in (alone.reason or "")
