"""Builds the adapters from ``Settings``: lazily, once per container and settings.

The only place that creates boto3 clients. Endpoints follow the standard
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables (the sandbox sets them).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

from chalicelib.core.config import AuthSettings, Settings

if TYPE_CHECKING:  # each function's first call imports only the modules it uses
    # The boto3 stubs are a dev requirement only: Lambda never imports them.
    import boto3.session
    from botocore.client import BaseClient
    from botocore.config import Config
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from chalicelib.access.admin import AccessPorts
    from chalicelib.access.remote import CommandPorts
    from chalicelib.auth.tokens import TokenVerifier
    from chalicelib.aws.access import DynamoAccessStore
    from chalicelib.aws.faces import DynamoFaceStore
    from chalicelib.aws.gallery_snapshots import S3GallerySnapshots
    from chalicelib.core.ports import AuditTrail, PendingFaces, ScimCredential
    from chalicelib.doors.events import DoorEventPorts
    from chalicelib.engines.local import LocalEngine
    from chalicelib.engines.rekognition import RekognitionEngine
    from chalicelib.enrollment.drop_folder import DropPorts
    from chalicelib.enrollment.employees import EnrollmentPorts
    from chalicelib.enrollment.gallery_health import HealthPorts
    from chalicelib.erasure.retention import RetentionPorts
    from chalicelib.erasure.steps import ErasurePorts
    from chalicelib.reporting.reports import ReportPorts
    from chalicelib.scanning.pipeline import PipelinePorts
    from chalicelib.scim.users import ScimPorts


log = logging.getLogger(__name__)

Factory = TypeVar("Factory", bound=Callable[..., Any])
_CACHED: list[Any] = []  # every factory ``cached`` wraps, for ``reset``


def cached(maxsize: int | None = None) -> Callable[[Factory], Factory]:
    """Cache a factory's results (per container and arguments) and register it for ``reset``."""

    def decorate(factory: Factory) -> Factory:
        wrapper = functools.lru_cache(maxsize=maxsize)(factory)
        _CACHED.append(wrapper)
        return cast(Factory, wrapper)

    return decorate


@dataclass(frozen=True)
class ApiPorts:
    """Every port the HTTP API's services need: one object per container and settings.

    Each group is built on first use, so a container that only reads employees never
    creates the erasure queue's client.
    """

    settings: Settings

    @property
    def enrollment(self) -> EnrollmentPorts:
        """For ``enrollment.*`` and ``lookup.*``."""
        return enrollment_ports(self.settings)

    @property
    def erasure(self) -> ErasurePorts:
        """For ``erasure.start_erasure`` and ``erasure.job_status``."""
        return erasure_ports(self.settings)

    @property
    def health(self) -> HealthPorts:
        """For ``enrollment.gallery_health``: start a health job, read it."""
        return health_ports(self.settings)

    @property
    def access(self) -> AccessPorts:
        """For ``access_admin.*``: doors, groups, rules, holidays and ``check_access``."""
        return access_ports(self.settings)

    @property
    def commands(self) -> CommandPorts:
        """For ``access.remote.*``: remote unlock, lockdown and release of a door."""
        return command_ports(self.settings)

    @property
    def pending_faces(self) -> PendingFaces:
        """For ``enrollment.pending.*``: the drop-folder photos that wait for an admin."""
        return pending_faces(self.settings)

    @property
    def scim(self) -> ScimPorts:
        """For ``scim.users.*``: enrollment's and erasure's ports, and the SCIM token's store."""
        from chalicelib.scim.users import ScimPorts

        return ScimPorts(self.enrollment, self.erasure, scim_credential(self.settings))

    @property
    def audit_trail(self) -> AuditTrail:
        """For ``doors.events.events_of_day``: the audit read back, one partition at a time."""
        from chalicelib.aws.audit import DynamoAuditLog

        return DynamoAuditLog(table(self.settings.audit_table))


# The services the Lambda functions call (each has its own overload of ``client``).
Service = Literal["cognito-idp", "kms", "rekognition", "s3", "ses", "sns", "sqs", "ssm"]


@cached()
def _session() -> boto3.session.Session:
    import boto3

    return boto3.session.Session()


