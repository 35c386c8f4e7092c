"""Token estimates before a call (TPM admission) and for streams cut off before Bedrock reported usage."""

from __future__ import annotations

from typing import Any

from pennyworth.catalog import ModelRoute
from pennyworth.llm.providers.litellm_setup import litellm

MEDIA_TOKENS = 1600  # a flat pre-call estimate per image, document or video (Bedrock reports the truth)


def _without_media(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The messages with media parts left out (their bytes are no text to count), and how many there were."""
    out: list[dict[str, Any]] = []
    count = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(p.get("type") == "media" for p in content):
            kept = [p for p in content if p.get("type") != "media"]
            count += len(content) - len(kept)
            message = {**message, "content": kept or ""}
        out.append(message)
    return out, count


def estimate_prompt_tokens(route: ModelRoute, messages: list[dict[str, Any]]) -> int:
    """A pre-call estimate of the prompt's tokens (LiteLLM's tokenizer for the model, else its default)."""
    messages, media = _without_media(messages)
    return _estimate_text(route, messages) + media * MEDIA_TOKENS


def _estimate_text(route: ModelRoute, messages: list[dict[str, Any]]) -> int:
    try:
        return int(litellm.token_counter(model=route.model_id, messages=messages))
    except Exception:
        return sum(len(str(m.get("content") or "")) for m in messages) // 4 + 1


def count_text_tokens(route: ModelRoute, text: str) -> int:
    """Tokens in `text` by the model's tokenizer (an estimate, for streams cut off before Bedrock's usage)."""
    if not text:
        return 0
    try:
        return int(litellm.token_counter(model=route.model_id, text=text))
    except Exception:
        return len(text) // 4 + 1
