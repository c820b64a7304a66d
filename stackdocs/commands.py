"""Small sub-commands of the CLI that hand over to bridge/ or sprite/."""

from __future__ import annotations

import argparse
import sys


def mint_token(args: argparse.Namespace) -> int:
    print(
        "stackdocs token: not yet available (the local JWT issuer lands with the bridge)",
        file=sys.stderr,
    )
    return 3


def serve_sprite(args: argparse.Namespace) -> int:
    print(
        "stackdocs sprite serve: not yet available (the Sprite runtime lands separately)",
        file=sys.stderr,
    )
    return 3
