"""``facegate dlq replay`` reads the queue to its end whatever the run's length: a message
kept earlier that comes back (its visibility timeout over) is skipped, not taken for the end,
and is made visible again with the receipt handle SQS gave last. Against a scripted queue:
SQS's timing is what is under test, and no local SQS lets a test move its clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from facegate_cli.commands.dlq import QueueReader


class ScriptedQueue:
    """Answers each ReceiveMessage with the next scripted batch (then nothing), and records
    which receipt handles were made visible again."""

    def __init__(self, *batches: Sequence[tuple[str, str]]) -> None:
        self.batches = [list(batch) for batch in batches]
        self.receives = 0
        self.released: list[str] = []

    def receive_message(self, **params: Any) -> dict[str, Any]:
        self.receives += 1
        batch = self.batches.pop(0) if self.batches else []
        assert len(batch) <= params["MaxNumberOfMessages"]
        return {"Messages": [{"MessageId": mid, "ReceiptHandle": handle} for mid, handle in batch]}

    def change_message_visibility_batch(self, **params: Any) -> dict[str, Any]:
        self.released += [entry["ReceiptHandle"] for entry in params["Entries"]]
        return {"Successful": [], "Failed": []}


def test_a_kept_message_that_comes_back_does_not_end_the_run_before_the_others() -> None:
    # A was kept (its replay failed); the run outlasted A's visibility timeout, so A comes back
    # before B and C were read.
    queue = ScriptedQueue([("A", "a-1")], [("A", "a-2")], [("B", "b-1")], [("C", "c-1")])
    reader = QueueReader(queue, "q", visibility=300, limit=None, batch=1)  # type: ignore[arg-type]

    read = [message["MessageId"] for message in reader.messages()]

    assert read == ["A", "B", "C"]  # each once, and none left unread
    assert reader.stopped_early is None
    reader.release(["A", "C"])
    assert queue.released == ["a-2", "c-1"]  # A's newest handle: SQS refuses the first one now


def test_the_run_ends_on_an_empty_receive_or_at_the_limit() -> None:
    queue = ScriptedQueue([("A", "a-1"), ("B", "b-1")], [("C", "c-1")])
    assert [m["MessageId"] for m in QueueReader(queue, "q", 30, None, 10).messages()] == ["A", "B", "C"]  # type: ignore[arg-type]
    assert queue.receives == 3

    queue = ScriptedQueue([("A", "a-1")], [("B", "b-1")], [("C", "c-1")])
    assert [m["MessageId"] for m in QueueReader(queue, "q", 300, 2, 1).messages()] == ["A", "B"]  # type: ignore[arg-type]
    assert queue.receives == 2  # the limit reached: no third receive


def test_a_queue_that_only_ever_returns_messages_already_read_stops_the_run_and_says_so() -> None:
    queue = ScriptedQueue(*([("A", "a-1")] for _ in range(100)))
    reader = QueueReader(queue, "q", visibility=300, limit=None, batch=1)  # type: ignore[arg-type]
    assert [m["MessageId"] for m in reader.messages()] == ["A"]
    assert reader.stopped_early == "stopped: the queue keeps returning messages already read"
    assert queue.receives < 20
