"""Claude's own request body for Bedrock InvokeModel: what is kept, dropped and refused."""

from __future__ import annotations

import pytest

from pennyworth.errors import InvalidRequest
from pennyworth.llm.bedrock.anthropic import BEDROCK_ANTHROPIC_VERSION, bedrock_body

MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_model_stream_and_unknown_fields_are_dropped() -> None:
    body = bedrock_body(
        {
            "model": "claude-x",
            "stream": True,
            "metadata": {"user_id": "u"},
            "max_tokens": 5,
            "messages": MESSAGES,
        },
        betas=[],
        forwardable_betas=frozenset(),
    )
    assert body == {"anthropic_version": BEDROCK_ANTHROPIC_VERSION, "max_tokens": 5, "messages": MESSAGES}


def test_cache_control_keeps_only_its_type() -> None:
    system = [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    body = bedrock_body(
        {"max_tokens": 5, "messages": MESSAGES, "system": system}, betas=[], forwardable_betas=frozenset()
    )
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}


def test_only_forwardable_betas_travel() -> None:
    body = bedrock_body(
        {"max_tokens": 5, "messages": MESSAGES},
        betas=["claude-code-20250219", " interleaved-thinking-2025-05-14"],
        forwardable_betas=frozenset({"interleaved-thinking-2025-05-14"}),
    )
    assert body["anthropic_beta"] == ["interleaved-thinking-2025-05-14"]


def test_url_image_sources_are_refused() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    with pytest.raises(InvalidRequest, match="URL sources are not supported"):
        bedrock_body(
            {"max_tokens": 5, "messages": [{"role": "user", "content": [image]}]},
            betas=[],
            forwardable_betas=frozenset(),
        )
