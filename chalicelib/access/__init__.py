"""Door access: the policy (doors, groups, rules, holidays, ``decide_access``), its JSON, its
store's port, the camera's cached policy and the administration services."""
