"""The sandbox's Rekognition endpoint through a real boto3 client, on the real photos.

Every 200 answer is checked against botocore's model of the operation (``conftest``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.core.config import ImageLimits, Policy
from chalicelib.engines.rekognition import RekognitionEngine
from chalicelib.scanning.imaging import normalise
from sandbox.rekognition import RekognitionEndpoint
from sandbox.rekognition.service import similarity_from_distance
from sandbox.stack import PROJECT_DIR
from tests.sandbox.conftest import Checked, check_response, client_for

Images = Callable[[str], bytes]


def error_of(call: Callable[..., Any], **params: Any) -> tuple[str, str]:
    """The (code, message) a call fails with."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def index(client: Any, collection: str, images: Images, photo: str, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = client.index_faces(
        CollectionId=collection, Image={"Bytes": images(photo)}, **params
    )
    return answer


def enroll(client: Any, collection: str, images: Images, user: str, *photos: str) -> list[str]:
    """IndexFaces (one face each), CreateUser, AssociateFaces; the face ids."""
    ids = [
        index(client, collection, images, p, MaxFaces=1)["FaceRecords"][0]["Face"]["FaceId"] for p in photos
    ]
    client.create_user(CollectionId=collection, UserId=user)
    answer = client.associate_faces(CollectionId=collection, UserId=user, FaceIds=ids)
    assert answer["UnsuccessfulFaceAssociations"] == []
    return ids


# -- the model check itself --


def test_the_model_check_catches_a_malformed_answer() -> None:
    good = {"DeletedFaces": [str(uuid.uuid4())], "UnsuccessfulFaceDeletions": []}
    check_response("DeleteFaces", good)
    bad: dict[str, Any]
    for bad in (
        {"DeletedFaces": []},  # the model wants at least one id
        {"DeletedFaces": "one id"},
        {"UnsuccessfulFaceDeletions": [{"FaceId": 7}]},
        {"Deleted": [str(uuid.uuid4())]},  # an unknown member
    ):
        with pytest.raises(AssertionError, match="off-model"):
            check_response("DeleteFaces", bad)
    with pytest.raises(AssertionError, match="off-model"):
        check_response("SearchUsersByImage", {"UserMatches": [{"Similarity": "99", "User": {}}]})


# -- collections --


def test_collections_are_created_described_listed_and_deleted(client: Any, checked: Checked) -> None:
    names = sorted(f"c{n}-{uuid.uuid4().hex[:8]}" for n in range(3))
    for name in names:
        created = client.create_collection(CollectionId=name)
        assert created["StatusCode"] == 200 and created["CollectionArn"].endswith(f"collection/{name}")
    assert error_of(client.create_collection, CollectionId=names[0])[0] == "ResourceAlreadyExistsException"
    described = client.describe_collection(CollectionId=names[0])
    assert (described["FaceCount"], described["UserCount"], described["FaceModelVersion"]) == (0, 0, "7.0")
    listed: list[Any] = []
    token: dict[str, str] = {}
    while True:
        page = client.list_collections(MaxResults=1, **token)
        assert len(page["CollectionIds"]) == len(page["FaceModelVersions"]) <= 1
        listed += page["CollectionIds"]
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert set(names) <= set(listed) and listed == sorted(listed)
    for name in names:
        assert client.delete_collection(CollectionId=name)["StatusCode"] == 200
    assert error_of(client.delete_collection, CollectionId=names[0])[0] == "ResourceNotFoundException"
    assert error_of(client.describe_collection, CollectionId=names[0])[0] == "ResourceNotFoundException"
    assert error_of(client.list_collections, NextToken="not-a-token")[0] == "InvalidPaginationTokenException"
    assert "ListCollections" in checked and "DescribeCollection" in checked


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("create_collection", {"CollectionId": "has spaces"}),  # the model's pattern
        ("create_collection", {"CollectionId": "x" * 256}),  # its maximum length
        ("create_collection", {}),  # required
        ("list_collections", {"MaxResults": "ten"}),  # ill-typed
        ("list_collections", {"MaxResults": 5000}),  # above the maximum
        ("index_faces", {"CollectionId": "c", "Image": {"Bytes": b"x"}, "MaxFaces": 0}),
        ("index_faces", {"CollectionId": "c", "Image": {"Bytes": b"x"}, "QualityFilter": "BEST"}),
        ("search_users_by_image", {"CollectionId": "c", "Image": {"Bytes": b"x"}, "MaxUsers": 501}),
        ("associate_faces", {"CollectionId": "c", "UserId": "u", "FaceIds": []}),
        ("associate_faces", {"CollectionId": "c", "UserId": "u", "FaceIds": ["f"] * 101}),
        (
            "associate_faces",
            {"CollectionId": "c", "UserId": "u", "FaceIds": ["f"], "UserMatchThreshold": 101},
        ),
        ("create_user", {"CollectionId": "c", "UserId": "no spaces"}),
    ],
)
def test_requests_off_the_model_are_invalid_parameters(unvalidated: Any, operation: str, params: Any) -> None:
    code, message = error_of(getattr(unvalidated, operation), **params)
    assert code == "InvalidParameterException", message


