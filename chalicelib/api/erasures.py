"""Routes under /erasures: how an employee's erasure job is getting on."""

from __future__ import annotations

import re

from chalice.app import Blueprint

from chalicelib import erasure
from chalicelib.api.http import AUTHORIZER, caller, json_errors
from chalicelib.auth import ADMINS
from chalicelib.config import Settings
from chalicelib.errors import NotFound

erasures_api = Blueprint(__name__)
JOB_ID = re.compile(r"[0-9a-f]{32}")


@erasures_api.route("/erasures/{job_id}", methods=["GET"], authorizer=AUTHORIZER)
@json_errors
def get_erasure(job_id: str) -> dict[str, object]:
    from chalicelib import wiring

    settings = Settings.from_env()
    caller(erasures_api.current_request, settings, ADMINS)
    if not JOB_ID.fullmatch(job_id):
        raise NotFound(f"no erasure job {job_id[:40]}")
    return erasure.job_status(job_id, wiring.erasure_ports(settings).jobs)
