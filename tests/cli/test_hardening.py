"""The CLI's guards from the hostile review: redirects, plain HTTP, resumes, journals of another
stage, spreadsheet formulas, links out of the photos folder, clear exits, quoted paths, the
token file. Pure or against tiny local servers: no sandbox."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from facegate_cli import journal
from facegate_cli.client import ApiClient, ApiError
from facegate_cli.commands import importer as command
from facegate_cli.context import Context
from facegate_cli.importer import Importer
from facegate_cli.roster import RosterError, parse, stays_inside
from facegate_cli.stages import Stage, StageNotFound, resolve

HEADER = "employee_id,name,email,department,photos\n"
STAGE = Stage("sandbox", "http://127.0.0.1:9", "us-east-1", "us-east-1_pool", "client")


class Tokens:
    def access_token(self) -> str:
        return "eyJhbGciOi.eyJzdWIiOi.SECRET"

    def refreshed(self) -> str:
        return self.access_token()


@pytest.fixture
def redirecting() -> Iterator[tuple[str, dict[str, Any]]]:
    """An API that answers 302 to another server, which records what it received."""
    seen: dict[str, Any] = {}

    class Other(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["authorization"] = self.headers.get("Authorization")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"items": []}')

        def log_message(self, *args: Any) -> None:
            pass

    other = http.server.HTTPServer(("127.0.0.1", 0), Other)

    class Api(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_port}/steal")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    api = http.server.HTTPServer(("127.0.0.1", 0), Api)
    for server in (other, api):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{api.server_port}", seen
    finally:
        for server in (other, api):
            server.shutdown()
            server.server_close()


def test_a_redirect_is_refused_and_the_token_goes_nowhere(redirecting: tuple[str, dict[str, Any]]) -> None:
    url, seen = redirecting
    with pytest.raises(ApiError, match="redirect") as error:
        ApiClient(url, Tokens()).get("/employees")
    assert error.value.status == 302
    assert seen == {}


def test_a_deployed_stage_over_plain_http_is_refused(tmp_path: Path) -> None:
    environ = {
        "FACEGATE_API_URL": "http://api.example.com",
        "FACEGATE_USER_POOL_ID": "us-east-1_x",
        "FACEGATE_USER_POOL_CLIENT_ID": "c",
    }
    with pytest.raises(StageNotFound, match="https"):
        resolve("prod", environ, project=tmp_path)
    assert resolve("prod", {**environ, "FACEGATE_API_URL": "https://api.example.com"}, project=tmp_path)
    for loopback in ("http://127.0.0.1:8000", "http://localhost:8000/api", "http://[::1]:8000"):
        assert (
            resolve("prod", {**environ, "FACEGATE_API_URL": loopback}, project=tmp_path).api_url == loopback
        )


def test_the_cli_exits_2_on_a_plain_http_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from facegate_cli.__main__ import main

    monkeypatch.setenv("FACEGATE_API_URL", "http://example.com")
    monkeypatch.setenv("FACEGATE_USER_POOL_ID", "us-east-1_x")
    monkeypatch.setenv("FACEGATE_USER_POOL_CLIENT_ID", "c")
    monkeypatch.setenv("FACEGATE_TOKEN_FILE", str(tmp_path / "tokens.json"))
    assert main(["--stage", "prod", "employees", "list"]) == 2
    assert "https" in capsys.readouterr().err


class FakeApi:
    """One employee's faces, in memory; ``request`` as ``ApiClient.request``."""

    def __init__(self, faces: list[str], fail_posts: int = 0) -> None:
        self.faces = list(faces)
        self.paths: list[str] = []
        self.posted = 0
        self.fail_posts = fail_posts

    def request(self, method: str, path: str, *, params: Any = None, body: Any = None) -> Any:
        self.paths.append(path)
        if method == "POST" and path == "/employees":
            raise ApiError(409, "exists")
        if method == "GET" and path.endswith("/faces"):
            return {"items": [{"face_id": face} for face in self.faces]}
        if method == "POST" and path.endswith("/faces"):
            if self.fail_posts:  # never reached the server
                self.fail_posts -= 1
                raise ConnectionRefusedError("connection refused")
            self.posted += 1
            self.faces.append(f"F-new-{self.posted}")
            return {"face_id": self.faces[-1]}
        raise AssertionError((method, path))


def photos_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"photo-a")
    return folder


def run_importer(api: FakeApi, folder: Path, path: Path, employee_id: str = "EMP1") -> Any:
    plan = parse(HEADER + f"{employee_id},Avery,,,a.jpg\n", lambda name: (folder / name).is_file())
    client = cast(ApiClient, api)
    importer = Importer(
        client, folder, journal.Journal(path), journal.read(path), workers=1, sleep=lambda _: None
    )
    return importer.run(plan)


