"""SCIM 2.0 (RFC 7643/7644): the identity provider creates, suspends and erases employees."""
