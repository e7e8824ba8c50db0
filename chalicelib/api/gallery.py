"""Routes under /gallery: what the enrolled faces look like to the door policy."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.http import AUTHORIZER, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.enrollment import employees as enrollment

gallery_api = Blueprint(__name__)
requires = route_guard(gallery_api)


@gallery_api.route("/gallery/health", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def gallery_health(actor: Principal) -> dict[str, object]:
    from chalicelib import wiring

    settings = Settings.from_env()
    ports = wiring.api_ports(settings).enrollment
    return enrollment.gallery_health(ports, settings.policy).to_dict()


@gallery_api.route("/gallery/retire-old-model", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def retire_old_model(actor: Principal) -> dict[str, int]:
    from chalicelib import wiring

    ports = wiring.api_ports(Settings.from_env()).enrollment
    return enrollment.retire_old_model(ports, actor.username)
