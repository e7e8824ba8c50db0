"""``facegate import`` against a real sandbox API over HTTP, on real photos (local engine)."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from facegate_cli.__main__ import parser
from facegate_cli.client import ApiClient
from facegate_cli.commands import importer as command
from facegate_cli.context import Context
from sandbox.stack import Stack
from tests.cli.conftest import ServedSandbox

# Every row consents on paper (the stages require consent before any face is stored).
HEADER = "employee_id,name,email,department,photos,consent_method,consent_reference\n"


class StackTokens:
    """A ``TokenSource`` from the sandbox's pool directly (the CLI's login is tested elsewhere)."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._token = stack.token("admins")

    def access_token(self) -> str:
        return self._token

    def refreshed(self) -> str:
        self._token = self._stack.token("admins")
        return self._token


class Killed(BaseException):
    """The process dying mid-run, as a signal would (not an ``Exception`` the run could catch)."""


class DyingClient(ApiClient):
    """Sends the ``fatal``-th enrollment for real, then dies before its answer is journaled."""

    def __init__(self, base: ApiClient, fatal: int) -> None:
        super().__init__(base.base_url, base._tokens)
        self.fatal, self.enrollments = fatal, 0

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = super().request(method, path, **kwargs)
        if method == "POST" and path.endswith("/faces"):
            self.enrollments += 1
            if self.enrollments == self.fatal:
                raise Killed
        return answer


class DroppingClient(ApiClient):
    """The first enrollment reaches the server, then its connection drops (a lost answer)."""

    def __init__(self, base: ApiClient) -> None:
        super().__init__(base.base_url, base._tokens)
        self.dropped = 0

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = super().request(method, path, **kwargs)
        if method == "POST" and path.endswith("/faces") and not self.dropped:
            self.dropped += 1
            raise ConnectionResetError("connection reset by peer")
        return answer


@pytest.fixture
def client(served_sandbox: ServedSandbox) -> ApiClient:
    return ApiClient(served_sandbox.url, StackTokens(served_sandbox.stack))


@pytest.fixture
def photo_dir(tmp_path: Path, photos: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "group.jpg", "coffee.png"):
        shutil.copy(photos / name, folder / name)
    return folder


RunImport = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_import(capsys: pytest.CaptureFixture[str]) -> RunImport:
    """``run_import(client, ROSTER, *options)``: ``facegate [--json] import ROSTER …`` in-process
    with ``client`` (the login is not this test's) → (code, stdout, stderr)."""

    def run(client: ApiClient, roster: Path, *options: str) -> tuple[int, str, str]:
        flags = [option for option in options if option == "--json"]
        rest = [option for option in options if option != "--json"]
        args = parser().parse_args([*flags, "import", str(roster), *rest])
        capsys.readouterr()
        code = command.run(args, Context(stage_name="sandbox", json=args.json, _client=client))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def faces_of(client: ApiClient, employee_id: str) -> int:
    return len(client.get(f"/employees/{employee_id}/faces")["items"])


def refused_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(newline="")))


def journal_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_roster_is_imported_and_every_refusal_is_listed_with_its_reason(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER
        + "e-obama,Barack Obama,barack@example.com,Office,obama.jpg,paper,HR-1\n"
        + "e-biden,Joe Biden,,Office,biden.jpg,paper,HR-1\n"
        + "e-group,The Group,,,group.jpg,paper,HR-1\n"
        + "e-camera,The Camera,,,coffee.png;missing.jpg,paper,HR-1\n"
        + "bad id!,Bad Id,,,biden.jpg,paper,HR-1\n"
        + "e-obama,Again Obama,,,obama2.jpg,paper,HR-1\n"
    )
    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--json")

    assert code == 1
    summary = json.loads(out)
    assert summary["employees created"] == 4
    assert summary["faces added"] == 2
    assert summary["failed transiently (rerun)"] == 0
    assert faces_of(client, "e-obama") == 1 and faces_of(client, "e-biden") == 1
    assert faces_of(client, "e-group") == 0 and faces_of(client, "e-camera") == 0
    refused = {
        (row["employee_id"], row["photo"]): row["reason"]
        for row in refused_rows(tmp_path / "roster.refused.csv")
    }
    assert set(refused) == {
        ("e-group", "group.jpg"),
        ("e-camera", "coffee.png"),
        ("e-camera", "missing.jpg"),
        ("bad id!", ""),
        ("e-obama", ""),
    }
    assert "faces in the photo" in refused[("e-group", "group.jpg")]
    assert refused[("e-camera", "coffee.png")] == "no face found in the photo"
    assert refused[("e-camera", "missing.jpg")] == "photo file not found"
    assert refused[("bad id!", "")].startswith("bad employee_id")
    assert refused[("e-obama", "")] == "duplicate employee_id: already on line 2"

    # A second full run changes nothing on the server and enrolls nothing again.
    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--json")
    again = json.loads(out)
    assert code == 1  # the same refusals, found again
    assert again["employees created"] == 0 and again["faces added"] == 0
    assert again["skipped as done"] == 4 + 2  # four employees, two enrolled photos
    assert faces_of(client, "e-obama") == 1 and faces_of(client, "e-biden") == 1
    assert client.get("/employees/e-obama")["name"] == "Barack Obama"


