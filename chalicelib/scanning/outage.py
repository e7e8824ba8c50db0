"""Security hears once per scan that a scan could not be recorded, however often it is retried.

When the scans table refuses the write, the pipeline raises so that Lambda delivers the
event again (twice more, then the failed-scans queue, then perhaps ``facegate dlq replay``),
and each delivery would alert again. "Already alerted" cannot live in the table that is down,
SNS standard topics have no deduplication, and an asynchronous S3 event carries no attempt
count, so it lives in the camera bucket the photo was just read from: an empty marker
``alerts/unrecorded/<scan-id>`` created with a conditional write (``ImageStore.claim``). The
scan id is the object version's, so one version gives one alert
(``docs/decisions/outage-alerts-once.md``).

Fail closed, towards alerting: a claim S3 cannot answer alerts anyway (twice beats never),
and a publish that fails gives the claim back so the next delivery tries again.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from chalicelib.core.keys import unrecorded_alert_key
from chalicelib.core.models import Reason, Scan, Status
from chalicelib.core.ports import ImageStore, Notifier

log = logging.getLogger(__name__)


def alert_unrecorded(
    scan: Scan, error: Exception, bucket: str, notifier: Notifier, images: ImageStore
) -> None:
    """Tell security, once per scan, that a door event could not be logged (the door stays shut)."""
    marker = unrecorded_alert_key(scan.scan_id)
    try:
        claimed = images.claim(bucket, marker)
    except Exception:
        log.exception("could not mark the alert for unrecorded scan %s: alerting anyway", scan.scan_id)
        claimed = None  # unknown: alert, with nothing to give back
    if claimed is False:
        log.warning("unrecorded scan %s: security was alerted by an earlier delivery", scan.scan_id)
        return
    reason = f"could not record the scan ({describe(error)}); decided {scan.status.value}"
    alert = replace(
        scan,
        decision=replace(scan.decision, status=Status.ERROR, reason=reason, reason_code=Reason.NOT_RECORDED),
    )
    try:
        notifier.publish(alert)
    except Exception:
        log.exception("could not alert about unrecorded scan %s", scan.scan_id)
        if claimed:
            _give_back(images, bucket, marker)


def _give_back(images: ImageStore, bucket: str, marker: str) -> None:
    try:  # every version: a delete marker left behind would not count as "there"
        images.delete(bucket, marker)
    except Exception:  # the next delivery then finds the marker: the Lambda error alarm remains
        log.exception("could not give back the alert marker %s", marker)


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]