def test_unknown_collections_are_not_found(client: Any, image_bytes: Images) -> None:
    image = {"Bytes": image_bytes("obama.jpg")}
    for call, params in (
        (client.index_faces, {"Image": image}),
        (client.search_users_by_image, {"Image": image}),
        (client.create_user, {"UserId": "u"}),
        (client.list_faces, {}),
        (client.list_users, {}),
        (client.delete_faces, {"FaceIds": [str(uuid.uuid4())]}),
    ):
        assert error_of(call, CollectionId="nowhere", **params)[0] == "ResourceNotFoundException"


# -- IndexFaces --


def test_index_faces_records_the_face_in_ratios_with_the_bundled_models_sharpness(
    client: Any, collection: str, image_bytes: Images
) -> None:
    from sandbox.rekognition.vision import engine

    answer = index(client, collection, image_bytes, "obama.jpg", ExternalImageId="EMP001", MaxFaces=1)
    [record] = answer["FaceRecords"]
    assert answer["UnindexedFaces"] == [] and answer["FaceModelVersion"] == "7.0"
    face, detail = record["Face"], record["FaceDetail"]
    assert face["ExternalImageId"] == "EMP001" and "UserId" not in face
    assert face["BoundingBox"] == detail["BoundingBox"]
    image = normalise(image_bytes("obama.jpg"), ImageLimits())
    [local] = engine().detect(image)
    box = detail["BoundingBox"]
    assert round(box["Left"] * image.width) == local.detected.box.left
    assert round(box["Width"] * image.width) == local.detected.box.width
    assert 0 < box["Width"] < 1 and 0 < box["Height"] < 1
    assert detail["Quality"]["Sharpness"] == local.detected.sharpness
    assert 0 < detail["Quality"]["Brightness"] < 100
    assert client.describe_collection(CollectionId=collection)["FaceCount"] == 1


def test_index_faces_keeps_the_largest_faces_within_max_faces(
    client: Any, collection: str, image_bytes: Images
) -> None:
    answer = index(client, collection, image_bytes, "group.jpg", MaxFaces=2)
    areas = [
        r["FaceDetail"]["BoundingBox"]["Width"] * r["FaceDetail"]["BoundingBox"]["Height"]
        for r in answer["FaceRecords"]
    ]
    assert len(areas) == 2 and areas == sorted(areas, reverse=True)
    assert [face["Reasons"] for face in answer["UnindexedFaces"]] == [["EXCEEDS_MAX_FACES"]] * 4
    smaller = [f["FaceDetail"]["BoundingBox"]["Width"] for f in answer["UnindexedFaces"]]
    assert max(smaller) <= min(r["FaceDetail"]["BoundingBox"]["Width"] for r in answer["FaceRecords"])
    assert len({r["Face"]["ImageId"] for r in answer["FaceRecords"]}) == 1  # one image
    assert len(index(client, collection, image_bytes, "group.jpg")["FaceRecords"]) == 6


@pytest.mark.parametrize(
    ("photo", "quality_filter", "reasons"),
    [
        ("blurred", "AUTO", ["LOW_SHARPNESS"]),
        ("blurred", "LOW", ["LOW_SHARPNESS"]),
        ("dark", "AUTO", ["LOW_BRIGHTNESS"]),
        ("small-face", "HIGH", ["SMALL_BOUNDING_BOX"]),
        ("small-face", "AUTO", []),
        ("blurred", "NONE", []),
    ],
)
def test_index_faces_filters_by_quality(
    client: Any, collection: str, image_bytes: Images, photo: str, quality_filter: str, reasons: list[str]
) -> None:
    answer = index(client, collection, image_bytes, photo, QualityFilter=quality_filter)
    if reasons:
        assert answer["FaceRecords"] == []
        assert [face["Reasons"] for face in answer["UnindexedFaces"]] == [reasons]
    else:
        assert len(answer["FaceRecords"]) == 1 and answer["UnindexedFaces"] == []


