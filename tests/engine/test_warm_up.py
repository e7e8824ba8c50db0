"""The camera function of a local-engine stage loads the engine in Lambda's init; nothing else
does, and a warm-up that fails leaves the first scan to load it (or to fail closed)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib import wiring
from chalicelib.access.control import CurrentPolicy
from chalicelib.core.config import Policy, Settings
from chalicelib.core.errors import ModelUnavailable
from chalicelib.core.models import Employee, NormalisedImage, Reason, Status, Upload
from chalicelib.engines import local, yunet_sface
from chalicelib.engines.local import LocalEngine
from chalicelib.scanning import imaging
from chalicelib.scanning.pipeline import PipelinePorts, process_upload
from sandbox.stack import PROJECT_DIR
from tests.fakes import (
    InMemoryAccessStore,
    InMemoryEmployeeDirectory,
    InMemoryFaceStore,
    InMemoryImageStore,
    InMemoryScanLog,
    RecordingNotifier,
)

CAMERA = "facegate-dev-on_camera_upload"
LOCAL = {"FACEGATE_STAGE": "dev", "FACEGATE_ENGINE": "local"}
REKOGNITION = {"FACEGATE_STAGE": "prod", "FACEGATE_ENGINE": "rekognition"}


@pytest.mark.parametrize(
    ("env", "function", "warms"),
    [
        (LOCAL, CAMERA, True),
        (LOCAL, "facegate-dev", False),  # the API
        (LOCAL, "facegate-dev-daily_report", False),
        (LOCAL, "facegate-dev-erasure_worker", False),
        (LOCAL, "facegate-dev-on_enrollment_upload", False),
        (LOCAL, "facegate-prod-on_camera_upload", False),  # another stage's camera
        (LOCAL, None, False),  # not in Lambda: tests, the sandbox, `chalice deploy`
        (REKOGNITION, "facegate-prod-on_camera_upload", False),
    ],
)
def test_only_the_camera_function_of_a_local_stage_warms(
    env: dict[str, str], function: str | None, warms: bool
) -> None:
    assert wiring.warms_at_init(Settings.from_env(env), function) is warms


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What warm_up did, with the model load and the adapters replaced by a record."""
    done: list[str] = []
    monkeypatch.setattr(imaging, "load_decoders", lambda: done.append("decoders"))
    monkeypatch.setattr(local, "load_models", lambda: done.append("models"))
    monkeypatch.setattr(wiring, "pipeline_ports", lambda settings: done.append(f"ports:{settings.stage}"))
    yield done


def test_the_camera_function_loads_the_models_and_builds_its_ports(recorded: list[str]) -> None:
    assert wiring.warm_up({**LOCAL, "AWS_LAMBDA_FUNCTION_NAME": CAMERA}) is True
    assert recorded == ["decoders", "models", "ports:dev"]


