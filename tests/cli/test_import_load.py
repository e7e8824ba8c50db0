"""``facegate import`` of 500 rows with 8 workers against the sandbox, on a TEST engine.

Offline there are a handful of real faces and the engines refuse one face twice, so this
run injects ``SyntheticFaceEngine`` (one face per image, stored through the real
``DynamoFaceStore``) into this process's sandbox API with ``monkeypatch`` on ``wiring``.

moto is not thread-safe there: ``transact_write_items`` deep-copies the table while other
requests write to it and sometimes fails with "dictionary changed size during iteration"
(a 500 the SDK retries, then the API answers 500 and the importer retries): the run still
has to enroll every row exactly once.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.aws.faces import DynamoFaceStore
from chalicelib.core.config import Settings
from facegate_cli.client import ApiClient
from tests.cli.conftest import ServedSandbox
from tests.cli.synthetic_engine import SyntheticFaceEngine
from tests.cli.test_import import HEADER, RunImport, client, run_import

__all__ = ["client", "run_import"]  # fixtures shared with test_import

ROWS, WORKERS = 500, 8
# ~55 s for the import on two shared cores: moto deep-copies the whole table for every
# transaction (its rollback), so each enrollment costs more as the faces table grows.
pytestmark = pytest.mark.slow(reason="500 rows through the real import; moto copies the table per write")


class TimingClient(ApiClient):
    """Records how long each enrollment request takes (the figures the test prints)."""

    def __init__(self, base: ApiClient) -> None:
        super().__init__(base.base_url, base._tokens)
        self.seconds: list[float] = []

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return super().request(method, path, **kwargs)
        finally:
            if method == "POST" and path.endswith("/faces"):
                self.seconds.append(time.monotonic() - started)


@pytest.fixture
def synthetic(served_sandbox: ServedSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoFaceStore]:
    """The sandbox API's engine, for this test only; wiring is reset before and after."""
    settings = served_sandbox.stack.settings
    store = DynamoFaceStore(wiring.table(settings.faces_table))
    engine = SyntheticFaceEngine(store)
    wiring.reset()
    monkeypatch.setattr(wiring, "face_engine", lambda _: engine)
    yield store
    monkeypatch.undo()
    wiring.reset()


def small_png(n: int) -> bytes:
    """A distinct 24×24 PNG for ``n`` (its pixels spell the number)."""
    from PIL import Image

    image = Image.new("RGB", (24, 24), (n % 256, (n // 256) % 256, 90))
    image.putpixel((n % 24, (n // 24) % 24), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def all_employees(client: ApiClient) -> list[str]:
    ids, token = [], None
    while True:
        page = client.get("/employees", {"limit": "100", **({"next_token": token} if token else {})})
        ids += [item["employee_id"] for item in page["items"]]
        token = page.get("next_token")
        if not token:
            return ids


def test_500_rows_with_8_workers_enroll_each_face_exactly_once(
    run_import: RunImport,
    client: ApiClient,
    synthetic: DynamoFaceStore,
    served_sandbox: ServedSandbox,
    tmp_path: Path,
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    lines = []
    for n in range(ROWS):
        (photos / f"p{n:03}.png").write_bytes(small_png(n))
        lines.append(f"load-{n:03},Person {n},,Load,p{n:03}.png,paper,HR-1\n")
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "".join(lines))

    timing = TimingClient(client)
    started = time.monotonic()
    code, out, err = run_import(timing, roster, "--photos", str(photos), "--workers", str(WORKERS), "--json")
    elapsed = time.monotonic() - started

    summary = json.loads(out)
    latency = sorted(timing.seconds)
    median, p95 = latency[len(latency) // 2] * 1000, latency[len(latency) * 95 // 100] * 1000
    retried = [line for line in err.splitlines() if line.startswith("retried")]
    print(  # the figures of the report; capsys holds sys.stderr
        f"{ROWS} rows, {WORKERS} workers: {elapsed:.1f} s, {ROWS / elapsed:.1f} rows/s; enrollment"
        f" median {median:.0f} ms, p95 {p95:.0f} ms; conflicts retried {synthetic.conflicts};"
        f" {summary}; {retried}",
        file=sys.__stderr__,
    )
    assert code == 0, err[-2000:]
    assert summary["employees created"] == ROWS and summary["faces added"] == ROWS
    table = served_sandbox.stack.session.resource("dynamodb").Table(Settings.from_env().faces_table)
    items = scan_all(table)
    faces = [item for item in items if not item["employee_id"].startswith("#")]
    assert sorted(face["employee_id"] for face in faces) == [f"load-{n:03}" for n in range(ROWS)]
    assert len({bytes(face["embedding"].value) for face in faces}) == ROWS
    logged = [item for item in items if item["employee_id"].startswith("#log#")]
    assert sorted(face for item in logged for face in item["faces"]) == sorted(f["face_id"] for f in faces)
    assert sorted(all_employees(client)) == [f"load-{n:03}" for n in range(ROWS)]

    # Rerun: everything is done already.
    code, out, _ = run_import(client, roster, "--photos", str(photos), "--workers", str(WORKERS), "--json")
    assert code == 0 and json.loads(out)["skipped as done"] == 2 * ROWS
    assert len(scan_all(table)) == len(items)


def scan_all(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