def test_index_faces_on_a_photo_without_faces_indexes_nothing(
    client: Any, collection: str, image_bytes: Images
) -> None:
    answer = index(client, collection, image_bytes, "coffee.png")
    assert (answer["FaceRecords"], answer["UnindexedFaces"]) == ([], [])


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), "ImageTooLargeException"),
        (b"GIF89a" + b"\0" * 100, "InvalidImageFormatException"),
        (b"\xff\xd8\xff\xe0 truncated", "InvalidImageFormatException"),
    ],
)
def test_images_over_5_mb_or_not_jpeg_or_png_are_refused(
    client: Any, collection: str, data: bytes, code: str
) -> None:
    for call in (client.index_faces, client.search_users_by_image):
        assert error_of(call, CollectionId=collection, Image={"Bytes": data})[0] == code


def test_images_from_s3_are_not_served(client: Any, collection: str) -> None:
    image = {"S3Object": {"Bucket": "bucket", "Name": "k.jpg"}}
    assert (
        error_of(client.index_faces, CollectionId=collection, Image=image)[0] == "InvalidParameterException"
    )


# -- users --


def test_create_user_conflicts_and_list_users_pages_with_statuses(
    client: Any, collection: str, image_bytes: Images
) -> None:
    client.create_user(CollectionId=collection, UserId="EMP001")
    assert error_of(client.create_user, CollectionId=collection, UserId="EMP001")[0] == "ConflictException"
    enroll(client, collection, image_bytes, "EMP002", "biden.jpg")
    first = client.list_users(CollectionId=collection, MaxResults=1)
    second = client.list_users(CollectionId=collection, MaxResults=1, NextToken=first["NextToken"])
    assert first["Users"] == [{"UserId": "EMP001", "UserStatus": "CREATED"}]  # no face yet
    assert second["Users"] == [{"UserId": "EMP002", "UserStatus": "ACTIVE"}]
    assert "NextToken" not in second
    assert client.describe_collection(CollectionId=collection)["UserCount"] == 2


def test_a_repeated_client_request_token_is_idempotent(client: Any, collection: str) -> None:
    client.create_user(CollectionId=collection, UserId="EMP001", ClientRequestToken="token-1")
    client.create_user(CollectionId=collection, UserId="EMP001", ClientRequestToken="token-1")  # no conflict
    code, _ = error_of(
        client.create_user, CollectionId=collection, UserId="EMP002", ClientRequestToken="token-1"
    )
    assert code == "IdempotentParameterMismatchException"


def test_associate_faces_checks_each_face_against_the_users_faces(
    client: Any, collection: str, image_bytes: Images
) -> None:
    [first] = enroll(client, collection, image_bytes, "obama", "obama.jpg")
    same = index(client, collection, image_bytes, "obama2.jpg")["FaceRecords"][0]["Face"]["FaceId"]
    other = index(client, collection, image_bytes, "biden.jpg")["FaceRecords"][0]["Face"]["FaceId"]
    missing = str(uuid.uuid4())
    answer = client.associate_faces(
        CollectionId=collection, UserId="obama", FaceIds=[first, same, other, missing]
    )
    assert answer["AssociatedFaces"] == [{"FaceId": same}]  # `first` is already obama's: ignored
    failures = {f["FaceId"]: f for f in answer["UnsuccessfulFaceAssociations"]}
    assert failures[other]["Reasons"] == ["LOW_MATCH_CONFIDENCE"] and failures[other]["Confidence"] < 75
    assert failures[missing]["Reasons"] == ["FACE_NOT_FOUND"]
    client.create_user(CollectionId=collection, UserId="biden")
    taken = client.associate_faces(CollectionId=collection, UserId="biden", FaceIds=[same])
    assert taken["UnsuccessfulFaceAssociations"][0]["Reasons"] == ["ASSOCIATED_TO_A_DIFFERENT_USER"]
    # A user without faces takes any face; a threshold of 0 lets anyone join.
    assert client.associate_faces(CollectionId=collection, UserId="biden", FaceIds=[other])["AssociatedFaces"]
    stranger = index(client, collection, image_bytes, "astronaut.png")["FaceRecords"][0]["Face"]["FaceId"]
    loose = client.associate_faces(
        CollectionId=collection, UserId="biden", FaceIds=[stranger], UserMatchThreshold=0
    )
    assert loose["AssociatedFaces"] == [{"FaceId": stranger}]
    unknown = error_of(client.associate_faces, CollectionId=collection, UserId="nobody", FaceIds=[first])
    assert unknown[0] == "ResourceNotFoundException"


