"""Every knob of facegate, read from ``FACEGATE_*`` environment variables at call time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.core.errors import ConfigError

QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")

# The default match threshold of each engine, used when FACEGATE_MATCH_THRESHOLD is unset.
# The engines' similarities share the 0–100 range but not a scale: the local engine's is
# dlib's embedding distance mapped linearly (80 is d = 0.5), Rekognition's is its own
# confidence, for which AWS recommends 99 where a match must be right (docs/engines.md).
MATCH_THRESHOLDS: Mapping[str, float] = {"local": 80.0, "rekognition": 99.0}
ENGINES = tuple(MATCH_THRESHOLDS)


@dataclass(frozen=True)
class Policy:
    """The thresholds that turn a search result into a door decision."""

    # Similarity 0–100 at or above which a face matches; the local engine's default here,
    # ``for_engine`` gives each engine its own (MATCH_THRESHOLDS).
    match_threshold: float = MATCH_THRESHOLDS["local"]
    match_margin: float = 5.0  # best match must beat the next-best other employee by this
    min_face_px: int = 80  # a face narrower than this (in the uploaded photo) is too small
    min_sharpness: float = 20.0  # 0–100; below this a face is too blurred to trust
    # A face turned further than this (yaw or pitch, degrees) is not trusted; engines that
    # cannot tell report 0 (dlib's HOG finds only faces turned less than about 30 degrees).
    max_turn_degrees: float = 45.0
    # Local engine: frames longer than this are shrunk to it for face detection (0: never).
    detect_max_side: int = 1280

    @classmethod
    def for_engine(cls, engine: str) -> Policy:
        """The default policy for ``engine``: the defaults with that engine's match threshold."""
        return cls(match_threshold=MATCH_THRESHOLDS[engine])


@dataclass(frozen=True)
class ImageLimits:
    """What an upload may be before we spend memory decoding it."""

    max_bytes: int = 15 * 1024 * 1024
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class ReportSettings:
    """The daily facilities email."""

    sender: str = ""
    recipients: tuple[str, ...] = ()
    hour: int = 18  # local hour of the site's day at which the day's email goes out
    link_days: int = 3  # photo links stay valid this long (SigV4 allows 7 at most)
    thumbnails: bool = True  # events to review show the face, cropped (off: no face is mailed)
    # The longest a run that claims a day may live: the report function's lambda_timeout (and
    # the API's, which runs POST /reports). A claim older than this may be taken again.
    timeout_seconds: int = 60


@dataclass(frozen=True)
class RetentionSettings:
    """When faces are erased by themselves (``chalicelib.core.retention``, the daily sweep)."""

    inactive_days: int = 30  # suspended or deactivated this long: erased (admins told as long before)
    no_scan_months: int = 36  # no scan this long: erased; never more than 36 (BIPA's three years)

    @classmethod
    def from_reader(cls, reader: _Reader) -> RetentionSettings:
        return cls(
            # Three years at most too: BIPA's ceiling holds for a suspended employee as well.
            inactive_days=reader.integer("FACEGATE_RETENTION_INACTIVE_DAYS", cls.inactive_days, 1, 1095),
            no_scan_months=reader.integer("FACEGATE_RETENTION_NO_SCAN_MONTHS", cls.no_scan_months, 1, 36),
        )


NOTICE_VERSION = r"[A-Za-z0-9._-]{1,32}"  # FACEGATE_CONSENT_NOTICE_VERSION, e.g. 2026-12


@dataclass(frozen=True)
class ConsentSettings:
    """Biometric consent: whether a face needs it, and the notice version in force."""

    required: bool = True  # fail closed: a stage that says nothing requires consent
    notice_version: str = "2026-12"

    @classmethod
    def from_reader(cls, reader: _Reader) -> ConsentSettings:
        import re

        version = reader.text("FACEGATE_CONSENT_NOTICE_VERSION", cls.notice_version)
        if not re.fullmatch(NOTICE_VERSION, version):
            raise ConfigError("FACEGATE_CONSENT_NOTICE_VERSION must be 1-32 of A-Z a-z 0-9 . _ -")
        return cls(reader.boolean("FACEGATE_CONSENT_REQUIRED", cls.required), version)


