"""The duplicate-face guard through POST /employees/{id}/faces, and the gallery health job
(POST /gallery/health, GET /gallery/health[/{job_id}])."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib import wiring
from chalicelib.engines.local import LocalEngine
from chalicelib.scanning.imaging import normalise
from tests.api.conftest import Api

JOB = "0" * 32


def audit_entries(api: Api, action: str) -> list[dict[str, object]]:
    items = api.stack.session.client("dynamodb").scan(TableName=api.stack.settings.audit_table)["Items"]
    entries = [{k: TypeDeserializer().deserialize(v) for k, v in item.items()} for item in items]
    return [entry for entry in entries if entry["action"] == action]


def test_a_face_of_another_employee_is_409_naming_them_and_audited(api: Api, photos: Path) -> None:
    for employee_id, name in [("EMP001", "obama.jpg"), ("EMP002", "biden.jpg")]:
        api.create(employee_id)
        assert api.enroll(employee_id, photos / name).status == 201  # different people: enrolled
    api.create("EMP003")
    refused = api.enroll("EMP003", photos / "obama2.jpg")
    assert refused.status == 409
    assert set(refused.json) == {"message", "other_employee_id", "similarity"}
    assert refused.json["other_employee_id"] == "EMP001" and refused.json["similarity"] >= 75.0
    assert refused.json["message"].startswith(
        f"this face matches employee EMP001 (similarity {refused.json['similarity']:.1f}): "
    )
    assert api.call("GET", "/employees/EMP003/faces").json["items"] == []
    assert api.enroll("EMP001", photos / "obama3.jpg").status == 201  # more of the same person: fine
    [entry] = audit_entries(api, "face.refused")
    assert (entry["target"], entry["actor"]) == ("EMP003", "sandbox-admins")
    assert entry["details"] == {
        "reason": "duplicate_face",
        "other_employee_id": "EMP001",
        "similarity": f"{refused.json['similarity']:.2f}",
    }
    wiring.reset()


def health_job(api: Api) -> dict[str, Any]:
    """POST /gallery/health, the worker run to the end, then GET /gallery/health/{id}."""
    started = api.call("POST", "/gallery/health", {})
    assert (
        started.status == 202 and started.headers["Location"] == f"/gallery/health/{started.json['job_id']}"
    )
    assert all(event.error is None for event in api.stack.run_health_jobs())
    done = api.call("GET", f"/gallery/health/{started.json['job_id']}")
    assert done.status == 200 and done.json["status"] == "DONE", done.json
    assert api.call("GET", "/gallery/health").json == done.json  # the latest job
    report: dict[str, Any] = done.json["report"]
    return report


def test_gallery_health_is_an_admins_job_and_lists_what_confuses_the_door(api: Api, photos: Path) -> None:
    assert api.call("GET", "/gallery/health").status == 404  # no job yet
    for method, path in (
        ("POST", "/gallery/health"),
        ("GET", "/gallery/health"),
        ("GET", f"/gallery/health/{JOB}"),
    ):
        assert api.call(method, path, {} if method == "POST" else None, token="security").status == 403
        assert api.call(method, path, {} if method == "POST" else None, token=None).status == 401
    for unknown in (JOB, "x" * 40, "..%2F..", "A" * 32):
        assert api.call("GET", f"/gallery/health/{unknown}").status == 404
    assert api.call("POST", "/gallery/health", {"faces": 1}).status == 400
    # The jobs' audit target: an employee of that id could never be audited (IAM refuses it).
    assert api.create("gallery-health").status == 400
    empty = health_job(api)
    assert {name: empty[name] for name in ("employees", "faces", "close_pairs", "single_photo")} == {
        "employees": 0,
        "faces": 0,
        "close_pairs": [],
        "single_photo": [],
    }

    for employee_id, names in [("EMP001", ["obama.jpg", "obama3.jpg"]), ("EMP002", ["biden.jpg"])]:
        api.create(employee_id)
        for name in names:
            assert api.enroll(employee_id, photos / name).status == 201
    # A gallery from before the guard: EMP003 enrolled with EMP001's face, EMP002's on EMP001.
    engine = wiring.api_ports(api.stack.settings).enrollment.engine
    limits = api.stack.settings.limits
    api.create("EMP003")  # a report names only employees the directory has
    engine.add_face("EMP003", normalise((photos / "obama2.jpg").read_bytes(), limits))
    stray = engine.add_face("EMP001", normalise((photos / "biden.jpg").read_bytes(), limits))
    assert wiring.health_ports(api.stack.settings).engine is engine
    assert isinstance(engine, LocalEngine)
    engine.health_slice_cells = 1  # one face a slice: five slices

    started = api.call("POST", "/gallery/health", {})
    assert api.call("POST", "/gallery/health", {}).json["job_id"] == started.json["job_id"]  # one at a time
    api.stack.run_health_jobs()
    health = api.call("GET", f"/gallery/health/{started.json['job_id']}").json["report"]
    # The old whole-gallery pass, on the same photos: the job's slices add up to it.
    whole = engine.gallery_health(api.stack.settings.policy).to_dict()
    assert {name: value for name, value in health.items() if name in whole} == whole
    assert health["left_out"] == dict.fromkeys(
        ("close_pairs", "single_photo", "outlier_faces", "old_model_only"), 0
    )
    assert (health["employees"], health["faces"]) == (3, 5)
    assert [pair["employee_ids"] for pair in health["close_pairs"]] == [
        ["EMP001", "EMP002"],
        ["EMP001", "EMP003"],
    ]
    assert all(pair["similarity"] >= 75.0 for pair in health["close_pairs"])
    assert health["single_photo"] == ["EMP002", "EMP003"]
    assert [(f["employee_id"], f["face_id"]) for f in health["outlier_faces"]] == [("EMP001", stray.face_id)]
    assert health["outlier_faces"][0]["similarity"] < 80.0
    wiring.reset()


def test_retiring_the_old_model_is_for_admins_refused_while_anyone_waits_and_audited(
    api: Api, photos: Path
) -> None:
    from chalicelib.aws.faces import DynamoFaceStore
    from chalicelib.core.config import ImageLimits, Policy
    from chalicelib.engines.dlib_model import DlibModel
    from chalicelib.engines.local import LocalEngine

    api.create("EMP001")
    assert api.enroll("EMP001", photos / "obama.jpg").status == 201  # the current model
    assert api.call("POST", "/gallery/retire-old-model", {}).json == {"removed_faces": 0, "employees": 0}
    store = DynamoFaceStore(wiring.table(api.stack.settings.faces_table))
    api.create("EMP002")
    image = normalise((photos / "biden.jpg").read_bytes(), ImageLimits())
    LocalEngine(store, Policy(), model=DlibModel(), old=[]).add_face("EMP002", image)  # as dlib left it

    refused = api.call("POST", "/gallery/retire-old-model", {})
    assert refused.status == 409 and refused.json["message"].startswith(
        "1 employee(s) still have only faces of the old"
    )
    assert api.call("POST", "/gallery/retire-old-model", {}, token="security").status == 403
    for body in ({"force": True}, [1, 2, 3]):
        assert api.call("POST", "/gallery/retire-old-model", body).status == 400
    assert api.enroll("EMP002", photos / "biden.jpg").status == 201  # EMP002 moves to the new model
    retired = api.call("POST", "/gallery/retire-old-model", {})
    assert (retired.status, retired.json) == (200, {"removed_faces": 1, "employees": 1})
    assert len(api.call("GET", "/employees/EMP002/faces").json["items"]) == 1
    assert {face.model for face in store.load()} == {"sface-2021dec-int8bq"}
    entries = audit_entries(api, "gallery.retire_old_model")
    assert sorted((entry["actor"], entry["details"]["removed_faces"]) for entry in entries) == [  # type: ignore[index]
        ("sandbox-admins", 0),
        ("sandbox-admins", 1),
    ]
    wiring.reset()