def test_an_init_that_snapstart_snapshots_loads_the_models_but_builds_no_client(recorded: list[str]) -> None:
    # a client would hold the credentials it resolved in every environment restored from the snapshot
    env = {**LOCAL, "AWS_LAMBDA_FUNCTION_NAME": CAMERA, "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}
    assert wiring.warm_up(env) is True
    assert recorded == ["decoders", "models"]
    provisioned = {**env, "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"}
    assert wiring.warm_up(provisioned) is True
    assert recorded == ["decoders", "models", "decoders", "models", "ports:dev"]


@pytest.mark.parametrize(
    "env",
    [
        LOCAL,
        {**LOCAL, "AWS_LAMBDA_FUNCTION_NAME": "facegate-dev"},
        {**REKOGNITION, "AWS_LAMBDA_FUNCTION_NAME": "facegate-prod-on_camera_upload"},
    ],
)
def test_other_processes_load_nothing_at_init(recorded: list[str], env: dict[str, str]) -> None:
    assert wiring.warm_up(env) is False
    assert recorded == []


def test_a_stage_setting_that_does_not_parse_is_logged_not_raised(
    recorded: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    env = {**LOCAL, "FACEGATE_MATCH_THRESHOLD": "lots", "AWS_LAMBDA_FUNCTION_NAME": CAMERA}
    with caplog.at_level(logging.ERROR, logger="chalicelib.wiring"):
        assert wiring.warm_up(env) is False
    assert recorded == [] and "first scan loads it instead" in caplog.text


NOW = datetime(2026, 3, 8, 14, 30, tzinfo=UTC)


def _upload(images: InMemoryImageStore, photos: Path, version: str) -> Upload:
    key = "incoming/front-door/someone.jpg"
    images.objects[("cams", key)] = (photos / "obama2.jpg").read_bytes()
    at = (NOW - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    size = len(images.objects[("cams", key)])
    images.modified[("cams", key)] = NOW - timedelta(seconds=1)  # S3's LastModified, as fresh
    return Upload(bucket="cams", key=key, version_id=version, sequencer=version, event_time=at, size=size)


def test_a_failed_warm_up_is_logged_and_the_scans_still_fail_closed_then_decide(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    photos: Path,
    photo: Callable[[str], NormalisedImage],
) -> None:
    engine = LocalEngine(InMemoryFaceStore(), Policy())
    engine.add_face("EMP001", photo("obama.jpg"))  # loads the models
    monkeypatch.setattr(yunet_sface.Networks, "_loaded", None)  # a fresh process: nothing loaded yet
    broken = {"models": True}

    def model_file(name: str, sha256: str) -> bytes:
        if broken["models"]:
            raise ModelUnavailable("the layer's model files are missing")
        return original(name, sha256)

    original = yunet_sface.model_file
    monkeypatch.setattr(yunet_sface, "model_file", model_file)
    settings = Settings.from_env(LOCAL)
    monkeypatch.setattr(wiring, "pipeline_ports", lambda settings: pytest.fail("ports built after a failure"))
    with caplog.at_level(logging.ERROR, logger="chalicelib.wiring"):
        assert wiring.warm_up({**LOCAL, "AWS_LAMBDA_FUNCTION_NAME": CAMERA}) is False
    assert "the layer's model files are missing" in caplog.text
    assert yunet_sface.Networks._loaded is None

    directory = InMemoryEmployeeDirectory(Employee("EMP001", "Jane Doe"))
    images, notifier = InMemoryImageStore(), RecordingNotifier()
    ports = PipelinePorts(
        images, engine, directory, InMemoryScanLog(directory), notifier,
        CurrentPolicy(InMemoryAccessStore(), settings.timezone),
    )  # fmt: skip
    first = process_upload(_upload(images, photos, "v1"), ports, settings, clock=lambda: NOW)
    assert first is not None
    assert first.decision.status is Status.ERROR and first.decision.reason_code is Reason.ENGINE_FAILED

    broken["models"] = False  # the next scan loads the models itself, as before the warm-up
    second = process_upload(_upload(images, photos, "v2"), ports, settings, clock=lambda: NOW)
    assert second is not None
    assert second.decision.status is Status.AUTHORIZED and second.decision.employee_id == "EMP001"
    assert [scan.decision.status for scan in notifier.published] == [Status.ERROR, Status.AUTHORIZED]


HEAVY = ["PIL.Image", "chalicelib.engines.local", "dlib", "numpy", "onnxruntime"]
IMPORT_APP = f"import json, sys, app; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"


@pytest.mark.parametrize(
    ("env", "loaded"),
    [
        (LOCAL, []),
        ({**LOCAL, "AWS_LAMBDA_FUNCTION_NAME": "facegate-dev"}, []),
        ({**REKOGNITION, "AWS_LAMBDA_FUNCTION_NAME": "facegate-prod-on_camera_upload"}, []),
        # dlib only when the gallery still holds its faces (the old model's), not at warm-up.
        ({**LOCAL, "AWS_LAMBDA_FUNCTION_NAME": CAMERA}, [m for m in HEAVY if m != "dlib"]),
    ],
)
def test_import_app_in_a_fresh_process(env: dict[str, str], loaded: list[str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FACEGATE_", "AWS_LAMBDA_"))}
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_APP],
        cwd=PROJECT_DIR, env={**clean, "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(result.stdout.strip().splitlines()[-1]) == loaded
