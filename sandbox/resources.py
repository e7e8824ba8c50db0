"""A stage's resources in the sandbox's local AWS (moto), built from ``infra/template.yaml``.

moto's CloudFormation creates the bucket, tables, topic and queues from the same template
``make deploy`` uses; what moto's CloudFormation cannot do (Cognito, bucket versioning,
TTL, an HMAC KMS key, subscriptions with filter policies, CloudWatch alarms: put from the
template's own definitions by ``sandbox/alarms.py``), the doors' queues (``infra.doors``, as
an admin adds them) and what only the sandbox
needs (the S3→SQS event queue standing in for Lambda's triggers, observer queues on the
topics, a verified SES sender) is added here by API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.config import Settings
from chalicelib.core.keys import DOOR_EVENTS_PREFIX, ENROLL_PREFIX, INCOMING_PREFIX
from infra import doors
from infra.stage import deploy_stack, environment, stack_name
from sandbox.alarms import put_alarms

# The doors the sandbox is built with, each with its queue: the demo's two (the access
# policy's front door and server room, sandbox.onboarding) and a third for routing tests.
SANDBOX_DOORS = ("front-door", "server-room", "loading-dock")

if TYPE_CHECKING:
    import boto3.session
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_sqs import SQSClient


def deploy_template(session: boto3.session.Session, stage: str) -> dict[str, str]:
    """The template deployed into local AWS; returns the ``FACEGATE_*`` it defines.

    The engine is the environment's (a sandbox may run the stage with Rekognition)."""
    engine = Settings.from_env().engine
    return environment(deploy_stack(session.client("cloudformation"), stage, sandbox=True, engine=engine))


def complete_sandbox(settings: Settings, session: boto3.session.Session) -> dict[str, str]:
    """Add what the template leaves to moto's APIs and what only the sandbox needs."""
    s3 = session.client("s3")
    sqs = session.client("sqs")
    s3.put_bucket_versioning(Bucket=settings.camera_bucket, VersioningConfiguration={"Status": "Enabled"})
    session.client("dynamodb").update_time_to_live(
        TableName=settings.scans_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    uploads_url = sqs.create_queue(QueueName=f"facegate-{settings.stage}-uploads")["QueueUrl"]
    observer_url = sqs.create_queue(QueueName=f"facegate-{settings.stage}-observer")["QueueUrl"]
    session.client("sns").subscribe(
        TopicArn=settings.topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, observer_url)
    )
    admin_url = sqs.create_queue(QueueName=f"facegate-{settings.stage}-admin-observer")["QueueUrl"]
    session.client("sns").subscribe(
        TopicArn=settings.admin_topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, admin_url)
    )
    door_queues = _doors(settings, session)
    # One queue for the three triggers (camera, drop folder, door events): the pump hands each
    # event to the handler whose prefix its key is under, as Lambda's three triggers would.
    s3.put_bucket_notification_configuration(
        Bucket=settings.camera_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": _queue_arn(sqs, uploads_url),
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
                for prefix in (INCOMING_PREFIX, ENROLL_PREFIX, DOOR_EVENTS_PREFIX)
            ]
        },
    )
    if settings.report.sender:  # SES sends only from verified identities
        session.client("ses").verify_email_identity(EmailAddress=settings.report.sender)
    pool_id, client_id = _user_pool(session.client("cognito-idp"), settings.stage)
    put_alarms(session, stack_name(settings.stage))
    return {
        "uploads_queue": uploads_url,
        "observer_queue": observer_url,
        "admin_observer_queue": admin_url,
        **{f"door_queue:{door}": url for door, url in door_queues.items()},
        "user_pool_id": pool_id,
        "user_pool_client_id": client_id,
    }


def _doors(settings: Settings, session: boto3.session.Session) -> dict[str, str]:
    """The template's SigningKey and CommandKey, which moto's CloudFormation cannot make, and
    each sandbox door's queue as ``python -m infra.doors add`` makes it: {door id: queue url}."""
    kms = session.client("kms")
    for alias, purpose in (
        (settings.signing_key, "door decision signing"),
        (settings.command_key, "remote door commands"),
    ):
        key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Description=purpose)
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
    sqs, sns = session.client("sqs"), session.client("sns")
    return {
        door: doors.create_queue(sqs, sns, settings.stage, settings.topic_arn, door)[0]
        for door in SANDBOX_DOORS
    }


def ensure_collection(settings: Settings, session: boto3.session.Session) -> None:
    """Create the Rekognition collection at whatever endpoint ``AWS_ENDPOINT_URL_REKOGNITION`` names."""
    from botocore.exceptions import ClientError

    try:
        session.client("rekognition").create_collection(CollectionId=settings.collection_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
            raise


def _user_pool(cognito: CognitoIdentityProviderClient, stage: str) -> tuple[str, str]:
    """The API's users: a pool with groups ``admins`` and ``security`` and one app client."""
    tags = {"facegate-stage": stage}  # as the template tags it: the API's policy names it so
    pool = cognito.create_user_pool(PoolName=f"facegate-{stage}-users", UserPoolTags=tags)
    pool_id = pool["UserPool"]["Id"]
    for group in ("admins", "security"):
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
    client = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"facegate-{stage}-api",
        # SRP for `facegate login`, admin password auth for `sandbox token` and the tests.
        ExplicitAuthFlows=[
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
    )
    return str(pool_id), str(client["UserPoolClient"]["ClientId"])


def _queue_arn(sqs: SQSClient, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])