def test_a_started_photo_never_sent_is_not_matched_to_a_face_that_was_there_before(tmp_path: Path) -> None:
    folder = photos_folder(tmp_path)
    sha = hashlib.sha256(b"photo-a").hexdigest()
    path = tmp_path / "r.journal.jsonl"
    j = journal.Journal(path)
    j.append(step="employee", employee_id="EMP1", outcome="exists")
    # The run died after "started", before its request left: the server has only the old face.
    j.append(step="photo", employee_id="EMP1", photo="a.jpg", sha256=sha, outcome="started", before=["F0"])
    api = FakeApi(["F0"])
    outcome = run_importer(api, folder, path)
    assert api.posted == 1, "a.jpg was taken for the face enrolled before it"
    assert outcome.faces == 1 and api.faces == ["F0", "F-new-1"]


def test_a_started_photo_that_did_land_is_recovered_not_sent_again(tmp_path: Path) -> None:
    folder = photos_folder(tmp_path)
    sha = hashlib.sha256(b"photo-a").hexdigest()
    path = tmp_path / "r.journal.jsonl"
    j = journal.Journal(path)
    j.append(step="employee", employee_id="EMP1", outcome="exists")
    j.append(step="photo", employee_id="EMP1", photo="a.jpg", sha256=sha, outcome="started", before=["F0"])
    api = FakeApi(["F0", "F-landed"])
    run_importer(api, folder, path)
    assert api.posted == 0
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["face_id"] == "F-landed" and last["recovered"] is True


def test_the_retry_does_not_take_a_face_enrolled_meanwhile_elsewhere_as_its_own(tmp_path: Path) -> None:
    folder = photos_folder(tmp_path)
    (folder / "b.jpg").write_bytes(b"photo-b")

    class Meanwhile(FakeApi):
        """Someone else enrolls a face for the employee while a.jpg goes in; b.jpg's first try
        never reaches the server."""

        def request(self, method: str, path: str, **kwargs: Any) -> Any:
            answer = super().request(method, path, **kwargs)
            if method == "POST" and path.endswith("/faces") and self.posted == 1 and not self.fail_posts:
                self.faces.append("F-elsewhere")
                self.fail_posts = 1
            return answer

    api = Meanwhile(["F0"])
    plan = parse(HEADER + "EMP1,Avery,,,a.jpg;b.jpg\n", lambda name: (folder / name).is_file())
    path = tmp_path / "r.journal.jsonl"
    client = cast(ApiClient, api)
    importer = Importer(
        client, folder, journal.Journal(path), journal.read(path), workers=1, sleep=lambda _: None
    )
    outcome = importer.run(plan)
    assert api.posted == 2, "the retry took the face enrolled elsewhere as b.jpg's"
    assert outcome.faces == 2


def test_request_paths_quote_the_employee_id(tmp_path: Path) -> None:
    api = FakeApi([])
    run_importer(api, photos_folder(tmp_path), tmp_path / "r.journal.jsonl", employee_id="E:1")
    assert "/employees/E%3A1/faces" in api.paths
    assert not any("E:1" in path for path in api.paths)


def import_args(tmp_path: Path, *extra: str) -> Any:
    from facegate_cli.__main__ import parser

    folder = tmp_path / "photos"
    folder.mkdir(exist_ok=True)
    roster = tmp_path / "roster.csv"
    if not roster.exists():
        roster.write_text(HEADER + "E1,One,,,\n")
    return parser().parse_args(["import", str(roster), "--photos", str(folder), *extra])


def test_a_journal_of_another_stage_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = Context(stage_name="sandbox", _stage=STAGE, _client=FakeApi([]))  # type: ignore[arg-type]
    assert command.run(import_args(tmp_path), sandbox) == 0
    first = json.loads((tmp_path / "roster.journal.jsonl").read_text().splitlines()[0])
    assert (first["stage"], first["api_url"], first["user_pool_id"]) == (
        "sandbox",
        STAGE.api_url,
        "us-east-1_pool",
    )

    prod_stage = Stage("prod", "https://api.example.com", "us-east-1", "us-east-1_prod", "c2")
    prod_api = FakeApi([])
    prod = Context(stage_name="prod", _stage=prod_stage, _client=prod_api)  # type: ignore[arg-type]
    capsys.readouterr()
    assert command.run(import_args(tmp_path), prod) == 2
    err = capsys.readouterr().err
    assert "sandbox" in err and "--journal" in err
    assert prod_api.paths == []
    assert command.run(import_args(tmp_path, "--dry-run"), prod) == 2
    assert command.run(import_args(tmp_path, "--journal", str(tmp_path / "prod.jsonl")), prod) == 0
    assert prod_api.paths == ["/employees"]


