"""The erasure queue's message: a job id, as JSON. The queue adapter writes it and the
worker reads it, so the format lives with the feature, not with either end."""

from __future__ import annotations

import json

from chalicelib.core.json_text import strict_json


def erasure_message(job_id: str) -> str:
    """The body of the queue message that hands ``job_id`` to the erasure worker."""
    return json.dumps({"job_id": job_id})


def job_id_of(body: str) -> str:
    """The job id of a queue message's body; ``ValueError`` for anything else."""
    message = strict_json(body)  # a key named twice: not a message the API wrote
    if not isinstance(message, dict) or not isinstance(message.get("job_id"), str):
        raise ValueError("not an erasure message")
    return str(message["job_id"])
