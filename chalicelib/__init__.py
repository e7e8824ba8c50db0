"""facegate: face-recognition door access on AWS Chalice (everything a Lambda runs)."""
