"""Who calls the API: bearer tokens verified against the user pool, and the groups they grant.
Below the HTTP layer so the composition root can build the verifier without importing routes."""
