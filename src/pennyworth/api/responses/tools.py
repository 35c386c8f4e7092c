"""Which Responses tools reach the model: functions do; tools the gateway does not run are dropped or refused.

Bedrock runs no tools of its own, and this gateway runs none on a client's behalf. Per tool type:

- `function`: handed to the model (the client runs it).
- Dropped, named in the `x-pennyworth-dropped-tools` response header and a log line: tools a client offers by
  default as an optional extra, whose absence the model works around — `web_search` (and its preview
  names; Codex and others send it on every request), Codex's `namespace` (its multi-agent tool group),
  `local_shell` and `custom` (free-form) tools, and any tool type this gateway does not know yet, so a
  newer client keeps working.
- Refused with a 400 naming the tool: tools whose results the client expects the server to produce —
  `file_search` (server-side vector stores), `code_interpreter`, `mcp` (server-side MCP calls),
  `computer_use_preview` and `image_generation`. Dropping them would answer a different question silently.
"""

from __future__ import annotations

from typing import Any

from pennyworth.errors import InvalidRequest
from pennyworth.observability import get_logger

logger = get_logger("api")
REFUSED = (
    "file_search",
    "code_interpreter",
    "mcp",
    "computer_use_preview",
    "computer_use",
    "image_generation",
)


def dropped_tools(tools: list[dict[str, Any]] | None) -> list[str]:
    """The types of the tools that will not reach the model (400 for the ones that must not be dropped)."""
    dropped: list[str] = []
    for index, tool in enumerate(tools or []):
        kind = str(tool.get("type", ""))
        if kind == "function":
            continue
        if kind in REFUSED:
            raise InvalidRequest(
                f"The '{kind}' tool is not supported: this gateway runs no tools on the server side. Offer "
                "it as a function tool that your client runs, or leave it out.",
                param=f"tools.{index}.type",
                code="unsupported_tool",
            )
        if kind not in dropped:
            dropped.append(kind)
    if dropped:
        logger.info("tools dropped (not run by this gateway): %s", ",".join(dropped))
    return dropped
