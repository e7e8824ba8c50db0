"""The CLI's verbs on the sandbox API over HTTP, with real photos through the real model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.reporting.reports import latest_due_day
from facegate_cli.client import ApiClient
from facegate_cli.stages import resolve
from facegate_cli.tokens import StoredTokens
from tests.cli.conftest import RunCli, ServedSandbox


def _json(run: tuple[int, str, str]) -> Any:
    code, out, err = run
    assert code == 0, err
    return json.loads(out)


def test_employees_and_faces_from_add_to_erase(
    logged_in: ServedSandbox, run_cli: RunCli, photos: Path
) -> None:
    code, out, err = run_cli(
        "employees", "add", "EMP001", "--name", "Barack Obama", "--email", "b@example.com"
    )
    assert code == 0, err
    assert out.split("\n")[1].split() == ["EMP001", "Barack", "Obama", "b@example.com", "-", "yes", "-"]
    assert _json(run_cli("--json", "employees", "update", "EMP001", "--department", "Ops")) == {
        "employee_id": "EMP001",
        "name": "Barack Obama",
        "email": "b@example.com",
        "department": "Ops",
        "active": True,
        "groups": [],
        "inactive_since": None,
        "enrolled_at": None,
        "last_seen": None,
    }
    code, out, err = run_cli("faces", "add", "EMP001", str(photos / "obama.jpg"), str(photos / "obama2.jpg"))
    assert code == 0, err
    assert out.count("EMP001") == 2
    faces = _json(run_cli("faces", "list", "EMP001", "--json"))
    assert isinstance(faces, list) and len(faces) == 2

    recognized = _json(run_cli("--json", "recognize", str(photos / "obama3.jpg")))
    assert isinstance(recognized, dict)
    assert (recognized["status"], recognized["employee_id"]) == ("AUTHORIZED", "EMP001")
    code, out, _ = run_cli("recognize", str(photos / "obama3.jpg"))
    assert out.split("\n")[1].split()[:2] == ["AUTHORIZED", "EMP001"]

    suspended = _json(run_cli("--json", "employees", "suspend", "EMP001"))
    assert isinstance(suspended, dict) and suspended["active"] is False
    assert suspended["inactive_since"] is not None  # the retention clock of the inactive runs
    resumed = {**suspended, "active": True, "inactive_since": None}
    assert _json(run_cli("--json", "employees", "resume", "EMP001")) == resumed

    code, out, err = run_cli("faces", "remove", "EMP001", faces[0]["face_id"])
    assert (code, out) == (0, f"removed face {faces[0]['face_id']} of EMP001\n"), err
    assert len(_json(run_cli("--json", "faces", "list", "EMP001"))) == 1

    code, out, err = run_cli("employees", "erase", "EMP001")  # stdin is no terminal: no confirmation
    assert code == 2 and "--yes" in err
    stop = threading.Event()  # the erasure worker runs meanwhile, as under `sandbox up`
    worker = threading.Thread(target=logged_in.stack.pump_until, args=(stop,), daemon=True)
    worker.start()
    try:
        job = _json(run_cli("--json", "employees", "erase", "EMP001", "--yes", "--wait", "--timeout", "120"))
    finally:
        stop.set()
        worker.join(timeout=30)
    assert isinstance(job, dict) and (job["status"], job["result"]["faces_removed"]) == ("DONE", 1)
    code, out, err = run_cli("employees", "show", "EMP001")
    assert (code, out) == (1, "")
    assert err.startswith("facegate: the API answered 404: ")


def test_a_refused_photo_is_reported_and_the_others_still_enrolled(
    logged_in: ServedSandbox, run_cli: RunCli, photos: Path
) -> None:
    assert run_cli("employees", "add", "EMP002", "--name", "Joe Biden")[0] == 0
    code, out, err = run_cli("faces", "add", "EMP002", str(photos / "group.jpg"), str(photos / "biden.jpg"))
    assert code == 1
    assert f"{photos / 'group.jpg'}: the API answered 422: " in err
    assert out.count("EMP002") == 1
    code, out, err = run_cli("faces", "add", "EMP002", str(photos / "biden.jpg"), "no-such.jpg")
    assert (code, out) == (2, "") and "cannot read no-such.jpg" in err
    assert len(_json(run_cli("--json", "faces", "list", "EMP002"))) == 1


def test_usage_errors_exit_2(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    assert run_cli("employees", "update", "EMP001")[0] == 2  # nothing to change
    assert run_cli("scans", "list", "--day", "yesterday")[0] == 2
    assert run_cli("scans", "list", "--limit", "0")[0] == 2
    assert run_cli("employees", "add", "BAD ID", "--name", "x")[0] == 1  # the API's 400


def test_employees_list_follows_every_page(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    client = ApiClient(logged_in.url, StoredTokens(resolve("sandbox")))
    for number in range(105):
        client.post("/employees", {"employee_id": f"E{number:03d}", "name": f"Person {number}"})
    listed = _json(run_cli("--json", "employees", "list"))
    assert isinstance(listed, list)
    assert sorted(row["employee_id"] for row in listed) == [f"E{n:03d}" for n in range(105)]
    _code, out, _ = run_cli("employees", "list")
    assert len(out.strip().split("\n")) == 106  # the header and every employee


def test_scans_and_the_daily_report(logged_in: ServedSandbox, run_cli: RunCli, photos: Path) -> None:
    stack = logged_in.stack
    assert run_cli("employees", "add", "EMP001", "--name", "Barack Obama")[0] == 0
    assert run_cli("faces", "add", "EMP001", str(photos / "obama.jpg"))[0] == 0
    stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
    stack.upload("back-door", "b.png", (photos / "astronaut.png").read_bytes())
    stack.pump(expected=2)
    today = datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()

    scans = _json(run_cli("--json", "scans", "list"))
    assert isinstance(scans, list)
    assert sorted((s["camera_id"], s["status"]) for s in scans) == [
        ("back-door", "UNKNOWN"),
        ("front-door", "AUTHORIZED"),
    ]
    only = _json(run_cli("--json", "scans", "list", "--day", today, "--camera", "back-door"))
    assert [s["status"] for s in only] == ["UNKNOWN"]
    assert _json(run_cli("--json", "scans", "list", "--status", "AUTHORIZED", "--limit", "1")) == [
        s for s in scans if s["status"] == "AUTHORIZED"
    ]
    mine = _json(run_cli("--json", "scans", "list", "--employee", "EMP001", "--day", today))
    assert [s["camera_id"] for s in mine] == ["front-door"]
    assert _json(run_cli("--json", "scans", "list", "--employee", "EMP001", "--status", "UNKNOWN")) == []
    assert _json(run_cli("--json", "scans", "list", "--employee", "EMP001", "--day", "2020-01-01")) == []
    code, out, _ = run_cli("scans", "show", mine[0]["scan_id"])
    assert code == 0 and "status" in out and "AUTHORIZED" in out

    # The latest day due: today from the report hour on, else yesterday (whose report has no scans).
    due = latest_due_day(datetime.now(UTC), stack.settings)
    if due != today:
        code, out, err = run_cli("report", "send", "--day", today)
        assert code == 1 and "not due yet" in out + err
    code, out, err = run_cli("report", "send")
    assert code == 0, err
    assert out.split("\n")[1].split()[:4] == [due, "yes", "sent", "2" if due == today else "0"]
    code, out, err = run_cli("--json", "report", "send", "--day", due)
    assert code == 1  # not sent: the ledger has the day already
    outcome = json.loads(out)
    assert (outcome["sent"], outcome["reason"]) == (False, "already sent")


HEALTH = {
    "employees": 3,
    "faces": 4,
    "threshold": 0.6,
    "margin": 0.05,
    "close_pairs": [{"employee_ids": ["EMP001", "EMP002"], "similarity": 0.58}],
    "single_photo": ["EMP003"],
    "outlier_faces": [{"employee_id": "EMP002", "face_id": "f-1", "similarity": 0.31}],
    "old_model_only": ["EMP003"],
}


JOB_ID = "a" * 32


@pytest.fixture
def health_api(logged_in: ServedSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A stand-in for the gallery health job with every section filled: it is queued when
    started, running at the first look, done at the second; the requests seen."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(f"POST {self.path}")
            self._answer({"job_id": JOB_ID, "status": "QUEUED", "progress": {"faces_total": None}})

        def do_GET(self) -> None:
            seen.append(f"GET {self.path}")
            looks = sum(1 for request in seen if request.startswith("GET"))
            progress = {"faces_total": 4, "faces_done": 2 * looks}
            done = {"status": "DONE", "report": HEALTH} if looks > 1 else {"status": "RUNNING"}
            self._answer({"job_id": JOB_ID, "progress": progress, **done})

        def _answer(self, answer: dict[str, object]) -> None:
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("FACEGATE_API_URL", url)
    # As if the admin had logged in to this API: tokens go only to the API they were issued for.
    stored = json.loads(logged_in.token_file.read_text())
    logged_in.token_file.write_text(json.dumps({**stored, "api_url": url}))
    yield seen
    server.shutdown()
    server.server_close()


def test_gallery_health_starts_the_job_waits_for_it_and_prints_each_section(
    health_api: list[str], run_cli: RunCli
) -> None:
    code, out, err = run_cli("gallery", "health")
    assert code == 0 and "gallery health: 2/4 faces" in err
    assert health_api == [
        "POST /gallery/health",
        f"GET /gallery/health/{JOB_ID}",
        f"GET /gallery/health/{JOB_ID}",
    ]
    lines = out.split("\n")
    assert lines[1].split() == ["3", "4", "0.600", "0.050"]
    assert "close pairs (may be taken for each other): 1\n" in out
    assert out.split("close pairs")[1].split("\n")[2].split() == ["EMP001", "EMP002", "0.580"]
    assert "one photo only (enroll another): 1\nEMPLOYEE_ID\nEMP003" in out
    assert "outlier faces (unlike the employee's others): 1" in out
    assert out.split("outlier faces")[1].split("\n")[2].split() == ["EMP002", "f-1", "0.310"]
    waiting = "old model only (matched by dlib until enrolled again: facegate import of the same roster)"
    assert out.rstrip().endswith(f"{waiting}: 1\nEMPLOYEE_ID\nEMP003")
    health_api.clear()
    assert _json(run_cli("--json", "gallery", "health")) == HEALTH


def test_gallery_health_gives_up_waiting_but_leaves_the_job_running(
    health_api: list[str], run_cli: RunCli
) -> None:
    code, out, err = run_cli("gallery", "health", "--timeout", "0")
    assert (code, out) == (1, "") and f"still running (/gallery/health/{JOB_ID})" in err


def test_ctrl_c_stops_the_wait_not_the_job(
    health_api: list[str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", interrupted)
    code, out, err = run_cli("gallery", "health")
    assert (code, out) == (130, "") and f"goes on (/gallery/health/{JOB_ID})" in err


def test_gallery_migration_lists_who_waits_and_says_when_no_one_does(
    health_api: list[str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli("gallery", "migration")
    assert code == 1 and out.rstrip().endswith("EMPLOYEE_ID\nEMP003")
    code, out, _ = run_cli("--json", "gallery", "migration")
    assert (code, json.loads(out)) == (1, {"employees": 3, "old_model_only": ["EMP003"]})
    monkeypatch.setitem(HEALTH, "old_model_only", [])
    code, out, _ = run_cli("gallery", "migration")
    assert (code, out) == (0, "all 3 enrolled employees have a face of the current model\n")


def test_gallery_health_from_the_real_route_names_the_single_photo_employee(
    logged_in: ServedSandbox, run_cli: RunCli, photos: Path
) -> None:
    for employee_id, name in (("EMP001", "Avery Stone"), ("EMP002", "Jordan Lee")):
        assert run_cli("employees", "add", employee_id, "--name", name)[0] == 0
    assert run_cli("faces", "add", "EMP001", str(photos / "obama.jpg"), str(photos / "obama3.jpg"))[0] == 0
    assert run_cli("faces", "add", "EMP002", str(photos / "biden.jpg"))[0] == 0
    report = _json(run_cli("--json", "gallery", "health"))
    assert (report["employees"], report["faces"]) == (2, 3)
    assert (report["close_pairs"], report["single_photo"], report["outlier_faces"]) == ([], ["EMP002"], [])
    code, out, _ = run_cli("gallery", "health")
    assert code == 0 and "one photo only (enroll another): 1\nEMPLOYEE_ID\nEMP002" in out


def test_an_error_message_never_shows_the_token(logged_in: ServedSandbox) -> None:
    """Chalice's local gateway echoes the Authorization header for a route it does not know."""
    from facegate_cli.client import ApiError

    tokens = StoredTokens(resolve("sandbox"))
    with pytest.raises(ApiError) as refused:
        ApiClient(logged_in.url, tokens).get("/no-such-route")
    token = tokens.access_token()
    assert token in json.dumps(refused.value.body)  # the echo this guards against
    assert token not in refused.value.message and "<token>" in refused.value.message


def test_scim_token_is_shown_once_and_opens_only_scim(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    import urllib.error
    import urllib.request

    import boto3

    code, out, err = run_cli("scim", "token", "--json")
    assert code == 0, err
    issued = json.loads(out)
    assert issued["scim_url"] == f"{logged_in.url.rstrip('/')}/scim/v2" and "once" in err
    try:
        request = urllib.request.Request(
            f"{issued['scim_url']}/Users", headers={"Authorization": f"Bearer {issued['token']}"}
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 200 and json.loads(reply.read())["totalResults"] == 0
        elsewhere = urllib.request.Request(
            f"{logged_in.url.rstrip('/')}/employees", headers={"Authorization": f"Bearer {issued['token']}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(elsewhere, timeout=30)
        assert refused.value.code == 401
    finally:
        boto3.client("ssm").delete_parameter(Name=logged_in.stack.settings.scim_token_parameter)
