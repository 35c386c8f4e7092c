"""Throttling on demand in the Bedrock double: the first N calls to a model id fail, then calls succeed.

A test writes `[[double:throttle_first=N]]` into the last user message; the first N calls carrying that
conversation to a model id are refused with `ThrottlingException` (or `throttle_error=<name>`, e.g.
`ServiceUnavailableException`), each later one is answered. `throttle_model=<fragment>` limits it to model
ids containing the fragment (so a failover target answers at once); `retry_after=S` adds the `Retry-After`
header Bedrock may send. Calls are counted per model id and conversation, in the double's process.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from pennyworth_dev.double_script import DoubleError, directives_in


class Throttled(DoubleError):
    """A refusal that may carry Bedrock's `Retry-After` (seconds)."""

    def __init__(self, name: str, message: str, retry_after: str | None) -> None:
        super().__init__(name, message)
        self.retry_after = retry_after


def _last_text(body: dict[str, Any]) -> str:
    """The text of the last message, in Converse's or Anthropic's shape."""
    messages = body.get("messages") or []
    content = messages[-1].get("content") if messages and isinstance(messages[-1], dict) else None
    if isinstance(content, str):
        return content
    return " ".join(str(b.get("text", "")) for b in content or [] if isinstance(b, dict))


class Throttle:
    """Counts calls per (model id, conversation) and refuses the first N the directives ask for."""

    def __init__(self) -> None:
        self._calls: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def check(self, model_id: str, body: dict[str, Any]) -> None:
        directives = directives_in(_last_text(body))
        first = int(directives.get("throttle_first", 0))
        if not first or directives.get("throttle_model", "") not in model_id:
            return
        conversation = hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest()
        with self._lock:
            seen = self._calls.get((model_id, conversation), 0)
            self._calls[(model_id, conversation)] = seen + 1
        if seen < first:
            name = directives.get("throttle_error", "ThrottlingException")
            raise Throttled(
                name, "Too many requests, please wait before trying again.", directives.get("retry_after")
            )