def _config(**extra: Any) -> Config:
    """The SDK's standard retry mode (backoff on throttling, 5xx and timeouts), 3 attempts."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=20, **extra
    )


@overload
def client(service: Literal["cognito-idp"]) -> CognitoIdentityProviderClient: ...
@overload
def client(service: Literal["kms"]) -> KMSClient: ...
@overload
def client(service: Literal["rekognition"]) -> RekognitionClient: ...
@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["ses"]) -> SESClient: ...
@overload
def client(service: Literal["sns"]) -> SNSClient: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["ssm"]) -> BaseClient: ...  # boto3-stubs has no SSM stubs installed
def client(service: Service) -> BaseClient:
    """A boto3 client for ``service``; S3 signs presigned links with SigV4 (≤ 7 days)."""
    return _client(service)


@cached()
def _client(service: Service) -> BaseClient:
    extra = {"signature_version": "s3v4"} if service == "s3" else {}
    return _session().client(service, config=_config(**extra))


@cached()
def _dynamodb() -> DynamoDBServiceResource:
    return _session().resource("dynamodb", config=_config())


def table(name: str) -> Table:
    return _dynamodb().Table(name)


@cached(maxsize=8)
def face_engine(settings: Settings) -> LocalEngine | RekognitionEngine:
    """The engine ``FACEGATE_ENGINE`` selects; its module is imported only now."""
    if settings.engine == "local":
        from chalicelib.engines.local import LocalEngine

        store, snapshots = gallery_ports(settings)
        return LocalEngine(store, settings.policy, snapshots=snapshots)
    from chalicelib.engines.rekognition import RekognitionEngine

    return RekognitionEngine(
        client("rekognition"), settings.collection_id, settings.policy, settings.quality_filter
    )


@cached(maxsize=8)
def gallery_ports(settings: Settings) -> tuple[DynamoFaceStore, S3GallerySnapshots]:
    """The local engine's faces table and its packed snapshot in the camera bucket."""
    from chalicelib.aws.faces import DynamoFaceStore
    from chalicelib.aws.gallery_snapshots import S3GallerySnapshots

    faces = table(settings.faces_table)
    return DynamoFaceStore(faces), S3GallerySnapshots(client("s3"), settings.camera_bucket, faces)


@cached(maxsize=8)
def access_store(settings: Settings) -> DynamoAccessStore:
    """The access policy's store: one per container, shared by the camera pipeline and the API."""
    from chalicelib.aws.access import DynamoAccessStore

    return DynamoAccessStore(table(settings.access_table))


@cached(maxsize=8)
def pipeline_ports(settings: Settings) -> PipelinePorts:
    """Every port the camera pipeline needs."""
    from chalicelib.access.control import CurrentPolicy
    from chalicelib.aws.employees import DynamoEmployeeDirectory
    from chalicelib.aws.kms import KmsMessageSigner
    from chalicelib.aws.s3 import S3ImageStore
    from chalicelib.aws.scans import DynamoScanLog
    from chalicelib.aws.sns import SnsNotifier
    from chalicelib.scanning.notifications import AlertSite
    from chalicelib.scanning.pipeline import PipelinePorts

    return PipelinePorts(
        images=S3ImageStore(client("s3")),
        engine=face_engine(settings),
        directory=DynamoEmployeeDirectory(table(settings.employees_table)),
        scans=DynamoScanLog(table(settings.scans_table), settings.employees_table),
        notifier=SnsNotifier(
            client("sns"),
            settings.topic_arn,
            KmsMessageSigner(client("kms"), settings.signing_key),
            AlertSite(settings.timezone, settings.camera_bucket),
        ),
        access=CurrentPolicy(access_store(settings), settings.timezone),
    )


@cached(maxsize=8)
def enrollment_ports(settings: Settings) -> EnrollmentPorts:
    """Every port the enrollment and lookup services need (see ``api_ports``)."""
    from chalicelib.aws.audit import DynamoAuditLog
    from chalicelib.aws.consent import DynamoConsentLedger
    from chalicelib.enrollment.employees import EnrollmentPorts

    pipeline = pipeline_ports(settings)
    return EnrollmentPorts(
        directory=pipeline.directory,
        engine=pipeline.engine,
        audit=DynamoAuditLog(table(settings.audit_table)),
        scans=pipeline.scans,
        consents=DynamoConsentLedger(table(settings.audit_table)),
    )


@cached(maxsize=8)
def drop_ports(settings: Settings) -> DropPorts:
    """Every port drop-folder enrollment needs: the bucket, enrollment's, the admins' topic."""
    from chalicelib.aws.sns import SnsAdminNotifier
    from chalicelib.enrollment.drop_folder import DropPorts

    return DropPorts(
        images=pipeline_ports(settings).images,
        enrollment=enrollment_ports(settings),
        admins=SnsAdminNotifier(client("sns"), settings.admin_topic_arn),
        engine=face_engine(settings),
        pending=pending_faces(settings),
        access=access_store(settings),
    )