def test_an_interrupted_import_resumes_without_enrolling_anything_twice(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER
        + "e-obama,Barack Obama,,,obama.jpg;obama2.jpg,paper,HR-1\n"
        + "e-biden,Joe Biden,,,biden.jpg,paper,HR-1\n"
    )
    dying = DyingClient(client, fatal=2)  # obama2.jpg reaches the server, its answer never the journal
    with pytest.raises(Killed):
        run_import(dying, roster, "--photos", str(photo_dir), "--workers", "1")
    assert faces_of(client, "e-obama") == 2
    assert "e-biden" not in {e["employee_id"] for e in client.get("/employees")["items"]}

    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--json")

    assert code == 0, out
    summary = json.loads(out)
    assert summary["employees created"] == 1  # only e-biden
    assert summary["faces added"] == 2  # obama2 (found on the server, not sent again) and biden
    assert summary["skipped as done"] == 2  # e-obama and obama.jpg
    assert faces_of(client, "e-obama") == 2 and faces_of(client, "e-biden") == 1
    recovered = [e for e in journal_lines(tmp_path / "roster.journal.jsonl") if e.get("recovered")]
    assert [e["photo"] for e in recovered] == ["obama2.jpg"]

    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--json")
    assert code == 0 and json.loads(out)["skipped as done"] == 2 + 3
    assert faces_of(client, "e-obama") == 2 and faces_of(client, "e-biden") == 1


def test_a_lost_answer_is_not_enrolled_again_by_the_retry(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "e-biden,Joe Biden,,,biden.jpg,paper,HR-1\n")
    dropping = DroppingClient(client)

    code, out, _ = run_import(dropping, roster, "--photos", str(photo_dir), "--json")

    assert code == 0, out
    assert dropping.dropped == 1
    assert faces_of(client, "e-biden") == 1


def test_a_roster_without_a_column_is_refused_whole(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("employee_id,name,photos\ne1,One,obama.jpg,paper,HR-1\n")
    code, _, err = run_import(client, roster, "--photos", str(photo_dir))
    assert code == 2
    assert "no column email, department" in err


def test_a_dry_run_sends_nothing(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "e-biden,Joe Biden,,,biden.jpg,paper,HR-1\n")
    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--dry-run")
    assert code == 0, out
    assert "employees to create" in out
    assert client.get("/employees")["items"] == []
    assert not (tmp_path / "roster.journal.jsonl").exists()


def test_the_same_face_under_a_second_id_is_refused_through_the_logged_in_cli(
    logged_in: ServedSandbox, run_cli: Any, photo_dir: Path, tmp_path: Path
) -> None:
    # The whole path an admin takes: `facegate login`, then `facegate import`; obama2.jpg is
    # the man of obama.jpg, so enrolling him again as EMP009 is refused naming EMP001.
    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER + "EMP001,Avery Stone,,,obama.jpg,paper,HR-1\nEMP002,Jordan Lee,,,biden.jpg,paper,HR-1\n"
    )
    assert run_cli("import", str(roster), "--photos", str(photo_dir), "--workers", "1")[0] == 0
    again = tmp_path / "again.csv"
    again.write_text(HEADER + "EMP009,Avery Again,,,obama2.jpg,paper,HR-1\n")
    code, out, _ = run_cli("import", str(again), "--photos", str(photo_dir))
    assert code == 1
    assert "refused: this face matches employee N" in out
    [refusal] = list(csv.DictReader((tmp_path / "again.refused.csv").open()))
    assert (refusal["employee_id"], refusal["photo"]) == ("EMP009", "obama2.jpg")
    assert "matches employee EMP001" in refusal["reason"]
    code, out, _ = run_cli("--json", "faces", "list", "EMP009")
    assert (code, json.loads(out)) == (0, [])


def test_one_face_under_two_ids_in_one_parallel_import_is_never_enrolled_twice(
    logged_in: ServedSandbox, run_cli: Any, photo_dir: Path, tmp_path: Path
) -> None:
    # Both rows are sent at once: the guard's re-check after writing keeps at most one.
    roster = tmp_path / "twins.csv"
    roster.write_text(
        HEADER + "EMP001,Avery Stone,,,obama.jpg,paper,HR-1\nEMP009,Avery Again,,,obama2.jpg,paper,HR-1\n"
    )
    code, _, _ = run_cli("import", str(roster), "--photos", str(photo_dir), "--workers", "2")
    assert code == 1  # at least one of them refused
    counts = [len(json.loads(run_cli("--json", "faces", "list", e)[1])) for e in ("EMP001", "EMP009")]
    assert sum(counts) <= 1, counts


