"""Token estimates before a call (TPM admission) and for streams cut off before Bedrock reported usage.

Deliberately light — no tokenizer to load: the provider's own count replaces the estimate as soon as the call
reports usage, so admission only needs the right order of magnitude. About four characters a token for text
(the usual figure for English with BPE tokenizers), a few tokens of framing per message, and a flat charge
per image or file part.
"""

from __future__ import annotations

from typing import Any

from pennyworth.catalog import ModelRoute

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
MEDIA_TOKENS = 1600  # a flat pre-call estimate per image, document or video (Bedrock reports the truth)


def count_text_tokens(route: ModelRoute, text: str) -> int:
    """An estimate of the tokens in `text` (for streams cut off before Bedrock's usage)."""
    if not text:
        return 0
    return len(text) // CHARS_PER_TOKEN + 1


def estimate_prompt_tokens(route: ModelRoute, messages: list[dict[str, Any]]) -> int:
    """A pre-call estimate of the prompt's tokens: text, tool calls and results, media parts."""
    total = 0
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_text_tokens(route, _text_of(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            total += count_text_tokens(route, f"{function.get('name', '')}{function.get('arguments', '')}")
        total += MEDIA_TOKENS * _media_parts(message.get("content"))
    return total


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") != "media"
        )
    return ""


def _media_parts(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(
        1 for p in content if isinstance(p, dict) and p.get("type") in ("image_url", "file", "image", "media")
    )