# -- SearchUsersByImage --


def test_search_users_ranks_users_by_their_best_face(
    client: Any, collection: str, image_bytes: Images
) -> None:
    enroll(client, collection, image_bytes, "obama", "obama.jpg", "obama2.jpg")
    enroll(client, collection, image_bytes, "biden", "biden.jpg")
    image = {"Bytes": image_bytes("obama3.jpg")}
    answer = client.search_users_by_image(CollectionId=collection, Image=image)
    [match] = answer["UserMatches"]  # biden is below the default threshold of 80
    assert match["User"] == {"UserId": "obama", "UserStatus": "ACTIVE"} and match["Similarity"] > 99
    assert answer["UnsearchedFaces"] == [] and "BoundingBox" in answer["SearchedFace"]["FaceDetail"]
    everyone = client.search_users_by_image(CollectionId=collection, Image=image, UserMatchThreshold=0)
    similarities = [m["Similarity"] for m in everyone["UserMatches"]]
    assert [m["User"]["UserId"] for m in everyone["UserMatches"]] == ["obama", "biden"]
    assert similarities == sorted(similarities, reverse=True) and similarities[1] < 5
    one = client.search_users_by_image(CollectionId=collection, Image=image, UserMatchThreshold=0, MaxUsers=1)
    assert [m["User"]["UserId"] for m in one["UserMatches"]] == ["obama"]


def test_search_users_searches_the_largest_face_and_lists_the_others(
    client: Any, collection: str, image_bytes: Images
) -> None:
    enroll(client, collection, image_bytes, "obama", "obama.jpg")
    answer = client.search_users_by_image(CollectionId=collection, Image={"Bytes": image_bytes("group.jpg")})
    assert answer["UserMatches"] == []
    searched = answer["SearchedFace"]["FaceDetail"]["BoundingBox"]
    others = answer["UnsearchedFaces"]
    assert len(others) == 5 and all(face["Reasons"] == ["FACE_NOT_LARGEST"] for face in others)
    area = searched["Width"] * searched["Height"]
    assert all(
        f["FaceDetails"]["BoundingBox"]["Width"] * f["FaceDetails"]["BoundingBox"]["Height"] <= area
        for f in others
    )


def test_search_users_without_a_face_is_an_invalid_parameter(
    client: Any, collection: str, image_bytes: Images
) -> None:
    code, message = error_of(
        client.search_users_by_image, CollectionId=collection, Image={"Bytes": image_bytes("coffee.png")}
    )
    assert code == "InvalidParameterException" and "no faces" in message


def test_search_users_with_a_quality_filter_leaves_a_poor_face_unsearched(
    client: Any, collection: str, image_bytes: Images
) -> None:
    enroll(client, collection, image_bytes, "obama", "obama.jpg")
    image = {"Bytes": image_bytes("blurred")}
    strict = client.search_users_by_image(CollectionId=collection, Image=image, QualityFilter="AUTO")
    assert "SearchedFace" not in strict and strict["UserMatches"] == []
    assert [face["Reasons"] for face in strict["UnsearchedFaces"]] == [["LOW_SHARPNESS"]]
    lenient = client.search_users_by_image(CollectionId=collection, Image=image)  # default NONE
    assert "SearchedFace" in lenient


# -- ListFaces, DisassociateFaces, DeleteFaces, DeleteUser --


