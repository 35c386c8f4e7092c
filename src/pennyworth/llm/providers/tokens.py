"""Token estimates before a call (TPM admission) and for streams cut off before Bedrock reported usage."""

from __future__ import annotations

from typing import Any

from pennyworth.catalog import ModelRoute
from pennyworth.llm.providers.litellm_setup import litellm


def estimate_prompt_tokens(route: ModelRoute, messages: list[dict[str, Any]]) -> int:
    """A pre-call estimate of the prompt's tokens (LiteLLM's tokenizer for the model, else its default)."""
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