@dataclass(frozen=True)
class AuthSettings:
    """Where API tokens come from: a Cognito user pool and its app client."""

    user_pool_id: str = ""
    client_id: str = ""
    region: str = "us-east-1"
    jwks_url: str = ""  # default: the pool's public keys at Cognito
    # How long one access token's check against the pool (signed out? disabled? groups?) holds.
    recheck_seconds: int = 30

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def keys_url(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"

    @classmethod
    def from_reader(cls, reader: _Reader, env: Mapping[str, str]) -> AuthSettings:
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or cls.region
        return cls(
            user_pool_id=reader.text("FACEGATE_USER_POOL_ID", ""),
            client_id=reader.text("FACEGATE_USER_POOL_CLIENT_ID", ""),
            region=region,
            jwks_url=reader.text("FACEGATE_JWKS_URL", ""),
            # At most 30: a signed-out, disabled or regrouped user is refused within 30 s (60 required).
            recheck_seconds=reader.integer("FACEGATE_AUTH_RECHECK_SECONDS", cls.recheck_seconds, 0, 30),
        )


@dataclass(frozen=True)
class Settings:
    """facegate's configuration for one invocation."""

    stage: str = "dev"
    engine: str = "local"
    camera_bucket: str = "facegate-dev-camera"
    scans_table: str = "facegate-dev-scans"
    employees_table: str = "facegate-dev-employees"
    faces_table: str = "facegate-dev-faces"
    audit_table: str = "facegate-dev-audit"
    access_table: str = "facegate-dev-access"  # doors, groups, rules, holidays (aws/access)
    collection_id: str = "facegate-dev-faces"
    quality_filter: str = "AUTO"  # Rekognition's filter for enrollment photos
    topic_arn: str = ""
    admin_topic_arn: str = ""  # enrollment outcomes for administrators (not door controllers)
    signing_key: str = "alias/facegate-dev-decision-signing"  # KMS HMAC key of door decisions
    # KMS HMAC key of remote door commands (unlock, lockdown, release): the API's, never the camera's
    command_key: str = "alias/facegate-dev-door-commands"
    timezone: str = "UTC"
    retention_days: int = 30
    erasure_queue: str = "facegate-dev-erasures"
    # The final sweep waits this long after the employee is gone: longer than the camera
    # function's 60 s timeout, so scans in flight during the erasure have been recorded.
    erasure_settle_seconds: int = 90
    erasure_max_receives: int = 5  # the erasure queue's maxReceiveCount (infra/template.yaml)
    health_queue: str = "facegate-dev-gallery-health"  # gallery health jobs for the health worker
    # The SSM parameter holding the SHA-256 of the identity provider's SCIM token (never the token)
    scim_token_parameter: str = "/facegate/dev/scim-token-sha256"
    report: ReportSettings = ReportSettings()
    auth: AuthSettings = AuthSettings()
    retention: RetentionSettings = RetentionSettings()
    consent: ConsentSettings = ConsentSettings()
    policy: Policy = Policy()
    limits: ImageLimits = ImageLimits()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``FACEGATE_*`` variables; unset ones keep their defaults."""
        source = os.environ if env is None else env
        reader = _Reader(source)
        defaults = cls()
        stage = reader.text("FACEGATE_STAGE", defaults.stage)
        engine = reader.text("FACEGATE_ENGINE", defaults.engine)
        if engine not in ENGINES:
            raise ConfigError(f"FACEGATE_ENGINE must be one of {', '.join(ENGINES)}, not {engine!r}")
        quality_filter = reader.text("FACEGATE_REKOGNITION_QUALITY_FILTER", defaults.quality_filter).upper()
        if quality_filter not in QUALITY_FILTERS:
            raise ConfigError(
                f"FACEGATE_REKOGNITION_QUALITY_FILTER must be one of {', '.join(QUALITY_FILTERS)}"
            )
        return cls(
            stage=stage,
            engine=engine,
            camera_bucket=reader.text("FACEGATE_CAMERA_BUCKET", f"facegate-{stage}-camera"),
            scans_table=reader.text("FACEGATE_SCANS_TABLE", f"facegate-{stage}-scans"),
            employees_table=reader.text("FACEGATE_EMPLOYEES_TABLE", f"facegate-{stage}-employees"),
            faces_table=reader.text("FACEGATE_FACES_TABLE", f"facegate-{stage}-faces"),
            audit_table=reader.text("FACEGATE_AUDIT_TABLE", f"facegate-{stage}-audit"),
            access_table=reader.text("FACEGATE_ACCESS_TABLE", f"facegate-{stage}-access"),
            collection_id=reader.text("FACEGATE_COLLECTION_ID", f"facegate-{stage}-faces"),
            quality_filter=quality_filter,
            topic_arn=reader.text("FACEGATE_TOPIC_ARN", defaults.topic_arn),
            admin_topic_arn=reader.text("FACEGATE_ADMIN_TOPIC_ARN", defaults.admin_topic_arn),
            signing_key=reader.text("FACEGATE_SIGNING_KEY", f"alias/facegate-{stage}-decision-signing"),
            command_key=reader.text("FACEGATE_COMMAND_KEY", f"alias/facegate-{stage}-door-commands"),
            timezone=reader.text("FACEGATE_TIMEZONE", defaults.timezone),
            retention_days=reader.integer("FACEGATE_RETENTION_DAYS", defaults.retention_days, low=1),
            erasure_queue=reader.text("FACEGATE_ERASURE_QUEUE", f"facegate-{stage}-erasures"),
            erasure_settle_seconds=reader.integer(
                "FACEGATE_ERASURE_SETTLE_SECONDS", defaults.erasure_settle_seconds, low=0, high=900
            ),
            erasure_max_receives=reader.integer(
                "FACEGATE_ERASURE_MAX_RECEIVES", defaults.erasure_max_receives, low=1
            ),
            health_queue=reader.text("FACEGATE_HEALTH_QUEUE", f"facegate-{stage}-gallery-health"),
            scim_token_parameter=reader.text(
                "FACEGATE_SCIM_TOKEN_PARAMETER", f"/facegate/{stage}/scim-token-sha256"
            ),
            auth=AuthSettings.from_reader(reader, source),
            retention=RetentionSettings.from_reader(reader),
            consent=ConsentSettings.from_reader(reader),
            report=ReportSettings(
                sender=reader.text("FACEGATE_REPORT_FROM", ""),
                recipients=tuple(
                    address.strip()
                    for address in reader.text("FACEGATE_REPORT_TO", "").split(",")
                    if address.strip()
                ),
                hour=reader.integer("FACEGATE_REPORT_HOUR", ReportSettings.hour, low=0, high=23),
                link_days=reader.integer(
                    "FACEGATE_REPORT_LINK_DAYS", ReportSettings.link_days, low=1, high=7
                ),
                thumbnails=reader.switch("FACEGATE_REPORT_THUMBNAILS", ReportSettings.thumbnails),
                timeout_seconds=reader.integer(
                    "FACEGATE_REPORT_TIMEOUT_SECONDS", ReportSettings.timeout_seconds, low=1, high=900
                ),
            ),
            policy=Policy(
                match_threshold=reader.number("FACEGATE_MATCH_THRESHOLD", MATCH_THRESHOLDS[engine], 0, 100),
                match_margin=reader.number("FACEGATE_MATCH_MARGIN", Policy.match_margin, 0, 100),
                min_face_px=reader.integer("FACEGATE_MIN_FACE_PX", Policy.min_face_px, low=1),
                min_sharpness=reader.number("FACEGATE_MIN_SHARPNESS", Policy.min_sharpness, 0, 100),
                max_turn_degrees=reader.number("FACEGATE_MAX_TURN_DEGREES", Policy.max_turn_degrees, 0, 90),
                detect_max_side=reader.integer("FACEGATE_DETECT_MAX_SIDE", Policy.detect_max_side, low=0),
            ),
            limits=ImageLimits(
                max_bytes=reader.integer("FACEGATE_MAX_UPLOAD_BYTES", ImageLimits.max_bytes, low=1),
                max_pixels=reader.integer("FACEGATE_MAX_PIXELS", ImageLimits.max_pixels, low=1),
            ),
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        value = self._env.get(name, "").strip()
        return value or default

    def switch(self, name: str, default: bool) -> bool:
        raw = self._env.get(name, "").strip().lower()
        if not raw:
            return default
        if raw not in ("on", "off"):
            raise ConfigError(f"{name} must be on or off, not {raw!r}")
        return raw == "on"

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._env.get(name, "").strip().lower()
        if not raw:
            return default
        if raw not in ("true", "false"):
            raise ConfigError(f"{name} must be true or false, not {raw[:20]!r}")
        return raw == "true"

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low:g} and {high:g}, not {raw}")
        return value

    def integer(self, name: str, default: int, low: int, high: int | None = None) -> int:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            raise ConfigError(f"{name} must be {bounds}, not {raw}")
        return value
