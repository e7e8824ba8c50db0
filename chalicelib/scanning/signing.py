"""Signed door decisions: what the MAC covers and how it travels in the message body.

Anyone allowed to publish to the decisions topic could otherwise announce an AUTHORIZED
that looks exactly like a real one. The camera function signs the decision's claims with a
KMS HMAC key only it may use; a door controller verifies the MAC (``kms:VerifyMac``) over
the exact payload string it receives, then trusts only the fields inside that payload.

Body of the machine-readable message (``sqs``/``lambda``/``http`` protocols)::

    {..., "signature": {"algorithm": "HMAC_SHA_256", "key_id": "...",
                        "payload": "<canonical JSON of the claims>", "mac": "<base64>"}}

The payload travels as the signed string itself, so a verifier needs no canonicalisation
of its own: it verifies those bytes and then parses them.
"""

from __future__ import annotations

import base64
import json
from typing import Final

from chalicelib.core.errors import SigningFailed
from chalicelib.core.models import Scan
from chalicelib.core.ports import MessageSigner

# /2: the claims name the door the decision is for (/1 had only the camera, and a door
# trusted its own list of cameras).
VERSION = "facegate-decision/2"
ALGORITHM: Final = "HMAC_SHA_256"  # Final: a Literal for KMS's MacAlgorithm


def claims_for(scan: Scan, key_id: str) -> dict[str, str]:
    """What a door needs to decide, and nothing a door should trust from outside the MAC."""
    return {
        "v": VERSION,
        "scan_id": scan.scan_id,
        "status": scan.status.value,
        "camera_id": scan.camera_id,
        "door_id": door_of(scan),
        "employee_id": scan.decision.employee_id or "",
        "captured_at": scan.captured_at,
        "decided_at": scan.processed_at,
        "key_id": key_id,
    }


def door_of(scan: Scan) -> str:
    """The door ``scan`` was decided for (a camera on no door is a door of its own)."""
    return scan.decision.door_id or scan.camera_id


def canonical(claims: dict[str, str]) -> str:
    """Sorted keys, no insignificant whitespace, ASCII only: the same claims, the same bytes."""
    return json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def signature_for(scan: Scan, signer: MessageSigner) -> dict[str, str]:
    """The ``signature`` block of ``scan``'s message body."""
    payload = canonical(claims_for(scan, signer.key_id))
    try:
        mac = signer.sign(payload.encode("ascii"))
    except Exception as error:
        raise SigningFailed(f"could not sign scan {scan.scan_id}: {type(error).__name__}: {error}") from error
    return {
        "algorithm": ALGORITHM,
        "key_id": signer.key_id,
        "payload": payload,
        "mac": base64.b64encode(mac).decode("ascii"),
    }
