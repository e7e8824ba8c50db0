"""The AWS resources a stage needs, created in the sandbox's local AWS (moto)."""

from __future__ import annotations

from typing import Any

from chalicelib.config import Settings

ON_DEMAND = {"BillingMode": "PAY_PER_REQUEST"}


def _index(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def table_definitions(settings: Settings) -> list[dict[str, Any]]:
    """CreateTable requests for the scans, employees and faces tables."""
    strings = lambda *names: [{"AttributeName": n, "AttributeType": "S"} for n in names]  # noqa: E731
    return [
        {
            "TableName": settings.scans_table,
            "KeySchema": [{"AttributeName": "scan_id", "KeyType": "HASH"}],
            "AttributeDefinitions": strings("scan_id", "day", "captured_at", "employee_id"),
            "GlobalSecondaryIndexes": [
                _index("by_day", "day", "captured_at"),
                _index("by_employee", "employee_id", "captured_at"),
            ],
            **ON_DEMAND,
        },
        {
            "TableName": settings.employees_table,
            "KeySchema": [{"AttributeName": "employee_id", "KeyType": "HASH"}],
            "AttributeDefinitions": strings("employee_id"),
            **ON_DEMAND,
        },
        {
            "TableName": settings.audit_table,
            "KeySchema": [
                {"AttributeName": "target", "KeyType": "HASH"},
                {"AttributeName": "entry", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": strings("target", "entry"),
            **ON_DEMAND,
        },
        {
            "TableName": settings.faces_table,
            "KeySchema": [
                {"AttributeName": "employee_id", "KeyType": "HASH"},
                {"AttributeName": "face_id", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": strings("employee_id", "face_id"),
            **ON_DEMAND,
        },
    ]


def create_resources(settings: Settings, session: Any) -> dict[str, str]:
    """Create bucket, tables, topic and queues; return the names the stack wires together.

    S3 notifies an SQS queue (the event pump reads it, as Lambda's trigger would), and an
    observer queue subscribes to the topic so the sandbox can show every notification.
    """
    s3 = session.client("s3")
    dynamodb = session.client("dynamodb")
    sns = session.client("sns")
    sqs = session.client("sqs")
    for definition in table_definitions(settings):
        dynamodb.create_table(**definition)
    dynamodb.update_time_to_live(
        TableName=settings.scans_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    topic_arn = sns.create_topic(Name=settings.topic_arn.rsplit(":", 1)[-1])["TopicArn"]
    uploads_url = sqs.create_queue(QueueName=f"facegate-{settings.stage}-uploads")["QueueUrl"]
    observer_url = sqs.create_queue(QueueName=f"facegate-{settings.stage}-observer")["QueueUrl"]
    uploads_arn = _queue_arn(sqs, uploads_url)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, observer_url))
    s3.create_bucket(Bucket=settings.camera_bucket)
    s3.put_bucket_versioning(Bucket=settings.camera_bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=settings.camera_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": uploads_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": settings.incoming_prefix}]}
                    },
                }
            ]
        },
    )
    if settings.report.sender:  # SES sends only from verified identities
        session.client("ses").verify_email_identity(EmailAddress=settings.report.sender)
    pool_id, client_id = _user_pool(session.client("cognito-idp"), settings.stage)
    return {
        "topic_arn": topic_arn,
        "uploads_queue": uploads_url,
        "observer_queue": observer_url,
        "user_pool_id": pool_id,
        "user_pool_client_id": client_id,
    }


def _user_pool(cognito: Any, stage: str) -> tuple[str, str]:
    """The API's users: a pool with groups ``admins`` and ``security`` and one app client."""
    pool_id = cognito.create_user_pool(PoolName=f"facegate-{stage}-users")["UserPool"]["Id"]
    for group in ("admins", "security"):
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
    client = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"facegate-{stage}-api",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    return str(pool_id), str(client["UserPoolClient"]["ClientId"])


def ensure_collection(settings: Settings, session: Any) -> None:
    """Create the Rekognition collection at whatever endpoint ``AWS_ENDPOINT_URL_REKOGNITION`` names."""
    from botocore.exceptions import ClientError

    try:
        session.client("rekognition").create_collection(CollectionId=settings.collection_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
            raise


def _queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])