def test_search_users_by_face_id_or_user_id_ranks_the_users(
    client: Any, collection: str, image_bytes: Images, checked: Checked
) -> None:
    enroll(client, collection, image_bytes, "obama", "obama.jpg")
    [biden] = enroll(client, collection, image_bytes, "biden", "biden.jpg")
    [record] = index(client, collection, image_bytes, "obama2.jpg", MaxFaces=1)["FaceRecords"]
    loose = record["Face"]["FaceId"]  # indexed, not associated
    answer = client.search_users(CollectionId=collection, FaceId=loose, UserMatchThreshold=0)
    assert answer["SearchedFace"] == {"FaceId": loose}
    assert [m["User"]["UserId"] for m in answer["UserMatches"]] == ["obama", "biden"]
    assert answer["UserMatches"][0]["Similarity"] > 99 > 5 > answer["UserMatches"][1]["Similarity"]
    strict = client.search_users(CollectionId=collection, FaceId=loose)  # the default threshold: 80
    assert [m["User"]["UserId"] for m in strict["UserMatches"]] == ["obama"]
    own = client.search_users(CollectionId=collection, FaceId=biden, MaxUsers=1)  # an associated face
    assert [m["User"]["UserId"] for m in own["UserMatches"]] == ["biden"]
    by_user = client.search_users(CollectionId=collection, UserId="obama", UserMatchThreshold=0)
    assert by_user["SearchedUser"] == {"UserId": "obama"}
    assert [m["User"]["UserId"] for m in by_user["UserMatches"]] == ["biden"]  # never itself
    for wrong in ({}, {"FaceId": loose, "UserId": "obama"}):
        with pytest.raises(client.exceptions.InvalidParameterException):
            client.search_users(CollectionId=collection, **wrong)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.search_users(CollectionId=collection, UserId="nobody")
    assert "SearchUsers" in checked


def test_search_faces_ranks_every_other_face_above_the_threshold(
    client: Any, collection: str, image_bytes: Images, checked: Checked
) -> None:
    first, second = enroll(client, collection, image_bytes, "obama", "obama.jpg", "obama2.jpg")
    [biden] = enroll(client, collection, image_bytes, "biden", "biden.jpg")
    answer = client.search_faces(CollectionId=collection, FaceId=first)  # default threshold 80
    assert answer["SearchedFaceId"] == first
    [match] = answer["FaceMatches"]  # never the face itself
    assert (match["Face"]["FaceId"], match["Face"]["UserId"]) == (second, "obama")
    assert match["Similarity"] > 99
    everyone = client.search_faces(CollectionId=collection, FaceId=first, FaceMatchThreshold=0)
    assert [m["Face"]["FaceId"] for m in everyone["FaceMatches"]] == [second, biden]
    one = client.search_faces(CollectionId=collection, FaceId=first, FaceMatchThreshold=0, MaxFaces=1)
    assert [m["Face"]["FaceId"] for m in one["FaceMatches"]] == [second]
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.search_faces(CollectionId=collection, FaceId="00000000-0000-0000-0000-000000000000")
    assert "SearchFaces" in checked


def test_list_faces_by_user_pages_and_filters(client: Any, collection: str, image_bytes: Images) -> None:
    ids = enroll(client, collection, image_bytes, "obama", "obama.jpg", "obama2.jpg", "obama3.jpg")
    index(client, collection, image_bytes, "biden.jpg")  # in the collection, nobody's
    listed: list[Any] = []
    token: dict[str, str] = {}
    while True:
        page = client.list_faces(CollectionId=collection, UserId="obama", MaxResults=2, **token)
        assert len(page["Faces"]) <= 2
        listed += page["Faces"]
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert [face["FaceId"] for face in listed] == ids and {face["UserId"] for face in listed} == {"obama"}
    assert len(client.list_faces(CollectionId=collection)["Faces"]) == 4
    assert [
        f["FaceId"] for f in client.list_faces(CollectionId=collection, FaceIds=ids[1:2])["Faces"]
    ] == ids[1:2]
    assert client.list_faces(CollectionId=collection, UserId="nobody")["Faces"] == []
    bad = error_of(client.list_faces, CollectionId=collection, NextToken="garbage!")
    assert bad[0] == "InvalidPaginationTokenException"


