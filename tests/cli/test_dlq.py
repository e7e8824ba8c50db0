"""`facegate dlq replay` against the sandbox's real queue and Lambda Invoke endpoint: what it
refuses, what it keeps, what it prints, and how it finds a stage."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from facegate_cli.stages import StageNotFound, aws_target
from sandbox.lambda_invoke import LambdaEndpoint
from sandbox.stack import Stack
from tests.cli.conftest import RunCli
from tests.dead_letters import destination_record, queue_depth, replayable, s3_event, send
from tests.faults import FaultInjector, injected, table_is


@pytest.fixture
def functions(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaEndpoint]:
    state_file = tmp_path / "sandbox.json"
    monkeypatch.setenv("FACEGATE_SANDBOX_STATE", str(state_file))
    with replayable(stack, state_file) as endpoint:
        yield endpoint


@pytest.fixture
def event(stack: Stack, photos: Path) -> dict[str, object]:
    """S3's real event for a stranger's photo at the front door (not handled yet)."""
    return s3_event(stack, "front-door", "stranger.jpg", (photos / "biden.jpg").read_bytes())


def _outcomes(out: str) -> list[str]:
    return [row["outcome"] for row in json.loads(out)["messages"]]


@pytest.mark.parametrize(
    "event_time",
    [
        time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600)),  # the 60 s rule would pass
        "not a time",  # the pipeline would take "now"
        "0001-01-02T00:00:00Z",  # a record that would never expire, on a day no report reads
        time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 16 * 86400)),  # past the queue
    ],
    ids=["future", "unreadable", "ancient", "older-than-a-dead-letter"],
)
def test_a_camera_event_with_a_forged_time_is_refused_and_kept(
    stack: Stack, functions: LambdaEndpoint, event: dict[str, object], run_cli: RunCli, event_time: str
) -> None:
    record = destination_record(event)
    record["requestPayload"]["Records"][0]["eventTime"] = event_time
    send(stack, record)

    code, out, err = run_cli("--json", "dlq", "replay")

    assert code == 1, err
    [outcome] = _outcomes(out)
    assert outcome.startswith("refused: ") and "eventTime" in outcome
    assert functions.invocations == [] and queue_depth(stack) == (1, 0)


def test_a_camera_photo_handed_to_the_enrollment_function_is_refused(
    stack: Stack, functions: LambdaEndpoint, event: dict[str, object], run_cli: RunCli
) -> None:
    """The drop folder deletes what it reads: a forged record must not make it take a camera photo."""
    record = destination_record(event)
    arn = str(record["requestContext"]["functionArn"])
    record["requestContext"]["functionArn"] = arn.replace("on_camera_upload", "on_enrollment_upload")
    send(stack, record)

    code, out, _ = run_cli("--json", "dlq", "replay")

    assert code == 1
    [outcome] = _outcomes(out)
    assert outcome.startswith("refused: ") and "outside enroll/" in outcome
    assert functions.invocations == [] and queue_depth(stack) == (1, 0)


@pytest.mark.parametrize("which", ["the only record", "a second record"])
def test_an_event_for_another_bucket_is_refused(
    stack: Stack, functions: LambdaEndpoint, event: dict[str, object], run_cli: RunCli, which: str
) -> None:
    record = destination_record(event)
    records = record["requestPayload"]["Records"]
    if which == "a second record":
        records.append(json.loads(json.dumps(records[0])))
    records[-1]["s3"]["bucket"]["name"] = "someone-elses-bucket"
    send(stack, record)

    code, out, _ = run_cli("--json", "dlq", "replay")

    assert code == 1 and _outcomes(out) == ["refused: names bucket someone-elses-bucket, not the stage's"]
    assert functions.invocations == []


def test_a_replay_that_fails_again_keeps_the_message_says_why_and_can_be_replayed_later(
    stack: Stack, functions: LambdaEndpoint, event: dict[str, object], run_cli: RunCli
) -> None:
    send(stack, destination_record(event))
    still_broken = FaultInjector("dynamodb", "PutItem", "access denied", table_is(stack.settings.scans_table))
    with injected(still_broken):
        code, out, err = run_cli("dlq", "replay")
    assert code == 1, err
    [row] = [line for line in out.splitlines() if "stranger.jpg" in line]
    assert "failed: ScanNotRecorded: scan" in row
    assert out.rstrip().endswith("replayed 0, kept 1 failed")
    assert queue_depth(stack) == (1, 0)  # back in the queue at once, not after 5 minutes

    code, out, err = run_cli("dlq", "replay")
    assert code == 0, err
    assert out.rstrip().endswith("replayed 1") and functions.invocations == ["on_camera_upload"] * 2
    assert queue_depth(stack) == (0, 0)


def test_limit_and_dry_run(
    stack: Stack, functions: LambdaEndpoint, event: dict[str, object], run_cli: RunCli
) -> None:
    first, second = send(stack, destination_record(event)), send(stack, destination_record(event))

    code, out, _ = run_cli("--json", "dlq", "replay", "--dry-run", "--limit", "1")
    assert code == 0
    [row] = json.loads(out)["messages"]
    assert row["message_id"] in (first, second) and row["outcome"] == "would replay"
    assert queue_depth(stack) == (2, 0)

    code, out, _ = run_cli("--json", "dlq", "replay", "--dry-run")
    assert sorted(row["message_id"] for row in json.loads(out)["messages"]) == sorted([first, second])
    assert functions.invocations == [] and queue_depth(stack) == (2, 0)


def test_text_from_the_record_reaches_the_terminal_without_control_characters(
    stack: Stack, functions: LambdaEndpoint, event: dict[str, object], run_cli: RunCli
) -> None:
    record = destination_record(event, arn="arn:aws:lambda:us-east-1:123456789012:function:x\x1b[2J")
    record["responsePayload"]["errorMessage"] = "\x1b]0;owned\x07\x1b[31m" + "x" * 10_000
    send(stack, record)

    code, out, _ = run_cli("dlq", "replay", "--dry-run")

    assert code == 1 and "\x1b" not in out and "\x07" not in out
    assert "refused: not one of this stage's S3-triggered functions" in out
    assert max(len(line) for line in out.splitlines()) < 700  # a long message is cut short


def test_without_a_running_sandbox_it_says_how_to_start_one(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEGATE_SANDBOX_STATE", str(tmp_path / "none.json"))
    code, _, err = run_cli("dlq", "replay")
    assert code == 2 and "no sandbox is running" in err and "sandbox up" in err


def test_a_deployed_stage_is_reached_with_the_callers_credentials(
    stack: Stack, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # boto3's own chain: here the tests' local AWS (AWS_ENDPOINT_URL), which has no prod queue.
    monkeypatch.setenv("FACEGATE_REGION", "us-east-1")
    code, _, err = run_cli("--stage", "prod", "dlq", "replay")
    assert code == 2 and "stage 'prod' has no queue facegate-prod-failed-scans in us-east-1" in err


def test_a_deployed_stage_is_found_from_the_project(tmp_path: Path) -> None:
    target = aws_target("prod", environ={})
    assert (target.stage, target.bucket, target.local) == ("prod", "facegate-prod-camera-123456789012", False)
    assert target.lambda_endpoint is None and target.sqs_endpoint is None  # AWS itself
    with pytest.raises(StageNotFound, match="no sandbox is running"):
        aws_target("sandbox", environ={"FACEGATE_SANDBOX_STATE": str(tmp_path / "none.json")})


@pytest.fixture
def cli_fault() -> Iterator[Callable[[FaultInjector], None]]:
    """Attach a fault to the clients the CLI builds (boto3's default session, not the app's)."""
    import boto3

    session = boto3._get_default_session()
    attached: list[tuple[str, Callable[..., Any]]] = []

    def attach(injector: FaultInjector) -> None:
        event = f"before-send.{injector.service}.{injector.operation}"
        handler: Callable[..., Any] = injector  # a before-send handler answers; the stubs say -> None
        session.events.register(event, handler)
        attached.append((event, handler))

    yield attach
    for event, handler in attached:
        session.events.unregister(event, handler)


def test_a_queue_that_stops_answering_is_reported_without_a_traceback(
    stack: Stack,
    functions: LambdaEndpoint,
    event: dict[str, object],
    run_cli: RunCli,
    cli_fault: Callable[[FaultInjector], None],
) -> None:
    send(stack, destination_record(event))
    cli_fault(FaultInjector("sqs", "ReceiveMessage", "timeout"))

    code, out, err = run_cli("dlq", "replay")

    assert code == 1 and "Traceback" not in err
    assert "facegate: stopped reading facegate-sandbox-failed-scans: Read timeout" in err
    assert out == ""  # nothing was read, nothing done
    assert functions.invocations == [] and queue_depth(stack) == (1, 0)


def test_the_replayable_functions_are_the_ones_deploy_gives_the_dead_letter_queue() -> None:
    """The CLI imports nothing of ours, so its copy of the list is held to infra's here."""
    from chalicelib.core.keys import DOOR_EVENTS_PREFIX, ENROLL_PREFIX, INCOMING_PREFIX
    from facegate_cli.dead_letters import FUNCTION_PREFIXES, FUNCTIONS
    from infra.invocations import ASYNC_FUNCTIONS

    assert FUNCTIONS == ASYNC_FUNCTIONS == tuple(FUNCTION_PREFIXES)
    assert FUNCTION_PREFIXES == {
        "on_camera_upload": INCOMING_PREFIX,
        "on_enrollment_upload": ENROLL_PREFIX,
        "on_door_event": DOOR_EVENTS_PREFIX,
    }
