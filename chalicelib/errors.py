"""Domain errors shared by the services; the API maps each to one HTTP status."""

from __future__ import annotations


class NotFound(LookupError):
    """No such employee, face or scan."""


class AlreadyExists(ValueError):
    """An employee with this id exists."""
