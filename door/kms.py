"""The signing key's MAC check (``kms:VerifyMac``): the door never holds the key itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

ALGORITHM: Final = "HMAC_SHA_256"  # Final: a Literal for KMS's MacAlgorithm


class KmsMacVerifier:
    """Verifies with the one key the door is configured with, never a key the message names."""

    def __init__(self, client: KMSClient, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id

    def verify(self, message: bytes, mac: bytes) -> bool:
        if not mac or len(message) > 4096:  # VerifyMac's limits; such a message was never signed
            return False
        try:
            response = self._kms.verify_mac(
                KeyId=self._key_id, Message=message, MacAlgorithm=ALGORITHM, Mac=mac
            )
        except self._kms.exceptions.KMSInvalidMacException:
            return False
        return response.get("MacValid") is True
