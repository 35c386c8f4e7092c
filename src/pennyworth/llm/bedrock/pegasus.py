"""TwelveLabs Pegasus on Bedrock: a chat call with one video becomes Pegasus's own InvokeModel body.

Pegasus is not a Converse model: it takes `inputPrompt` (text), `mediaSource` (exactly one video, as
`base64String` or an `s3Location`), optional `temperature` and `maxOutputTokens` (at most 4096), and answers
`{"message", "finishReason": "stop" | "length"}`. The catalog marks such routes `wire: pegasus`, so an
OpenAI-shaped request with a video part reaches it like any chat model.
"""

from __future__ import annotations

import base64
from typing import Any

from pennyworth.errors import InvalidRequest
from pennyworth.llm.media import media_in
from pennyworth.llm.types import ChatCall, ChatResult, Usage

MAX_OUTPUT_TOKENS = 4096


def _prompt(messages: list[dict[str, Any]]) -> str:
    texts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p.get("text", "") for p in content if p.get("type") == "text")
    return "\n".join(t for t in texts if t.strip())


def request_body(call: ChatCall) -> dict[str, Any]:
    videos = [m for m in media_in(call.messages) if m.kind == "video"]
    if len(videos) != 1 or len(media_in(call.messages)) != 1:
        raise InvalidRequest(
            f"The model '{call.route.name}' takes exactly one video (and text); this request has "
            f"{len(media_in(call.messages))} media parts.",
            param="messages",
        )
    video = videos[0]
    prompt = _prompt(call.messages)
    if not prompt:
        raise InvalidRequest(
            f"The model '{call.route.name}' needs a text prompt with the video.", param="messages"
        )
    source: dict[str, Any] = (
        {"s3Location": {"uri": video.s3_uri}}
        if video.s3_uri
        else {"base64String": base64.b64encode(video.data or b"").decode()}
    )
    body: dict[str, Any] = {"inputPrompt": prompt, "mediaSource": source}
    if call.params.get("temperature") is not None:
        body["temperature"] = call.params["temperature"]
    limit = call.params.get("max_completion_tokens") or call.params.get("max_tokens")
    if limit is not None:
        body["maxOutputTokens"] = min(int(limit), MAX_OUTPUT_TOKENS)
    return body


def chat_result(answer: dict[str, Any], usage: Usage) -> ChatResult:
    stop = "max_tokens" if answer.get("finishReason") == "length" else "end_turn"
    return ChatResult(str(answer.get("message", "")), None, None, [], stop, usage)
