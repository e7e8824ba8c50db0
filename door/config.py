"""The door agent's one config file (TOML): which door, which camera, which lock, which cloud.

``load(path)`` reads and checks it whole before anything starts: an unknown key, a missing
one or a value of the wrong kind is a ``ConfigError`` naming the key, so a typo never runs a
door with a default it did not mean. ``door/facegate-door.sample.toml`` shows every key.

A URL with credentials (``lock.http_url``, ``camera.source``) must have them percent-encoded
where they hold ``/ ? # @ :``: otherwise its host cannot be told from its password, and the
password would reach the wrong host and every message naming the device. Such a URL is
refused, and never echoed.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from door.device_http import ambiguous_url

ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # the camera id rule: doors share it
LOCK_DRIVERS = ("gpio", "http", "command", "log")


class ConfigError(ValueError):
    """The config file cannot run a door: the message names the key and what is wrong."""


@dataclass(frozen=True)
class CloudConfig:
    region: str
    queue_url: str  # the door's own queue (`make door-add` prints it)
    signing_key: str  # the decisions' KMS key (alias or ARN)
    access_key_id: str  # the door's identity: read its queue, verify MACs, report events
    secret_access_key: str
    bucket: str  # the camera bucket: photos and door events go there
    command_key: str = ""  # remote unlock and lockdown (empty: refused)
    endpoint_url: str = ""  # the sandbox's local AWS; empty for AWS itself
    metrics_namespace: str = ""  # heartbeats (empty: facegate/<stage>/doors/<door> from the queue name)


@dataclass(frozen=True)
class CameraConfig:
    camera_id: str
    source: str  # rtsp://…, http(s)://… (MJPEG or snapshot), usb:0, /dev/video0, a video file
    access_key_id: str  # the camera's own key (`make camera-add`): put photos only
    secret_access_key: str
    max_side: int = 1280  # frames are downscaled to this before anything else
    detect_side: int = 320  # the face trigger's input
    min_face_px: int = 80
    burst_frames: int = 5
    burst_seconds: float = 1.0
    attempts: int = 3  # uploads per person when the cloud says NO_FACE, LOW_QUALITY, UNKNOWN
    cooldown_seconds: float = 5.0
    decision_timeout: float = 10.0
    loop: bool = False  # a video file played again at its end (demos)


@dataclass(frozen=True)
class LockConfig:
    driver: str = "log"  # gpio | http | command | log (prints only: a bench, never a door)
    unlock_seconds: float = 5.0
    gpio_pin: int = 17
    active_high: bool = True
    fail_secure: bool = True  # a strike that locks without power; False: a maglock
    http_url: str = ""  # a Shelly-style relay: http://192.168.1.50
    http_channel: int = 0
    unlock_command: list[str] = field(default_factory=list)  # {seconds} is replaced
    lock_command: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InputsConfig:
    contact_pin: int | None = None  # door position contact (normally closed)
    exit_pin: int | None = None  # request-to-exit button
    held_open_seconds: float = 30.0
    exit_seconds: float = 5.0  # an opening this soon after the exit button is an exit
    debounce_seconds: float = 0.2
    fault_seconds: float = 10.0  # a contact unsettled this long is CONTACT_FAULT (judged open)


@dataclass(frozen=True)
class AgentConfig:
    door_id: str
    state_dir: Path  # used messages, the offline spool, status.json, the lockdown flag
    cloud: CloudConfig
    camera: CameraConfig
    lock: LockConfig = LockConfig()
    inputs: InputsConfig = InputsConfig()
    heartbeat_seconds: float = 60.0
    spool_max_mb: int = 200
    spool_max_age_hours: float = 24.0
    max_skew_seconds: float = 3.0


def load(path: Path) -> AgentConfig:
    """The config at ``path``, checked whole; ``ConfigError`` otherwise."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not TOML: {error}") from None
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} holds keys: let only its owner read it (chmod 600)")
    return parse(raw)


def parse(raw: dict[str, Any]) -> AgentConfig:
    """A config from its TOML tables (``load`` without the file)."""
    tables = {"cloud": CloudConfig, "camera": CameraConfig, "lock": LockConfig, "inputs": InputsConfig}
    built: dict[str, Any] = {name: _build(kind, raw.get(name, {}), name) for name, kind in tables.items()}
    top = {key: value for key, value in raw.items() if key not in tables}
    config = _build(AgentConfig, {**top, **built}, "")
    for where, value in (("door_id", config.door_id), ("camera.camera_id", config.camera.camera_id)):
        if not ID.fullmatch(value) or set(value) == {"."}:
            raise ConfigError(f"{where} {value!r} must be 1–64 of A–Z a–z 0–9 _ . - (not only dots)")
    if config.lock.driver not in LOCK_DRIVERS:
        raise ConfigError(f"lock.driver must be one of {', '.join(LOCK_DRIVERS)}")
    if not 0.5 <= config.lock.unlock_seconds <= 30:
        raise ConfigError("lock.unlock_seconds must be 0.5 to 30")
    if config.lock.driver == "http" and not config.lock.http_url.startswith(("http://", "https://")):
        raise ConfigError("lock.http_url must be an http:// or https:// url for driver http")
    if config.lock.driver == "command" and not config.lock.unlock_command:
        raise ConfigError("lock.unlock_command is needed for driver command")
    for where, url in (("lock.http_url", config.lock.http_url), ("camera.source", config.camera.source)):
        if ambiguous_url(url):  # (the value is not echoed: its password may be anywhere in it)
            raise ConfigError(
                f"{where} cannot be read safely: its host is not clear (percent-encode / ? # @ : "
                "in its user and password, as %2F %3F %23 %40 %3A)"
            )
    return config


_T = TypeVar("_T")


def _build(kind: type[_T], values: object, table: str) -> _T:
    prefix = f"{table}." if table else ""
    if not isinstance(values, dict):
        raise ConfigError(f"{table} must be a table")
    known = {f.name: f for f in fields(kind)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown key {prefix}{unknown[0]}")
    arguments: dict[str, Any] = {}
    for name, spec in known.items():
        if name not in values:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise ConfigError(f"{prefix}{name} is required")
            continue
        arguments[name] = _value(values[name], str(spec.type), f"{prefix}{name}")
    return kind(**arguments)


def _is_number(value: object, whole: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
        return False
    return 0 <= value < 1_000_000_000


# Each kind of value the config uses: its check, what to say when it fails, its conversion.
_KINDS: dict[str, tuple[Callable[[object], bool], str, Callable[[Any], object]]] = {
    "Path": (lambda v: isinstance(v, str) and v != "", "a folder path", Path),
    "bool": (lambda v: isinstance(v, bool), "true or false", bool),
    "int": (lambda v: _is_number(v, whole=True), "a whole number", int),
    "int | None": (lambda v: _is_number(v, whole=True), "a whole number", int),
    "float": (lambda v: _is_number(v, whole=False), "a number", float),
    "list[str]": (
        lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
        "a list of strings",
        list,
    ),
    "str": (
        lambda v: isinstance(v, str) and not any(ord(char) < 32 for char in v),
        "text on one line",
        str,
    ),
}


def _value(value: object, kind: str, where: str) -> object:
    """``value`` checked against the field's annotation; the tables are built already."""
    if kind not in _KINDS:
        return value
    check, wanted, convert = _KINDS[kind]
    if not check(value):
        raise ConfigError(f"{where} must be {wanted}")
    return convert(value)