def pending_faces(settings: Settings) -> PendingFaces:
    """Drop-folder photos held for an admin's approval (``pending/`` of the camera bucket)."""
    from chalicelib.aws.pending import S3PendingFaces

    return S3PendingFaces(client("s3"), settings.camera_bucket)


def door_event_ports(settings: Settings) -> DoorEventPorts:
    """What recording door events needs: the bucket, the audit table, the decisions topic."""
    from chalicelib.aws.audit import DynamoAuditLog
    from chalicelib.aws.s3 import S3ImageStore
    from chalicelib.aws.sns import SnsAdminNotifier
    from chalicelib.doors.events import DoorEventPorts

    audit = DynamoAuditLog(table(settings.audit_table))
    return DoorEventPorts(
        images=S3ImageStore(client("s3")),
        audit=audit,
        trail=audit,
        # Plain text on the decisions topic, where security listens; no door_id attribute,
        # so no door's queue takes it.
        announcer=SnsAdminNotifier(client("sns"), settings.topic_arn),
    )


@cached(maxsize=8)
def health_ports(settings: Settings) -> HealthPorts:
    """The gallery health job's ports: the API starts jobs, the health worker runs them."""
    from chalicelib.aws.employees import DynamoEmployeeDirectory
    from chalicelib.aws.health_jobs import DynamoHealthJobs, SqsHealthQueue
    from chalicelib.enrollment.gallery_health import HealthPorts

    return HealthPorts(
        engine=face_engine(settings),
        jobs=DynamoHealthJobs(table(settings.audit_table)),
        queue=SqsHealthQueue(client("sqs"), settings.health_queue),
        directory=DynamoEmployeeDirectory(table(settings.employees_table)),
    )


@cached(maxsize=8)
def erasure_ports(settings: Settings) -> ErasurePorts:
    """Every port erasure needs: the API starts jobs, the erasure worker runs them."""
    from chalicelib.aws.erasures import DynamoErasureJobs, SqsErasureQueue
    from chalicelib.erasure.steps import ErasurePorts

    pipeline = pipeline_ports(settings)
    enrollment = enrollment_ports(settings)
    return ErasurePorts(
        directory=pipeline.directory,
        engine=face_engine(settings),
        audit=enrollment.audit,
        scans=pipeline.scans,
        images=pipeline.images,
        jobs=DynamoErasureJobs(table(settings.audit_table)),
        queue=SqsErasureQueue(client("sqs"), settings.erasure_queue),
        camera_bucket=settings.camera_bucket,
        access=access_store(settings),
        consents=enrollment.consents,
        pending=pending_faces(settings),
        erase_from_gallery=(
            (lambda employee_id: _erase_from_gallery(settings, employee_id))
            if settings.engine == "local"
            else lambda employee_id: None
        ),
    )


@cached(maxsize=8)
def retention_ports(settings: Settings) -> RetentionPorts:
    """The retention sweep: erasure's ports (it starts jobs), the audit read back (its progress,
    the notices sent) and the admins' topic."""
    from chalicelib.aws.audit import DynamoAuditLog
    from chalicelib.aws.sns import SnsAdminNotifier
    from chalicelib.erasure.retention import RetentionPorts

    return RetentionPorts(
        erasure=erasure_ports(settings),
        trail=DynamoAuditLog(table(settings.audit_table)),
        admins=SnsAdminNotifier(client("sns"), settings.admin_topic_arn),
    )


def _erase_from_gallery(settings: Settings, employee_id: str) -> None:
    from chalicelib.engines.gallery_sync import publish_or_withdraw_snapshot

    store, snapshots = gallery_ports(settings)
    store.strip_from_log(employee_id)
    publish_or_withdraw_snapshot(store, snapshots)


@cached(maxsize=8)
def access_ports(settings: Settings) -> AccessPorts:
    """Every port access management needs: the policy's store, the directory (memberships
    live on the employee) and the audit log; no face engine."""
    from chalicelib.access.admin import AccessPorts
    from chalicelib.aws.audit import DynamoAuditLog
    from chalicelib.aws.employees import DynamoEmployeeDirectory

    return AccessPorts(
        store=access_store(settings),
        directory=DynamoEmployeeDirectory(table(settings.employees_table)),
        audit=DynamoAuditLog(table(settings.audit_table)),
        timezone=settings.timezone,
    )