def test_refused_cells_never_start_a_formula(tmp_path: Path) -> None:
    from chalicelib.reporting.report_email import _cell
    from facegate_cli.commands.importer import spreadsheet_safe

    printable = ["=1+2|calc.jpg", "+1", "-E1", "@SUM(A1)", "plain.jpg", "", "a=b", "'quoted", " =x"]
    assert [spreadsheet_safe(text) for text in printable] == [_cell(text) for text in printable]
    for control in ("\tx", "\rx"):  # the e-mail also shows control characters as escapes
        assert spreadsheet_safe(control).startswith("'") and _cell(control).startswith("'")
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "E1,One,,,=1+2|calc.jpg;@evil.jpg\n")
    context = Context(stage_name="sandbox", _stage=STAGE, _client=FakeApi([]))  # type: ignore[arg-type]
    command.run(import_args(tmp_path), context)
    cells = (tmp_path / "roster.refused.csv").read_text().splitlines()[1:]
    assert cells == ["2,E1,'=1+2|calc.jpg,photo file not found", "2,E1,'@evil.jpg,photo file not found"]


def test_a_link_out_of_the_photos_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("secret")
    (folder / "sub" / "in.jpg").write_bytes(b"x")
    (folder / "out.jpg").symlink_to(tmp_path / "secret.txt")
    (folder / "inside.jpg").symlink_to(folder / "sub" / "in.jpg")
    (folder / "link").symlink_to(tmp_path)
    text = HEADER + "E1,One,,,out.jpg;inside.jpg;sub/in.jpg;link/secret.txt\n"
    plan = parse(text, lambda name: (folder / name).is_file(), inside=stays_inside(folder))
    assert [(r.photo, r.reason) for r in plan.refused] == [
        ("out.jpg", "photo path leaves the photos folder"),
        ("link/secret.txt", "photo path leaves the photos folder"),
    ]
    assert plan.people[0].photos == ("inside.jpg", "sub/in.jpg")


def test_a_huge_csv_field_is_a_roster_error() -> None:
    with pytest.raises(RosterError, match="line 2"):
        parse(HEADER + "E1,One,,," + "x" * 200_000 + "\n", lambda _: True)


def test_an_unreachable_user_pool_during_a_refresh_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from facegate_cli.__main__ import main
    from facegate_cli.tokens import write_private

    state = tmp_path / "sandbox.json"
    state.write_text(
        json.dumps(
            {
                "api_url": "http://127.0.0.1:9",
                "user_pool_id": "us-east-1_x",
                "user_pool_client_id": "c",
                "aws_endpoint": "http://127.0.0.1:9",  # nothing listens on port 9
            }
        )
    )
    tokens = tmp_path / "config" / "tokens.json"
    stored = {
        "api_url": "http://127.0.0.1:9",
        "client_id": "c",
        "access_token": "expired",
        "refresh_token": "r",
    }
    write_private(tokens, stored)
    monkeypatch.setenv("FACEGATE_SANDBOX_STATE", str(state))
    monkeypatch.setenv("FACEGATE_TOKEN_FILE", str(tokens))
    assert main(["employees", "list"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the stage's user pool" in err and "Traceback" not in err


def test_the_token_file_is_written_without_following_a_planted_link(tmp_path: Path) -> None:
    from facegate_cli.tokens import write_private

    folder = tmp_path / "config"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    path = folder / "tokens.json"
    planted = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    planted.symlink_to(victim)
    write_private(path, {"a": 1})
    assert victim.read_text() == "untouched"
    assert json.loads(path.read_text()) == {"a": 1}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # a folder of the user's is left as it is
    assert sorted(p.name for p in folder.iterdir()) == sorted([planted.name, "tokens.json"])


def test_a_token_folder_others_may_write_in_is_refused_unless_sticky(tmp_path: Path) -> None:
    from facegate_cli.errors import CliError
    from facegate_cli.tokens import write_private

    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(CliError, match="other users"):
        write_private(folder / "tokens.json", {})
    assert not (folder / "tokens.json").exists()
    folder.chmod(0o1777)  # as /tmp: only the owner may replace or remove their file
    write_private(folder / "tokens.json", {"a": 1})
    assert stat.S_IMODE((folder / "tokens.json").stat().st_mode) == 0o600
