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
    """``stackdocs sprite serve``: one Sprite runtime on a workspace (token in SPRITE_TOKEN)."""
    from pathlib import Path

    from stackdocs.config import ConfigError, SpriteSettings

    try:
        settings = SpriteSettings.from_env()
        if settings.ocr == "mistral" and not settings.mistral_base_url:
            raise ConfigError("MISTRAL_BASE_URL", "required when STACKDOCS_OCR=mistral")
        if settings.ocr == "mistral" and not settings.proxy_token:
            raise ConfigError("STACKDOCS_PROXY_TOKEN", "required when STACKDOCS_OCR=mistral")
    except ConfigError as exc:
        print(f"stackdocs: {exc}", file=sys.stderr)
        return 2
    workspace = Path(args.workspace).expanduser().resolve()
    if workspace.exists() and not workspace.is_dir():
        print(f"stackdocs: --workspace {workspace} is not a directory", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"stackdocs: --port {args.port} is not a port number", file=sys.stderr)
        return 2

    from sprite.server import run

    return run(workspace, args.host, args.port, settings)