def test_the_same_roster_imported_again_moves_old_model_faces_to_the_new_model(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path, served_sandbox: ServedSandbox
) -> None:
    """A site upgrading from dlib: its journal says the photos are done, but the faces are
    the old model's. Imported again, each such employee's photos are enrolled again with the
    current model, even across a run that dies midway."""
    from chalicelib import wiring
    from chalicelib.aws.faces import DynamoFaceStore
    from chalicelib.core.config import ImageLimits, Policy
    from chalicelib.engines.dlib_model import DlibModel
    from chalicelib.engines.local import LocalEngine
    from chalicelib.scanning.imaging import normalise

    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER
        + "e-upgrade,Barack Obama,,,obama.jpg;obama2.jpg,paper,HR-1\n"
        + "e-current,Joe Biden,,,biden.jpg,paper,HR-1\n"
    )
    assert run_import(client, roster, "--photos", str(photo_dir))[0] == 0
    # As the dlib engine left it: e-upgrade's two faces replaced by the old model's.
    store = DynamoFaceStore(wiring.table(served_sandbox.stack.settings.faces_table))
    store.delete("e-upgrade")
    old_engine = LocalEngine(store, Policy(), model=DlibModel(), old=[])
    for name in ("obama.jpg", "obama2.jpg"):
        old_engine.add_face("e-upgrade", normalise((photo_dir / name).read_bytes(), ImageLimits()))
    assert old_model_only(client) == ["e-upgrade"]

    dying = DyingClient(client, fatal=1)  # the first photo enrolled again, then the run dies
    with pytest.raises(Killed):
        run_import(dying, roster, "--photos", str(photo_dir), "--workers", "1")
    assert old_model_only(client) == []  # e-upgrade has one new face
    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--json")

    assert code == 0, out
    # The dying run's photo (found on the server, not sent again) and the other one, although
    # the gallery lists nobody as waiting any more: the journal's reenroll line remembers.
    assert json.loads(out)["faces added"] == 2
    assert faces_of(client, "e-upgrade") == 2 + 2 and faces_of(client, "e-current") == 1
    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--json")
    assert code == 0 and json.loads(out).get("faces added", 0) == 0  # done: nothing again


def test_an_import_that_cannot_read_the_gallerys_health_stops_and_says_why(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path
) -> None:
    from facegate_cli.client import ApiError

    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "e-biden,Joe Biden,,,biden.jpg,paper,HR-1\n")
    assert run_import(client, roster, "--photos", str(photo_dir))[0] == 0

    class Unhealthy(ApiClient):
        def request(self, method: str, path: str, **kwargs: Any) -> Any:
            if path == "/gallery/health":
                raise ApiError(504, "endpoint request timed out", {})
            return super().request(method, path, **kwargs)

    code, out, err = run_import(
        Unhealthy(client.base_url, client._tokens), roster, "--photos", str(photo_dir)
    )
    assert code == 2 and out == ""
    assert "the gallery's health could not be read (504: endpoint request timed out)" in err


def old_model_only(client: ApiClient) -> list[str]:
    """The gallery health job's old_model_only, the job run by the served sandbox's worker."""
    import time

    job = client.post("/gallery/health", {})
    deadline = time.monotonic() + 60
    while job["status"] not in ("DONE", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"/gallery/health/{job['job_id']}")
    assert job["status"] == "DONE", job
    return list(job["report"]["old_model_only"])


def test_an_employee_under_erasure_is_refused_not_counted_as_existing(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path
) -> None:
    """Issue 28: the id is the erasure's tombstone until DONE; the import says so and adds no photo."""
    client.post("/employees", {"employee_id": "e-leaver", "name": "Lee Ver"})
    job = client.delete("/employees/e-leaver")  # 202: the job is queued, not run
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "e-leaver,Lee Ver,,,obama.jpg\n")
    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--json")
    assert code == 1 and json.loads(out)["employees created"] == 0
    [row] = refused_rows(tmp_path / "roster.refused.csv")
    assert (row["employee_id"], row["photo"]) == ("e-leaver", "")
    assert f"is being erased (job {job['job_id']})" in row["reason"]


def test_a_row_without_consent_has_its_photos_refused_and_a_row_with_it_records_it(
    run_import: RunImport, client: ApiClient, photo_dir: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER + "e-none,No Consent,,,obama.jpg,,\n" + "e-form,Signed,,,biden.jpg,e-signature,sig-9\n"
    )

    code, out, _ = run_import(client, roster, "--photos", str(photo_dir), "--json")

    assert code == 1 and json.loads(out)["faces added"] == 1
    [refusal] = refused_rows(tmp_path / "roster.refused.csv")
    assert (refusal["employee_id"], refusal["photo"]) == ("e-none", "obama.jpg")
    assert refusal["reason"].startswith("employee e-none has no consent to biometric notice")
    [record] = client.get("/employees/e-form/consent")["history"]
    assert (record["method"], record["reference"]) == ("e-signature", "sig-9")
    assert faces_of(client, "e-none") == 0 and faces_of(client, "e-form") == 1
