"""Preparation of the demo workspace for ``stackdocs demo``."""

from __future__ import annotations

from stackdocs.config import BridgeSettings


def prepare_demo(settings: BridgeSettings, *, reset: bool, live: bool) -> dict[str, str]:
    raise NotImplementedError("stackdocs demo: not yet available (the demo seed lands separately)")
