"""An outside attacker's findings on the access table as the camera reads it: each test failed
on the code it was written against (the comment above it says what was wrong)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib import wiring
from chalicelib.access.control import CurrentPolicy
from chalicelib.access.policy import DEFAULT_RULE, Effect, Rule, decide_access, entry_key
from chalicelib.aws.access import VERSION_KEY
from sandbox.stack import Stack


# Opened every door: with the version item gone (an operator's delete, a partial copy of the
# table) the stored rules are ignored and the built-in "everyone, every door, always" is back.
def test_entries_without_a_version_item_never_read_as_the_built_in_rule(stack: Stack) -> None:
    store = wiring.access_store(stack.settings)
    staff_only = Rule("staff-front", Effect.GRANT, frozenset({"front"}), groups=frozenset({"staff"}))
    assert store.commit("", put=[staff_only], delete=[entry_key(DEFAULT_RULE)])
    wiring.table(stack.settings.access_table).delete_item(Key=VERSION_KEY)
    access = CurrentPolicy(store, stack.settings.timezone)
    try:
        policy = access.get()
    except Exception:
        return  # unreadable: every scan is an ERROR and the door stays shut, which is fine
    outsider = decide_access(policy, "E9", frozenset(), "server-room", datetime.now(UTC))
    assert not outsider.allowed, outsider
