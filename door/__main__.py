"""``python -m door --queue-url URL --key alias/facegate-prod-decision-signing --door front-door``

Long-polls the door's own queue (``make door-add DOOR=front-door``) and unlocks (here: prints)
for each verified decision for this door.
"""

from __future__ import annotations

import argparse
import logging
import os

from door.controller import DoorController, Unlock
from door.kms import KmsMacVerifier
from door.queue import drain


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m door", description=__doc__)
    parser.add_argument("--queue-url", default=os.environ.get("FACEGATE_DOOR_QUEUE_URL"), required=False)
    parser.add_argument("--key", default=os.environ.get("FACEGATE_SIGNING_KEY"), help="the KMS HMAC key")
    parser.add_argument("--door", required=True, help="this door's id (the access policy's door)")
    parser.add_argument("--once", action="store_true", help="stop when the queue is empty")
    args = parser.parse_args(argv)
    if not args.queue_url or not args.key:
        parser.error("--queue-url and --key (or FACEGATE_DOOR_QUEUE_URL, FACEGATE_SIGNING_KEY) are needed")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=25)
    controller = DoorController(
        KmsMacVerifier(session.client("kms", config=config), args.key), args.door, _unlock
    )
    sqs = session.client("sqs", config=config)
    while True:
        drain(sqs, args.queue_url, controller, wait_seconds=0 if args.once else 20)
        if args.once:
            return


def _unlock(unlock: Unlock) -> None:
    # A real controller drives its lock relay here.
    print(f"door unlocks for {unlock.employee_id} at {unlock.camera_id}", flush=True)


if __name__ == "__main__":
    main()
