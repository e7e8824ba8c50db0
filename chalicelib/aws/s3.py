"""The camera bucket as an ``ImageStore``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.core.errors import ObjectGone, ObjectUnreadable, UploadTooLarge
from chalicelib.core.json_text import utf8_json
from chalicelib.core.models import Upload
from chalicelib.core.ports import StoredObject

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectRequestTypeDef, HeadObjectRequestTypeDef

# GetObject answers that a retry can mend though their status may be a 4xx: botocore's
# throttling and transient codes (tests/aws/test_s3_and_sns.py holds the list to botocore's),
# and a clock or a session that the next attempt or invocation corrects.
PASSING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestTimeTooSkewed",
        "RequestExpired",
        "ExpiredToken",
        "ExpiredTokenException",
        "TokenRefreshRequired",
        "InternalError",
        "ServiceUnavailable",
    }
)
PASSING_STATUSES = frozenset({408, 429})


def refusal(error: ClientError, key: str) -> ObjectGone | ObjectUnreadable | None:
    """What a failed GetObject means for good, or None when a retry may mend it.

    Every other 4xx answer is for good: no permission (a KMS key the role may not use
    surfaces as AccessDenied too), an SSE-C object read without its key (InvalidRequest), an
    archived object (InvalidObjectState), a disabled or deleted KMS key, a key S3 cannot hold
    (KeyTooLongError, InvalidArgument). A 404 is gone whatever its code says: moto and S3
    answer a HEAD-like miss with a bare ``404``. 5xx and the codes in ``PASSING`` stay raised."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in ("NoSuchKey", "NoSuchVersion") or status == 404 or code == "404":
        return ObjectGone(f"{key} is not in the bucket")
    if code in PASSING or status in PASSING_STATUSES or not 400 <= status < 500:
        return None
    return ObjectUnreadable(f"the photo may not be read ({code or status})")


class S3ImageStore:
    """Reads uploads (never more than the limit) and writes JSON results."""

    def __init__(self, client: S3Client) -> None:
        self._s3 = client

    def read(self, upload: Upload, max_bytes: int) -> StoredObject:
        from botocore.exceptions import ClientError

        params: GetObjectRequestTypeDef = {"Bucket": upload.bucket, "Key": upload.key}
        if upload.version_id:
            params["VersionId"] = upload.version_id
        try:
            response = self._s3.get_object(**params)
        except ClientError as error:
            refused = refusal(error, upload.key)
            if refused is None:
                raise
            raise refused from None
        body = response["Body"]
        version = response.get("VersionId") or upload.version_id
        try:
            size = int(response.get("ContentLength", 0))
            if size > max_bytes:
                raise UploadTooLarge(f"file too large: {size} bytes, limit {max_bytes}", version)
            data: bytes = body.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise UploadTooLarge(f"file too large: more than {max_bytes} bytes", version)
            modified = response.get("LastModified")  # the pipeline's 60 s rule reads it too
            return StoredObject(
                data,
                version,
                dict(response.get("Metadata", {})),
                modified if isinstance(modified, datetime) and modified.tzinfo else None,
            )
        finally:
            body.close()

    def version(self, upload: Upload) -> str | None:
        params: HeadObjectRequestTypeDef = {"Bucket": upload.bucket, "Key": upload.key}
        if upload.version_id:
            params["VersionId"] = upload.version_id
        version: str | None = self._s3.head_object(**params).get("VersionId") or upload.version_id
        return version

    def delete(self, bucket: str, key: str, version_id: str | None = None) -> None:
        if version_id:
            self._s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
            return
        # No version named: purge every version (a plain delete in a versioned bucket only
        # hides the object behind a delete marker, and erasure must really erase).
        listing = self._s3.list_object_versions(Bucket=bucket, Prefix=key)
        for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
            if entry["Key"] == key:
                self._s3.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])

    def link(self, bucket: str, key: str, version_id: str | None, expires_in: int) -> str:
        params = {"Bucket": bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        # Signed with the caller's credentials: a Lambda role's session credentials end
        # before a long expiry does, and the link with them (see docs/daily-summary.md).
        url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        return url

    def ensure_json(self, bucket: str, key: str, document: dict[str, object]) -> bool:
        return self._create(bucket, key, json_line(document), "application/json")

    def claim(self, bucket: str, key: str) -> bool:
        return self._create(bucket, key, b"", "application/octet-stream")

    def _create(self, bucket: str, key: str, body: bytes, content_type: str) -> bool:
        """``If-None-Match: *``: S3 refuses the put (412) when the key has a current version, and
        answers 409 to the loser of two racing conditional puts; either means someone else has it."""
        from botocore.exceptions import ClientError

        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                return False
            raise
        return True

    def write_json(self, bucket: str, key: str, document: dict[str, object]) -> None:
        """One compact object and a newline: a JSON document and a JSON-lines file at once,
        which Athena's JSON SerDe reads as one record (see ``json_line``)."""
        self._s3.put_object(Bucket=bucket, Key=key, Body=json_line(document), ContentType="application/json")


# Line boundaries to ``str.splitlines`` that ``json.dumps(ensure_ascii=False)`` leaves raw
# (every other one is a control character, which it escapes).
UNICODE_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def json_line(document: dict[str, object]) -> bytes:
    r"""``document`` as one line of UTF-8 JSON ending in ``\n``.

    ``json.dumps`` escapes control characters (``\n``, ``\r``…) inside strings, so an
    uploaded file name or a name from HR holding a line break cannot split the record; the
    Unicode line breaks it leaves raw are escaped too, since readers that split on every line
    boundary (``str.splitlines``) would break the line there."""
    text = utf8_json(document, compact=True)  # a lone surrogate escaped, not a failed put
    for char in UNICODE_LINE_BREAKS:
        text = text.replace(char, f"\\u{ord(char):04x}")
    return (text + "\n").encode()
