"""The door agent's config file: the sample parses; a typo, a wrong kind or a readable key file
is refused with the key named, before anything starts."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from door.config import ConfigError, load, parse

SAMPLE = Path(__file__).resolve().parents[2] / "door" / "facegate-door.sample.toml"


def sample() -> dict[str, Any]:
    return tomllib.loads(SAMPLE.read_text())


def test_the_sample_config_parses_into_what_it_says(tmp_path: Path) -> None:
    private = tmp_path / "door.toml"
    shutil.copy(SAMPLE, private)
    private.chmod(0o600)
    config = load(private)
    assert (config.door_id, config.camera.camera_id) == ("front-door", "front-door")
    assert config.lock.driver == "gpio" and config.inputs.held_open_seconds == 30.0
    assert (config.inputs.contact_pin, config.inputs.exit_pin) == (27, 22)
    assert config.camera.max_side == 1280 and config.cloud.command_key.endswith("door-commands")


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    readable = tmp_path / "door.toml"
    shutil.copy(SAMPLE, readable)
    readable.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load(readable)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["camera"].update(min_face_px="80"), "camera.min_face_px must be a whole number"),
        (lambda c: c["camera"].update(min_facepx=80), "unknown key camera.min_facepx"),
        (lambda c: c["lock"].update(driver="relay"), "lock.driver must be one of"),
        (lambda c: c["lock"].update(unlock_seconds=3600), "lock.unlock_seconds must be 0.5 to 30"),
        (lambda c: c["lock"].update(driver="http"), "lock.http_url must be"),
        (lambda c: c["lock"].update(driver="command"), "lock.unlock_command is needed"),
        (lambda c: c["inputs"].update(contact_pin=True), "inputs.contact_pin must be a whole number"),
        (lambda c: c["cloud"].pop("queue_url"), "cloud.queue_url is required"),
        (lambda c: c["cloud"].update(bucket="a\nb"), "cloud.bucket must be text on one line"),
        (lambda c: c.update(door_id="front door"), "door_id 'front door' must be"),
        (lambda c: c.update(door_id=".."), "door_id '..' must be"),
        (lambda c: c.update(camera=[]), "camera must be a table"),
        (lambda c: c.update(heartbeat_seconds=float("nan")), "heartbeat_seconds must be a number"),
    ],
)
def test_a_config_that_cannot_run_a_door_names_the_key(change: Any, message: str) -> None:
    raw = sample()
    change(raw)
    with pytest.raises(ConfigError, match=message):
        parse(raw)


@pytest.mark.parametrize(
    ("table", "key", "url"),
    [
        ("lock", "http_url", "http://admin:Pa/ss-HUNTER2@10.0.0.5"),
        ("lock", "http_url", "http://admin:Pa?ss-HUNTER2@10.0.0.5"),
        ("lock", "http_url", "http://admin:Pa#ss-HUNTER2@10.0.0.5"),
        ("lock", "http_url", "http://admin:1234/HUNTER2@10.0.0.5"),  # "admin", port 1234?
        ("lock", "http_url", "http://admin:HUNTER2@10.0.0.5:80a"),
        ("lock", "http_url", "http://admin:HUNTER2@"),
        ("camera", "source", "rtsp://admin:HUNTER2/secret@10.0.0.7:554/live"),
        ("camera", "source", "http://viewer:HUNTER2#x@10.0.0.7/snap.jpg"),
        ("camera", "source", "rtsp://admin:HUNTER2@[fe80::7/live"),  # a bracket left open
    ],
)
def test_a_url_whose_host_cannot_be_told_from_its_password_is_refused_unechoed(
    table: str, key: str, url: str
) -> None:
    raw = sample()
    raw[table][key] = url
    with pytest.raises(ConfigError, match=rf"^{table}\.{key} .*percent-encode") as refusal:
        parse(raw)
    assert "HUNTER2" not in str(refusal.value)


def test_credentials_percent_encoded_in_a_url_are_taken() -> None:
    raw = sample()
    raw["lock"].update(driver="http", http_url="http://admin:Pa%2Fss%23HUNTER2@10.0.0.5")
    raw["camera"]["source"] = "rtsp://admin:HUNTER2%2Fsecret@10.0.0.7:554/live"
    config = parse(raw)
    assert config.lock.http_url.endswith("@10.0.0.5") and config.camera.source.endswith("/live")


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "door.toml"
    broken.write_text('door_id = "front-door\n')
    broken.chmod(0o600)
    with pytest.raises(ConfigError, match="not TOML"):
        load(broken)
