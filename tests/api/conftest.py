"""An HTTP client on the real Chalice app, with real tokens from local Cognito."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from sandbox.stack import PROJECT_DIR, Stack


@dataclass
class Reply:
    status: int
    json: Any
    headers: dict[str, str]


class Api:
    """Speaks HTTP to the app through Chalice's local gateway, as API Gateway would."""

    def __init__(self, client: Client, stack: Stack) -> None:
        self.client = client
        self.stack = stack
        self.tokens = {group: stack.token(group) for group in ("admins", "security")}

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "admins",
        raw: bytes | None = None,
    ) -> Reply:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        response = getattr(self.client.http, method.lower())(path, headers=headers, body=payload)
        text = response.body.decode() if response.body else ""
        return Reply(response.status_code, json.loads(text) if text else None, dict(response.headers))

    def create(
        self, employee_id: str, name: str = "Avery Stone", *, consent: bool = True, **fields: Any
    ) -> Reply:
        """Create an employee and, unless ``consent=False``, record their consent (as a site
        does before any photo: the stages require it); the reply is the creation's."""
        reply = self.call("POST", "/employees", {"employee_id": employee_id, "name": name, **fields})
        if consent and reply.status == 201:
            self.give_consent(employee_id)
        return reply

    def give_consent(self, employee_id: str) -> Reply:
        body = {"method": "paper", "reference": f"form-{employee_id}"}
        reply = self.call("PUT", f"/employees/{employee_id}/consent", body)
        assert reply.status == 201, reply
        return reply

    def enroll(self, employee_id: str, photo: Path) -> Reply:
        return self.call("POST", f"/employees/{employee_id}/faces", {"image": b64(photo.read_bytes())})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def api(stack: Stack) -> Iterator[Api]:
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, stack)
