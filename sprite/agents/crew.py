"""Who is in the crew and which tools each may use (explicit whitelists), and the SDK options
that start one live session of it.

The commander is the CLI's main-thread agent (``--agent commander``); the specialists are
offered to it through the SDK's ``Agent`` tool. Each agent sees only the tools in its list —
the CLI enforces the lists — and every listed tool is pre-approved (``allowed_tools``) so nothing
ever waits for a permission prompt (``permission_mode="dontAsk"`` refuses anything else).

The CLI is kept behind the bridge proxy by its environment (see ``cli_environment``): the proxy
URL and the per-sprite token as its key, no non-essential traffic (which would otherwise go to
the vendor directly), HOME and TMPDIR inside the workspace so sessions survive restarts and can
be resumed, and timeouts that turn a silent upstream into a clear error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from claude_agent_sdk import AgentDefinition, ClaudeAgentOptions, McpSdkServerConfig

from sprite.agents import prompts
from sprite.agents.tools import SERVER_NAME, qualified
from stackdocs.config import SpriteSettings

# Claude Code's own tools the crew may use at all (the coder's; the others get none of them).
BUILTIN_TOOLS = ["Agent", "Bash", "Read", "Write", "Edit", "Glob", "Grep"]
CODER_BUILTINS = ["Bash", "Read", "Write", "Edit", "Glob", "Grep"]
MODEL_RETRIES = 2  # for 429/5xx; the CLI honours retry-after

COMMANDER_TOOLS = ["list_documents", "read_extraction", "read_stack"]
RESEARCHER_TOOLS = [
    "list_documents",
    "read_ocr",
    "search_documents",
    "read_extraction",
    "read_stack",
    "show_markdown",
]
ANALYST_TOOLS = [
    "list_documents",
    "read_ocr",
    "search_documents",
    "read_extraction",
    "save_extraction",
    "set_field",
    "delete_field",
    "complete",
    "save_metadata",
    "show_table",
    "show_markdown",
    "show_json",
    "show_chart",
    "show_extraction",
    "create_stack",
    "add_stack_documents",
    "define_stack_table",
    "fill_stack_rows",
    "read_stack",
    "show_stack_table",
]
CODER_TOOLS = [
    "list_documents",
    "read_ocr",
    "show_table",
    "show_markdown",
    "show_json",
    "show_chart",
]

SPECIALISTS = {
    "researcher": "Reads and searches the documents' OCR text; answers questions with"
    " citations (file, page, quote).",
    "analyst": "Extracts fields with citations from documents, corrects them, compares"
    " documents, builds stacks and tables, draws charts.",
    "coder": "Writes and runs Python or shell code in the workspace (may pip install into it)"
    " for calculations, conversions and custom analysis.",
}


def agent_dir(workspace: Path) -> Path:
    """Where the agents' CLI keeps its home (sessions), temp files and installed packages."""
    return workspace / ".agents"


def cli_environment(settings: SpriteSettings, workspace: Path) -> dict[str, str]:
    """The CLI's environment, merged by the SDK over the Sprite's own."""
    base = agent_dir(workspace)
    timeout_ms = str(int(settings.model_timeout_seconds * 1000))
    env = {
        "ANTHROPIC_BASE_URL": settings.anthropic_base_url or "",
        "ANTHROPIC_API_KEY": settings.proxy_token or "",  # the per-sprite token, not a key
        "ANTHROPIC_AUTH_TOKEN": "",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": str(MODEL_RETRIES),
        "CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK": "1",
        "API_TIMEOUT_MS": timeout_ms,
        "CLAUDE_STREAM_IDLE_TIMEOUT_MS": timeout_ms,
        "CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS": timeout_ms,
        "CLAUDE_ENABLE_BYTE_WATCHDOG": "1",
        "ENABLE_TOOL_SEARCH": "false",
        "CLAUDE_AGENT_SDK_DISABLE_BUILTIN_AGENTS": "1",
        "CLAUDE_CODE_DISABLE_BACKGROUND_TASKS": "1",
        "HOME": str(base / "home"),
        "TMPDIR": str(base / "tmp"),
        "PYTHONPATH": str(base / "packages"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # The Sprite's socket token is not for the agents' shells.
        "SPRITE_TOKEN": "",
    }
    if settings.model:
        # Every request names the configured model — the CLI otherwise picks other (vendor)
        # model names for specialists and small background tasks, which a self-hosted
        # server would not know.
        for name in (
            "ANTHROPIC_MODEL",
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "ANTHROPIC_SMALL_FAST_MODEL",
            "CLAUDE_CODE_SUBAGENT_MODEL",
        ):
            env[name] = settings.model
    return env


def prepare_dirs(workspace: Path) -> None:
    base = agent_dir(workspace)
    for sub in ("home", "tmp", "packages"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (workspace / "work").mkdir(parents=True, exist_ok=True)


def agents(workspace: Path) -> dict[str, AgentDefinition]:
    packages = str(agent_dir(workspace) / "packages")
    return {
        "commander": AgentDefinition(
            description="Leads the crew: plans each mission and delegates to the specialists.",
            prompt=prompts.commander(str(workspace)),
            tools=["Agent", *(qualified(t) for t in COMMANDER_TOOLS)],
        ),
        "researcher": AgentDefinition(
            description=SPECIALISTS["researcher"],
            prompt=prompts.researcher(),
            tools=[qualified(t) for t in RESEARCHER_TOOLS],
            background=False,
        ),
        "analyst": AgentDefinition(
            description=SPECIALISTS["analyst"],
            prompt=prompts.analyst(),
            tools=[qualified(t) for t in ANALYST_TOOLS],
            background=False,
        ),
        "coder": AgentDefinition(
            description=SPECIALISTS["coder"],
            prompt=prompts.coder(str(workspace), packages),
            tools=[*CODER_BUILTINS, *(qualified(t) for t in CODER_TOOLS)],
            background=False,
        ),
    }


def allowed_tools() -> list[str]:
    ours = dict.fromkeys(
        qualified(t) for t in [*COMMANDER_TOOLS, *RESEARCHER_TOOLS, *ANALYST_TOOLS, *CODER_TOOLS]
    )
    return ["Agent", *CODER_BUILTINS, *ours]


def session_options(
    settings: SpriteSettings,
    workspace: Path,
    server: McpSdkServerConfig,
    *,
    resume: str | None,
    stderr: Callable[[str], None] | None = None,
) -> ClaudeAgentOptions:
    extra: dict[str, Any] = {"agent": "commander"}
    return ClaudeAgentOptions(
        tools=list(BUILTIN_TOOLS),
        allowed_tools=allowed_tools(),
        permission_mode="dontAsk",
        mcp_servers={SERVER_NAME: server},
        strict_mcp_config=True,
        agents=agents(workspace),
        extra_args=extra,
        cwd=str(workspace),
        setting_sources=[],
        skills=[],
        model=settings.model,
        resume=resume,
        include_partial_messages=True,
        # A mission's text is delivered as typed: no /slash commands, no @file expansion.
        verbatim_prompts=True,
        env=cli_environment(settings, workspace),
        stderr=stderr,
    )
