"""How a cut-short answer tells the client, the same way on every API.

A streamed answer the gateway cut (`Truncated`: the request deadline) ends with the API's normal end for an
answer that ran out of tokens, preceded by an SSE comment naming the cause, and its final event carries a
`warning` field; a whole answer carries the `X-Pennyworth-Warning` header. The renderers use these.
"""

from __future__ import annotations

from typing import Any

from pennyworth.llm.types import Truncated

WARNING_HEADER = "X-Pennyworth-Warning"


def warning_field(truncated: Truncated) -> dict[str, Any]:
    """The `warning` object of a cut answer's final event or body."""
    return {"type": truncated.cause, "message": truncated.message}


def warning_comment(truncated: Truncated) -> bytes:
    """An SSE comment (ignored by SDKs, visible on the wire) naming the cause."""
    return f": warning: {truncated.cause}: {truncated.message}\n\n".encode()


def warning_headers(truncated: Truncated | None) -> dict[str, str]:
    """`X-Pennyworth-Warning: <cause>; <message>` for a whole answer that was cut (else nothing)."""
    if truncated is None:
        return {}
    return {WARNING_HEADER: f"{truncated.cause}; {truncated.message}"}