def test_faces_are_disassociated_then_deleted_and_users_deleted(
    client: Any, collection: str, image_bytes: Images
) -> None:
    [obama] = enroll(client, collection, image_bytes, "obama", "obama.jpg")
    [biden] = enroll(client, collection, image_bytes, "biden", "biden.jpg")
    missing = str(uuid.uuid4())
    refused = client.delete_faces(CollectionId=collection, FaceIds=[obama, missing])
    assert "DeletedFaces" not in refused  # nothing deleted (the model's list holds at least one)
    reasons = {f["FaceId"]: f["Reasons"] for f in refused["UnsuccessfulFaceDeletions"]}
    assert reasons == {obama: ["ASSOCIATED_TO_AN_EXISTING_USER"], missing: ["FACE_NOT_FOUND"]}
    answer = client.disassociate_faces(
        CollectionId=collection, UserId="obama", FaceIds=[obama, biden, missing]
    )
    assert answer["DisassociatedFaces"] == [{"FaceId": obama}] and answer["UserStatus"] == "CREATED"
    reasons = {f["FaceId"]: f["Reasons"] for f in answer["UnsuccessfulFaceDisassociations"]}
    assert reasons == {biden: ["ASSOCIATED_TO_A_DIFFERENT_USER"], missing: ["FACE_NOT_FOUND"]}
    again = client.disassociate_faces(CollectionId=collection, UserId="obama", FaceIds=[obama])
    assert (again["DisassociatedFaces"], again["UnsuccessfulFaceDisassociations"]) == ([], [])  # ignored
    assert client.delete_faces(CollectionId=collection, FaceIds=[obama])["DeletedFaces"] == [obama]
    client.delete_user(CollectionId=collection, UserId="biden")  # its face stays, nobody's
    [left] = client.list_faces(CollectionId=collection)["Faces"]
    assert left["FaceId"] == biden and "UserId" not in left
    assert (
        error_of(client.delete_user, CollectionId=collection, UserId="biden")[0]
        == "ResourceNotFoundException"
    )
    gone = error_of(client.disassociate_faces, CollectionId=collection, UserId="biden", FaceIds=[biden])
    assert gone[0] == "ResourceNotFoundException"


# -- the similarity scale --


def test_the_scale_reads_like_rekognitions_on_the_measured_distances() -> None:
    # SFace's unit embeddings: distance = √(2 − 2·cosine) (bench.models).
    same_person = [0.553, 0.690, 0.883]  # cosine 0.847, 0.761, 0.610: the closest, a middle and the farthest
    different = [1.120, 1.176, 1.300]  # cosine 0.373 (the closest stranger pair), 0.309, 0.155
    assert all(similarity_from_distance(d) > 99 for d in same_person)
    assert all(similarity_from_distance(d) < 2 for d in different)
    # facegate's Rekognition threshold 99 sits where the local engine's 80 does: cosine 0.50.
    assert 0.99 < next(d / 1000 for d in range(500, 1500) if similarity_from_distance(d / 1000) < 99) < 1.01
    assert similarity_from_distance(0.0) <= 100 and similarity_from_distance(100.0) == 0.0


# -- the wire, faults and the SDK's retries --


