"""Adapters: the only code that speaks boto3. Each receives its client or table ready-made."""