@cached(maxsize=8)
def command_ports(settings: Settings) -> CommandPorts:
    """Remote door commands: access management's ports, the door command key (never the
    decision signing key) and the doors' queues."""
    from chalicelib.access.remote import CommandPorts
    from chalicelib.aws.door_queues import SqsDoorQueues
    from chalicelib.aws.kms import KmsMessageSigner

    return CommandPorts(
        access=access_ports(settings),
        signer=KmsMessageSigner(client("kms"), settings.command_key),
        doors=SqsDoorQueues(client("sqs"), settings.stage),
    )


@cached(maxsize=8)
def api_ports(settings: Settings) -> ApiPorts:
    """Every port the HTTP API's routes hand to the services."""
    return ApiPorts(settings)


@cached(maxsize=8)
def report_ports(settings: Settings) -> ReportPorts:
    """Every port the daily report needs."""
    from chalicelib.aws.audit import DynamoAuditLog
    from chalicelib.aws.ledger import DynamoReportLedger
    from chalicelib.aws.s3 import S3ImageStore
    from chalicelib.aws.scans import DynamoScanLog
    from chalicelib.aws.ses import SesMailer
    from chalicelib.reporting.reports import ReportPorts

    return ReportPorts(
        scans=DynamoScanLog(table(settings.scans_table)),
        images=S3ImageStore(client("s3")),
        mailer=SesMailer(client("ses")),
        ledger=DynamoReportLedger(table(settings.audit_table)),
        camera_bucket=settings.camera_bucket,
        audit=DynamoAuditLog(table(settings.audit_table)),
    )


def scim_credential(settings: Settings) -> ScimCredential:
    """Where the SCIM token's digest lives; read on every SCIM request, so a rotation holds at once."""
    from chalicelib.aws.ssm import SsmScimCredential

    return SsmScimCredential(client("ssm"), settings.scim_token_parameter)


@cached(maxsize=4)
def token_verifier(settings: AuthSettings) -> TokenVerifier:
    """One verifier per container: it caches the user pool's keys and its answers per token."""
    from chalicelib.auth.tokens import TokenVerifier
    from chalicelib.aws.cognito import CognitoUserPool

    return TokenVerifier(settings, CognitoUserPool(client("cognito-idp"), settings.user_pool_id))


# The camera function as Chalice names it when it deploys a stage (infra/stage.lambda_function_name).
CAMERA_FUNCTION = "on_camera_upload"


def camera_function_name(stage: str) -> str:
    return f"facegate-{stage}-{CAMERA_FUNCTION}"


def warms_at_init(settings: Settings, function_name: str | None) -> bool:
    """Whether this process loads the local engine while Lambda initialises it: only the
    camera function (``AWS_LAMBDA_FUNCTION_NAME``) of a stage on the local engine. The API,
    the report, erasure and enrollment functions, a Rekognition stage and a plain
    ``import app`` (tests, ``chalice deploy``) stay lazy."""
    return settings.engine == "local" and function_name == camera_function_name(settings.stage)


SNAPSHOT_INIT = "snap-start"  # AWS_LAMBDA_INITIALIZATION_TYPE of an init that SnapStart snapshots


def warm_up(env: Mapping[str, str] | None = None) -> bool:
    """In the camera function of a local-engine stage, do now, in Lambda's init, what the
    first scan would do before deciding: import Pillow, numpy and onnxruntime, load YuNet and
    SFace (dlib only later, if the gallery still holds its faces) and build the pipeline's
    adapters (clients only: no AWS call is made). True if it warmed.

    An init that Lambda snapshots (SnapStart) builds no client: a client resolves its
    credentials when it is built, and every environment restored from the snapshot would
    share them; the first scan of each environment builds its own (about 50 ms).

    Never raises: a failure is logged and the first scan loads everything again, as it
    did before this warm-up existed; if that fails too the scan is an ERROR (fail closed).
    """
    env = os.environ if env is None else env
    function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
    if not function_name:
        return False
    try:
        settings = Settings.from_env(env)
        if not warms_at_init(settings, function_name):
            return False
        from chalicelib.engines.local import load_models
        from chalicelib.scanning.imaging import load_decoders

        load_decoders()
        load_models()
        if env.get("AWS_LAMBDA_INITIALIZATION_TYPE") != SNAPSHOT_INIT:
            pipeline_ports(settings)
    except Exception:
        log.exception("warming the local engine at init failed; the first scan loads it instead")
        return False
    return True


def reset() -> None:
    """Forget every cached client and adapter (tests, and the sandbox between stacks)."""
    for wrapper in _CACHED:
        wrapper.cache_clear()
