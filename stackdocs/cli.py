"""The ``stackdocs`` console script (sub-commands pinned by SPEC.md).

Imports stay inside the sub-commands: ``stackdocs sprite serve`` must start in well under a
second inside a Sprite, so it must not pay for Reflex, pandas or the agent SDK.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _fail(message: str, code: int = 2) -> int:
    print(f"stackdocs: {message}", file=sys.stderr)
    return code


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stackdocs", description="Stackdocs: document agents in your own workspace."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="build if needed and start the whole stack on one port")
    run.add_argument("--port", type=int, default=None, help="port to serve on (default 3000)")
    run.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")

    demo = sub.add_parser("demo", help="like run, with a seeded demo workspace for user 'demo'")
    demo.add_argument("--port", type=int, default=None)
    demo.add_argument("--host", default=None)
    demo.add_argument("--reset", action="store_true", help="return the demo to its seeded state")
    demo.add_argument("--live", action="store_true", help="run the seed missions through agents")

    token = sub.add_parser("token", help="print a JWT from the local issuer")
    token.add_argument("--user", required=True, help="the token subject (user id)")
    token.add_argument("--email", default=None)
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")

    sprite = sub.add_parser("sprite", help="Sprite runtime commands")
    sprite_sub = sprite.add_subparsers(dest="sprite_command", metavar="SPRITE_COMMAND")
    serve = sprite_sub.add_parser("serve", help="run one Sprite runtime (token in SPRITE_TOKEN)")
    serve.add_argument("--workspace", required=True, help="the workspace root (/workspace)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from stackdocs import __version__

        print(__version__)
        return 0
    if args.command in ("run", "demo"):
        from stackdocs.launcher import launch

        return launch(args)
    if args.command == "token":
        from stackdocs.commands import mint_token

        return mint_token(args)
    if args.command == "sprite" and args.sprite_command == "serve":
        from stackdocs.commands import serve_sprite

        return serve_sprite(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
