"""The agent crew (placeholder until the agents land): answers with what is missing.

``create_runner`` is the entry point the runtime calls once at start-up. Until the crew is
installed, every non-``!`` mission gets exactly one ``agent_event`` error naming what is
missing, never a fake answer.
"""

from __future__ import annotations

from sprite.missions import MissionContext, MissionRunner
from stackdocs.config import SpriteSettings

NO_MODEL = (
    "No model is configured for this workspace: the bridge must set ANTHROPIC_API_KEY "
    "or ANTHROPIC_UPSTREAM_URL (the Sprite then receives ANTHROPIC_BASE_URL)."
)
NOT_INSTALLED = "The agent crew is not installed yet: only '!' shell missions can run."


class UnavailableRunner:
    """Answers every mission with one error event saying why no agent can run it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def run(self, ctx: MissionContext) -> None:
        await ctx.emit(
            "agent_event",
            {"event_type": "error", "content": self.reason, "mission_id": ctx.mission_id},
        )

    async def close(self) -> None:
        return None


def create_runner(settings: SpriteSettings) -> MissionRunner:
    if not settings.anthropic_base_url:
        return UnavailableRunner(NO_MODEL)
    return UnavailableRunner(NOT_INSTALLED)
