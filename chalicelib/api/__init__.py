"""The HTTP API as Chalice blueprints: thin routes over the enrollment and lookup services."""
