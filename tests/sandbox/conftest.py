"""A boto3 client on the sandbox's Rekognition endpoint that checks every answer against botocore's model."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.rekognition import RekognitionEndpoint

Checked = list[str]  # the operations whose answers were validated


def check_response(operation: str, parsed: dict[str, Any]) -> None:
    """Fail unless ``parsed`` (without ResponseMetadata) fits the operation's output shape."""
    from botocore.validate import ParamValidator

    from sandbox.rekognition.wire import operation_model

    shape = operation_model(operation).output_shape
    body = {key: value for key, value in parsed.items() if key != "ResponseMetadata"}
    assert shape is not None
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), f"{operation} answered off-model:\n{report.generate_report()}"


def client_for(url: str, checked: Checked, **config: Any) -> Any:
    """A boto3 client on ``url``, retrying as wiring does; each 200 answer goes through ``check_response``."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "rekognition",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}, **config),
    )

    def validate(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if http_response.status_code == 200:
            check_response(model.name, parsed)
            checked.append(model.name)

    client.meta.events.register("after-call.rekognition", validate)
    return client


@pytest.fixture(scope="module")
def endpoint() -> Iterator[RekognitionEndpoint]:
    """One endpoint per module (the dlib models load once); tests use collections of their own."""
    with RekognitionEndpoint() as served:
        yield served


@pytest.fixture
def checked() -> Checked:
    return []


@pytest.fixture
def client(endpoint: RekognitionEndpoint, checked: Checked) -> Any:
    return client_for(endpoint.url, checked)


@pytest.fixture
def unvalidated(endpoint: RekognitionEndpoint, checked: Checked) -> Any:
    """A client that sends what it is given: the endpoint's own validation answers."""
    return client_for(endpoint.url, checked, parameter_validation=False)


@pytest.fixture
def collection(client: Any) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    client.create_collection(CollectionId=name)
    yield name
    client.delete_collection(CollectionId=name)


@pytest.fixture(scope="session")
def image_bytes(photos: Path) -> Callable[[str], bytes]:
    """``image_bytes("obama.jpg")``, and altered photos: ``blurred``, ``dark``, ``small-face``."""
    from PIL import Image, ImageFilter

    def encode(image: Any) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()

    def load(name: str) -> bytes:
        if (photos / name).exists():
            return (photos / name).read_bytes()
        source = Image.open(photos / "obama.jpg").convert("RGB")
        if name == "blurred":
            return encode(source.filter(ImageFilter.GaussianBlur(8)))  # sharpness ≈ 4
        if name == "dark":
            return encode(source.point(lambda value: value // 8))  # brightness ≈ 7, sharpness ≈ 14
        assert name == "small-face"  # an 87 px face in a 1280 px frame: 6.8 % of its side
        canvas = Image.new("RGB", (1280, 1280), (128, 128, 128))
        canvas.paste(source.resize((source.width // 3, source.height // 3)), (500, 400))
        return encode(canvas)

    return load
