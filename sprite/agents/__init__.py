"""The agent crew: a commander and three specialists on the Claude Agent SDK.

``create_runner`` is the entry point the runtime calls once at start-up. With a model (the
bridge proxy's ``ANTHROPIC_BASE_URL`` and the per-sprite token) it returns the
:class:`~sprite.agents.runner.CrewRunner`; without one, a runner that answers every non-``!``
mission with exactly one ``agent_event`` error saying what to set on the bridge — everything
else (documents, shell missions, reading extractions) keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sprite.agents.runner import ExtractionReads
from sprite.missions import MissionContext, MissionRunner
from stackdocs.config import SpriteSettings

if TYPE_CHECKING:
    from sprite.agents.runner import CrewRunner

NO_MODEL = (
    "No model is configured, so agent missions cannot run. On the bridge, set "
    "ANTHROPIC_API_KEY (and ANTHROPIC_UPSTREAM_URL for a self-hosted Anthropic-compatible "
    "server; STACKDOCS_MODEL to choose the model), then restart Stackdocs. "
    "Shell missions starting with '!' work without a model."
)
NO_PROXY_TOKEN = (
    "This workspace was started without STACKDOCS_PROXY_TOKEN, so it cannot use the bridge's "
    "model proxy. Restart Stackdocs so the bridge starts the workspace again."
)


class UnavailableRunner(ExtractionReads):
    """Answers every mission with one error event saying why no agent can run it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def run(self, ctx: MissionContext) -> None:
        await ctx.emit(
            "agent_event",
            {
                "event_type": "error",
                "content": self.reason,
                "mission_id": ctx.mission_id,
                "meta": {"kind": "no_model"},
            },
        )

    async def close(self) -> None:
        return None


def create_runner(settings: SpriteSettings) -> MissionRunner:
    if not settings.anthropic_base_url:
        if settings.demo_extractor:
            from sprite.demo_extractor import DemoExtractorRunner

            return DemoExtractorRunner(settings)
        return UnavailableRunner(NO_MODEL)
    if not settings.proxy_token:
        return UnavailableRunner(NO_PROXY_TOKEN)
    from sprite.agents.runner import CrewRunner

    runner: CrewRunner = CrewRunner(settings)
    return runner