def raw_post(url: str, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(url + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_wire_answers_unknown_operations_and_bad_json_as_the_service_does(
    endpoint: RekognitionEndpoint,
) -> None:
    assert raw_post(endpoint.url, "RekognitionService.ListCollections", b"{}")[0] == 200
    status, body = raw_post(endpoint.url, "RekognitionService.DetectLabels", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = raw_post(endpoint.url, "RekognitionService.Frobnicate", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = raw_post(endpoint.url, None, b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = raw_post(endpoint.url, "RekognitionService.ListCollections", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException") and body["Message"]


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("InternalServerError", 500)])
def test_injected_faults_run_the_sdks_retry_loop(
    endpoint: RekognitionEndpoint, checked: Checked, code: str, status: int
) -> None:
    client = client_for(endpoint.url, checked)
    before = endpoint.count("ListCollections")
    endpoint.fail_next(2, code, status)
    answer = client.list_collections()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert endpoint.count("ListCollections") - before == 3  # standard mode: three attempts
    endpoint.fail_next(3, code, status)
    with pytest.raises(ClientError) as caught:
        client.list_collections()
    assert caught.value.response["Error"]["Code"] == code
    assert endpoint.count("ListCollections") - before == 6


def test_faults_can_target_one_operation_and_unretryable_ones_are_not_retried(
    endpoint: RekognitionEndpoint, client: Any
) -> None:
    endpoint.fail_next(1, "AccessDeniedException", 400, operation="DescribeCollection")
    client.list_collections()  # not the targeted operation: answered
    calls = len(endpoint.calls)
    assert error_of(client.describe_collection, CollectionId="any")[0] == "AccessDeniedException"
    assert endpoint.calls[calls:] == ["DescribeCollection"]  # one attempt, no retry
    assert error_of(client.describe_collection, CollectionId="any")[0] == "ResourceNotFoundException"


def test_concurrent_searches_are_served_one_at_a_time(
    endpoint: RekognitionEndpoint, client: Any, collection: str, image_bytes: Images
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    enroll(client, collection, image_bytes, "obama", "obama.jpg")
    image = {"Bytes": image_bytes("obama2.jpg")}

    def search(_: int) -> float:
        answer = client_for(endpoint.url, []).search_users_by_image(CollectionId=collection, Image=image)
        return float(answer["UserMatches"][0]["Similarity"])

    with ThreadPoolExecutor(4) as pool:
        similarities = list(pool.map(search, range(4)))
    assert len(set(similarities)) == 1 and similarities[0] > 99


# -- facegate's engine on the endpoint, and the endpoint for a developer --


def test_the_unmodified_engine_enrolls_searches_and_erases_on_the_endpoint(
    client: Any, collection: str, photo: Callable[[str], Any], checked: Checked
) -> None:
    from chalicelib.core.errors import EnrollmentError

    engine = RekognitionEngine(client, collection, Policy())
    engine.add_face("EMP001", photo("obama.jpg"))
    engine.add_face("EMP002", photo("biden.jpg"))
    with pytest.raises(EnrollmentError, match="LOW_MATCH_CONFIDENCE"):
        engine.add_face("EMP001", photo("biden.jpg"))
    with pytest.raises(EnrollmentError, match="6 faces"):
        engine.add_face("EMP003", photo("group.jpg"))
    result = engine.search(photo("obama3.jpg"))
    assert result.best is not None and result.best.employee_id == "EMP001" and result.best.similarity > 99
    assert engine.search(photo("coffee.png")).faces == []
    assert engine.shows_employee(photo("obama2.jpg"), "EMP001") and not engine.shows_employee(
        photo("group.jpg"), "EMP001"
    )
    engine.remove_faces("EMP001")
    assert engine.list_faces("EMP001") == []
    assert client.describe_collection(CollectionId=collection)["UserCount"] == 1
    assert {"IndexFaces", "AssociateFaces", "SearchUsersByImage", "DeleteUser"} <= set(checked)


def test_python_m_sandbox_rekognition_serves_in_the_foreground(checked: Checked) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox.rekognition", "--port", "0"],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), first
        assert client_for(url, checked).list_collections()["CollectionIds"] == []
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_failure_inside_the_service_is_an_internal_server_error_the_sdk_retries(checked: Checked) -> None:
    from sandbox.rekognition.service import RekognitionService

    class Broken(RekognitionService):
        def handle(self, operation: str, body: Any) -> dict[str, Any]:
            raise RuntimeError("a bug in the sandbox")

    with RekognitionEndpoint(service=Broken()) as broken:
        code, message = error_of(client_for(broken.url, checked).list_collections)
        assert (code, broken.calls) == ("InternalServerError", ["ListCollections"] * 3)
        assert "a bug in the sandbox" in message


def test_a_turned_face_is_unindexed_for_its_extreme_pose_with_its_real_pose(
    client: Any, collection: str, image_bytes: Images
) -> None:
    answer = index(client, collection, image_bytes, "camera.png")
    [unindexed] = answer["UnindexedFaces"]
    assert unindexed["Reasons"] == ["EXTREME_POSE"] and answer["FaceRecords"] == []
    pose = unindexed["FaceDetail"]["Pose"]
    assert abs(pose["Yaw"]) > 45 and set(pose) == {"Yaw", "Pitch", "Roll"}
    assert 60 <= unindexed["FaceDetail"]["Confidence"] < 100
    assert len(index(client, collection, image_bytes, "camera.png", QualityFilter="NONE")["FaceRecords"]) == 1


def test_a_face_the_detector_doubts_is_unindexed_for_low_confidence() -> None:
    from sandbox.rekognition.vision import SeenFace

    detail = {"Quality": {"Sharpness": 90.0, "Brightness": 50.0}, "Pose": {"Yaw": 3.0, "Pitch": 0.0}}
    doubted = SeenFace({**detail, "Confidence": 70.0}, chip=None, side=0.5)  # type: ignore[arg-type]
    assert doubted.problems("AUTO") == ["LOW_CONFIDENCE"] and doubted.problems("LOW") == []
    sure = SeenFace({**detail, "Confidence": 95.0}, chip=None, side=0.5)  # type: ignore[arg-type]
    assert sure.problems("HIGH") == []
