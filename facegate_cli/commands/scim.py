"""``facegate scim token``: issue the identity provider's SCIM token (shown once)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from facegate_cli.commands.common import command
from facegate_cli.context import Context


def register(subcommands: Any) -> None:
    scim = subcommands.add_parser("scim", help="provisioning from the identity provider (SCIM 2.0)")
    actions = scim.add_subparsers(dest="action", required=True)
    token = command(
        actions, "token", "issue a new SCIM token for the identity provider; the one before stops working"
    )
    token.set_defaults(run=issue_token)


def issue_token(args: argparse.Namespace, context: Context) -> int:
    """Print the token and the SCIM base URL to paste into Okta or Entra ID; the API keeps only
    its hash, so this is the only time it is shown."""
    issued = context.client.post("/scim/token")
    shown = {"scim_url": context.client.base_url + issued["scim_base_path"], "token": issued["token"]}
    context.show(shown, ["scim_url", "token"])
    print(
        "Shown once: paste it into the identity provider now (the API keeps only its hash).", file=sys.stderr
    )
    return 0
