"""``facegate``: the admin command line. It talks to a stage's HTTP API (and its Cognito
pool to log in), never to the stage's tables or bucket: what an admin may do is what the
API lets them do."""
