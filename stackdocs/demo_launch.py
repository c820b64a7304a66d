"""Preparation of the demo workspace for ``stackdocs demo`` (before the app starts).

- First start: build the workspace of user ``demo`` through the real product
  (:mod:`stackdocs.demo.seed`) and checkpoint it.
- Later starts: the seed checkpoint exists, nothing is done (idempotent); the presenter's own
  changes since are kept.
- ``--reset``: restore the seed checkpoint (seconds), or seed afresh when there is none (or it
  was made by an older version of the demo).
- ``--live``: the seed missions are run by the agents (needs a model); ``--reset --live``
  replaces a deterministic seed by a live one.

Returns the environment for the app: ``STACKDOCS_DEMO_USER=demo`` signs the presenter in at once.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time

from stackdocs.config import BridgeSettings

DEMO_USER_ENV = "STACKDOCS_DEMO_USER"


def _say(line: str) -> None:
    print(f"stackdocs demo: {line}", flush=True)


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def prepare_demo(settings: BridgeSettings, *, reset: bool, live: bool) -> dict[str, str]:
    from stackdocs.demo.seed import DEMO_USER, DemoError

    # SIGTERM during the seed ends it like Ctrl-C: cleanly, stopping the Sprite it started.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _check(settings, live=live)
        started = time.monotonic()
        asyncio.run(ensure_demo(settings, reset=reset, live=live, say=_say))
    except DemoError as exc:
        print(f"stackdocs demo: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        # Every seeding step is idempotent: the next start picks up where this one stopped.
        print("\nstackdocs demo: interrupted; run it again to finish", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    _say(
        f"workspace ready in {time.monotonic() - started:.1f} s; starting the app "
        f"(you will be signed in as '{DEMO_USER}')"
    )
    return {DEMO_USER_ENV: DEMO_USER}


def _check(settings: BridgeSettings, *, live: bool) -> None:
    from stackdocs.demo.seed import DemoError

    if settings.auth != "local":
        raise DemoError("the demo signs in with the local issuer: unset STACKDOCS_AUTH=clerk")
    if live and not settings.model_configured:
        raise DemoError(
            "--live runs the seed missions through the agents and needs a model: set "
            "ANTHROPIC_API_KEY (or ANTHROPIC_UPSTREAM_URL for a self-hosted server)"
        )
    # The demo's app port must be free before anything is seeded (a running demo owns the
    # same workspace: seeding or restoring under it would pull it from under the presenter).
    if _port_taken("127.0.0.1", settings.port):
        raise DemoError(
            f"port {settings.port} is already in use (is a demo running? choose another with "
            "--port)"
        )


async def ensure_demo(settings: BridgeSettings, *, reset: bool, live: bool, say) -> str:
    """Make the demo workspace exist in its seeded state (per the flags); returns what was
    done: ``kept`` | ``restored`` | ``seeded``."""
    from bridge.db import PlatformDB
    from bridge.providers import create_provider, sprite_name_for
    from stackdocs.demo.seed import (
        DEMO_USER,
        is_seed_checkpoint,
        seed_workspace,
        seeded_live,
    )

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = PlatformDB(settings.database_url)
    try:
        await db.migrate()
        user = await db.get_user(DEMO_USER)
    finally:
        await db.close()
    provider = create_provider(settings)
    name = (user.sprite_name if user else None) or sprite_name_for(DEMO_USER)
    seeds = [c for c in await provider.checkpoint_list(name) if is_seed_checkpoint(c)]
    seed = seeds[0] if seeds else None  # newest first
    if seed is not None and live and not seeded_live(seed):
        if reset:
            say("replacing the deterministic seed with one made by the agents (--live)")
            seed = None
        else:
            say(
                "the workspace was seeded by the deterministic extractor; "
                "`stackdocs demo --reset --live` seeds it again with the agents"
            )

    if seed is not None and not reset:
        say(f"workspace already seeded (checkpoint {seed.id}); --reset restores it")
        return "kept"
    if seed is not None:
        clock = time.monotonic()
        await provider.checkpoint_restore(name, seed.id)
        say(f"restored the seed checkpoint {seed.id} in {time.monotonic() - clock:.2f} s")
        return "restored"

    if reset and user is not None:
        # No seed to go back to (none yet, or an older demo's): start from an empty workspace.
        await provider.delete(name)
    say(
        "seeding the demo workspace "
        + ("with the agents (--live)" if live else "with the deterministic demo extractor")
        + "…"
    )
    report = await seed_workspace(settings, live=live, say=say)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    say(
        f"{report.documents} documents, {len(report.missions_run)} missions, "
        f"{report.cited_cells} cited values ({report.flagged_cells} flagged); "
        f"checkpoint {report.checkpoint.id if report.checkpoint else '?'} ({timings})"
    )
    for warning in report.warnings:
        say(f"warning: {warning}")
    return "seeded"
