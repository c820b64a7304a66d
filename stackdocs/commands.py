"""Small sub-commands of the CLI that hand over to bridge/ or sprite/."""

from __future__ import annotations

import argparse
import sys


def mint_token(args: argparse.Namespace) -> int:
    """``stackdocs token``: print a local-issuer JWT alone on the last line of stdout."""
    from bridge.auth import AuthError, mint_local_token
    from stackdocs.config import BridgeSettings, ConfigError

    try:
        settings = BridgeSettings.from_env()
        token = mint_local_token(args.user, email=args.email, ttl=args.ttl, settings=settings)
    except ConfigError as exc:
        print(f"stackdocs token: configuration error: {exc}", file=sys.stderr)
        return 2
    except AuthError as exc:
        print(f"stackdocs token: {exc.message}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"stackdocs token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def serve_sprite(args: argparse.Namespace) -> int:
    print(
        "stackdocs sprite serve: not yet available (the Sprite runtime lands separately)",
        file=sys.stderr,
    )
    return 3
