"""Where a stage's API and user pool are: the running sandbox, or a deployed stage.

``sandbox``: the state file ``python -m sandbox up`` writes (``FACEGATE_SANDBOX_STATE``, by
default ``.cache/sandbox.json`` in the project). A deployed stage: its API URL from
``.chalice/deployed/<stage>.json`` (written by ``chalice deploy``) and its pool from the
stage's environment in ``.chalice/config.json`` (written by ``make deploy`` from the stack's
outputs). ``FACEGATE_API_URL``, ``FACEGATE_USER_POOL_ID``, ``FACEGATE_USER_POOL_CLIENT_ID``
and ``FACEGATE_REGION`` override either, for an admin without the project checkout.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SANDBOX = "sandbox"


class StageNotFound(Exception):
    """The stage's API or pool cannot be found; the message says what to do."""


@dataclass(frozen=True)
class Stage:
    """Everything the CLI needs to reach one stage."""

    name: str
    api_url: str  # no trailing slash
    region: str
    user_pool_id: str
    client_id: str
    cognito_endpoint: str | None = None  # the sandbox's local AWS; None for real Cognito


def sandbox_state_file(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("FACEGATE_SANDBOX_STATE", PROJECT_DIR / ".cache" / "sandbox.json"))


def default_stage(environ: Mapping[str, str] = os.environ) -> str:
    """``FACEGATE_STAGE_NAME``, else ``sandbox`` (the one stage found without flags)."""
    return environ.get("FACEGATE_STAGE_NAME", SANDBOX)


def resolve(name: str, environ: Mapping[str, str] = os.environ, project: Path = PROJECT_DIR) -> Stage:
    """The stage called ``name``; ``StageNotFound`` with a hint when it is not reachable."""
    found = _sandbox(environ) if name == SANDBOX else _deployed(name, project)
    overrides = {
        "api_url": environ.get("FACEGATE_API_URL"),
        "user_pool_id": environ.get("FACEGATE_USER_POOL_ID"),
        "client_id": environ.get("FACEGATE_USER_POOL_CLIENT_ID"),
        "region": environ.get("FACEGATE_REGION"),
    }
    values = {**found, **{key: value for key, value in overrides.items() if value}}
    missing = [key for key in ("api_url", "user_pool_id", "client_id") if not values.get(key)]
    if missing:
        raise StageNotFound(f"stage {name!r}: {', '.join(missing)} unknown ({_hint(name)})")
    api_url = str(values["api_url"]).rstrip("/")
    if not _safe_url(api_url):
        raise StageNotFound(
            f"stage {name!r}: the API URL {api_url} is not https: the token would travel in clear "
            "(only a loopback address, as the sandbox's, may use http)"
        )
    return Stage(
        name=name,
        api_url=api_url,
        region=str(values.get("region") or "us-east-1"),
        user_pool_id=str(values["user_pool_id"]),
        client_id=str(values["client_id"]),
        cognito_endpoint=values.get("cognito_endpoint"),
    )


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _safe_url(url: str) -> bool:
    """https, or http to this machine (the sandbox): a bearer token must not cross a network in clear."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


def _sandbox(environ: Mapping[str, str]) -> dict[str, str | None]:
    state_file = sandbox_state_file(environ)
    if not state_file.exists():
        return {}
    state = json.loads(state_file.read_text())
    return {
        "api_url": state.get("api_url"),
        "user_pool_id": state.get("user_pool_id"),
        "client_id": state.get("user_pool_client_id"),
        "cognito_endpoint": state.get("aws_endpoint"),
        "region": "us-east-1",
    }


def _deployed(name: str, project: Path) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    config = project / ".chalice" / "config.json"
    if config.exists():
        stages = json.loads(config.read_text()).get("stages", {})
        variables = stages.get(name, {}).get("environment_variables", {})
        found["user_pool_id"] = variables.get("FACEGATE_USER_POOL_ID")
        found["client_id"] = variables.get("FACEGATE_USER_POOL_CLIENT_ID")
        pool = found["user_pool_id"] or ""
        found["region"] = pool.split("_", 1)[0] if "_" in pool else None
    deployed = project / ".chalice" / "deployed" / f"{name}.json"
    if deployed.exists():
        for resource in json.loads(deployed.read_text()).get("resources", []):
            if resource.get("resource_type") == "rest_api":
                found["api_url"] = resource.get("rest_api_url")
    return found


def _hint(name: str) -> str:
    if name == SANDBOX:
        return "start one with `.venv/bin/python -m sandbox up`"
    return f"deploy it with `make deploy STAGE={name}`, or set FACEGATE_API_URL and the pool's ids"


@dataclass(frozen=True)
class AwsTarget:
    """What ``facegate dlq`` reaches with AWS credentials rather than the API: the stage's
    failed-scans queue and its S3-triggered functions, in its region."""

    stage: str  # the stage's resources are named facegate-<stage>-…
    region: str | None  # None: boto3's own (AWS_REGION, the profile), filled in once resolved
    bucket: str | None  # the stage's camera bucket, when known: replayed events must name it
    sqs_endpoint: str | None = None  # the sandbox's local AWS; None for AWS
    lambda_endpoint: str | None = None  # the sandbox's local Lambda Invoke endpoint
    local: bool = False  # the sandbox: its throwaway credentials, not the admin's
    account: str | None = None  # the account of the stage's queue, once its URL is known


def account_in(queue_url: str) -> str | None:
    """The account an SQS queue URL names (``https://sqs.<region>.amazonaws.com/<account>/<name>``,
    or the local AWS's ``http://host:port/<account>/<name>``), or None when it names none."""
    parts = urllib.parse.urlsplit(queue_url).path.strip("/").split("/")
    if len(parts) != 2 or not (len(parts[0]) == 12 and parts[0].isascii() and parts[0].isdigit()):
        return None
    return parts[0]


def aws_target(name: str, environ: Mapping[str, str] = os.environ, project: Path = PROJECT_DIR) -> AwsTarget:
    """The stage ``name`` as the admin's AWS credentials reach it; ``StageNotFound`` for a
    sandbox that is not running. ``AWS_ENDPOINT_URL_LAMBDA`` (boto3's own) wins everywhere."""
    region = environ.get("FACEGATE_REGION")
    if name != SANDBOX:
        deployed = _deployed(name, project)
        config = project / ".chalice" / "config.json"
        stages = json.loads(config.read_text()).get("stages", {}) if config.exists() else {}
        bucket = environ.get("FACEGATE_CAMERA_BUCKET") or stages.get(name, {}).get(
            "environment_variables", {}
        ).get("FACEGATE_CAMERA_BUCKET")
        return AwsTarget(name, region or deployed.get("region"), bucket)
    state_file = sandbox_state_file(environ)
    if not state_file.exists():
        raise StageNotFound(f"stage {name!r}: no sandbox is running ({_hint(name)})")
    state = json.loads(state_file.read_text())
    lambda_endpoint = environ.get("AWS_ENDPOINT_URL_LAMBDA") or state.get("lambda_endpoint")
    if not lambda_endpoint or not state.get("aws_endpoint"):
        raise StageNotFound(f"stage {name!r}: the sandbox has no Lambda endpoint (restart `sandbox up`)")
    return AwsTarget(
        stage=str(state.get("stage") or SANDBOX),
        region=region or "us-east-1",
        bucket=state.get("bucket"),
        sqs_endpoint=str(state["aws_endpoint"]),
        lambda_endpoint=str(lambda_endpoint),
        local=True,
    )
