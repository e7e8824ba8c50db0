"""Every route but GET /health needs a token: checked from the app's route table, by calling it.

The checker is shown to catch a deliberately open route on a throwaway app, so a route added
without ``@requires(...)`` fails here rather than shipping open.
"""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Blueprint, Chalice
from chalice.test import Client

from app import app
from chalicelib.api.http import json_errors, required_groups, route_guard
from chalicelib.auth.tokens import ADMINS, SECURITY, Principal
from sandbox.stack import PROJECT_DIR, Stack

OPEN = [("/health", "GET")]


def answers_without_a_token(chalice_app: Chalice, **client_options: Any) -> dict[tuple[str, str], int]:
    """Every route and method of ``chalice_app``, called with no token: the status it answers."""
    answers = {}
    with Client(chalice_app, **client_options) as client:
        for path, methods in chalice_app.routes.items():
            concrete = re.sub(r"\{[^}]+\}", "E1", path)
            for method in methods:
                response = getattr(client.http, method.lower())(
                    concrete, headers={"Content-Type": "application/json"}, body=b"{}"
                )
                answers[(path, method)] = response.status_code
    return answers


def open_routes(chalice_app: Chalice, **client_options: Any) -> list[tuple[str, str]]:
    """Routes that answer anything but 401 without a token, or that record no groups."""
    answers = answers_without_a_token(chalice_app, **client_options)
    unguarded = {
        (path, method)
        for path, methods in chalice_app.routes.items()
        for method, entry in methods.items()
        if required_groups(entry.view_function) is None
    }
    return sorted({route for route, status in answers.items() if status != 401} | unguarded)


def test_every_route_but_health_answers_401_without_a_token(stack: Stack) -> None:
    assert open_routes(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) == OPEN


def test_writes_need_admins_and_reads_admins_or_security() -> None:
    groups = {
        (path, method): required_groups(entry.view_function)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if (path, method) not in OPEN and not path.startswith("/scim/v2")
    }
    # /scim/v2 takes the SCIM token alone (tests/api/test_scim.py), never a Cognito group
    scim = {
        required_groups(e.view_function)
        for p, m in app.routes.items()
        if p.startswith("/scim/v2")
        for e in m.values()
    }
    assert scim == {("scim",)}
    # an erasure job's progress is for the admins who started it
    writes = {route for route in groups if route[1] != "GET" and route[0] != "/recognize"}
    writes |= {("/erasures/{job_id}", "GET")}
    # the gallery health job names employees whose faces confuse the door
    writes |= {("/gallery/health", "GET"), ("/gallery/health/{job_id}", "GET")}
    writes |= {("/faces/pending", "GET")}  # held drop-folder photos: the admins' to decide
    writes |= {("/faces/allowed-pairs", "GET")}  # who may look alike: the admins' override
    writes |= {("/employees/{employee_id}/consent", "GET"), ("/consents", "GET")}  # consent: the admins'
    # the access policy is the admins' (security asks about one employee: /employees/{id}/access)
    policy = ("/doors", "/access-groups", "/access-rules", "/holidays")
    writes |= {route for route in groups if route[1] == "GET" and route[0].startswith(policy)}
    # remote unlock and lockdown: security acts on a door as admins do (issue 27), and sees its lockdown
    writes -= {
        route for route in groups if route[0] in ("/doors/{door_id}/unlock", "/doors/{door_id}/lockdown")
    }
    assert writes and all(groups[route] == (ADMINS,) for route in writes), groups
    assert all(groups[route] == (ADMINS, SECURITY) for route in set(groups) - writes), groups


def test_the_checker_catches_a_deliberately_open_route() -> None:
    throwaway = Chalice(app_name="throwaway")
    throwaway.register_middleware(json_errors, "http")  # as app.py does: guard failures are 401s
    routes = Blueprint(__name__)
    requires = route_guard(routes)

    @routes.route("/guarded/{item}", methods=["GET", "DELETE"])
    @requires(ADMINS)
    def guarded(actor: Principal, item: str) -> dict[str, str]:
        return {"item": item, "by": actor.username}

    @routes.route("/forgotten/{item}", methods=["POST"])
    def forgotten(item: str) -> dict[str, str]:  # no @requires: open to anyone
        return {"item": item}

    @routes.route("/looks-guarded", methods=["GET"])
    def looks_guarded() -> dict[str, str]:  # groups recorded by hand, but nothing checks them
        return {}

    looks_guarded.required_groups = (ADMINS,)  # chalice is untyped: the view is Any
    throwaway.register_blueprint(routes)
    assert open_routes(throwaway) == [("/forgotten/{item}", "POST"), ("/looks-guarded", "GET")]


def test_api_gateways_authorizer_takes_access_tokens_on_every_guarded_route() -> None:
    """Without a scope, API Gateway's Cognito authorizer takes only id tokens, which we refuse."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, app\n"
        "from chalice.deploy.swagger import SwaggerGenerator\n"
        "arn = 'arn:aws:lambda:us-east-1:123456789012:function:api'\n"
        "doc = SwaggerGenerator('us-east-1', {'api_handler_arn': arn}).generate_swagger(app.app)\n"
        "print(json.dumps({f'{m.upper()} {p}': o.get('security') for p, ops in doc['paths'].items()"
        " for m, o in ops.items() if m != 'options'}))\n"
    )
    pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_example"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "FACEGATE_USER_POOL_ARN": pool},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    security = json.loads(result.stdout.strip().splitlines()[-1])
    assert security.pop("GET /health") is None
    # /scim/v2 has no Cognito authorizer: API Gateway would refuse the SCIM token before our guard
    scim = {
        route: security.pop(route) for route in list(security) if route.split(" ")[1].startswith("/scim/v2")
    }
    assert scim and all(value is None for value in scim.values()), scim
    assert security and all(
        value == [{"facegate-users": ["aws.cognito.signin.user.admin"]}] for value in security.values()
    ), security
