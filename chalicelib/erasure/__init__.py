"""Erasing an employee: the asynchronous job, its idempotent steps and its queue messages."""
