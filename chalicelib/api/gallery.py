"""Routes under /gallery: what the enrolled faces look like to the door policy."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.http import AUTHORIZER, json_object, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.core.errors import BadRequest
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

    request = gallery_api.current_request
    if request.raw_body and json_object(request):  # the body is checked like every body: none or {}
        raise BadRequest("this request takes no fields: send {} or no body")
    ports = wiring.api_ports(Settings.from_env()).enrollment
    return enrollment.retire_old_model(ports, actor.username)
