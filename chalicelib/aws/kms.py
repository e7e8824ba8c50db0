"""The KMS HMAC key as a ``MessageSigner``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.scanning.signing import ALGORITHM

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


class KmsMessageSigner:
    """Signs with ``kms:GenerateMac``: the key never leaves KMS, and its key policy lets only
    one role generate MACs with it (the decision key: the camera function's; the door
    command key: the API's)."""

    def __init__(self, client: KMSClient, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        response = self._kms.generate_mac(KeyId=self._key_id, Message=message, MacAlgorithm=ALGORITHM)
        return bytes(response["Mac"])
