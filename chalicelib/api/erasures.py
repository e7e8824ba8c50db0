"""Routes under /erasures: how an employee's erasure job is getting on."""

from __future__ import annotations

import re

from chalice.app import Blueprint

from chalicelib.api.http import AUTHORIZER, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.core.errors import NotFound
from chalicelib.erasure import job as erasure

erasures_api = Blueprint(__name__)
requires = route_guard(erasures_api)
JOB_ID = re.compile(r"[0-9a-f]{32}")


@erasures_api.route("/erasures/{job_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def get_erasure(actor: Principal, job_id: str) -> dict[str, object]:
    from chalicelib import wiring

    settings = Settings.from_env()
    if not JOB_ID.fullmatch(job_id):
        raise NotFound(f"no erasure job {job_id[:40]}")
    return erasure.job_status(job_id, wiring.api_ports(settings).erasure.jobs)
