"""The second half of the differential corpus: structured output, reasoning and replayed thinking, cache points,
and the shapes real clients send — the OpenAI SDK (chat), Codex CLI (Responses, converted to chat by our API
layer) and Claude Code's habits (cached system blocks and tools, large max_tokens, thinking) in chat form."""

from __future__ import annotations

from pennyworth.api.responses.schemas import ResponsesRequest, chat_messages, chat_params
from tests.translate_corpus import (
    BASIC_CORPUS,
    CHAT_MODELS,
    FAMILIES,
    JSON_SCHEMA,
    PNG,
    REASONERS,
    SCHEMA,
    THINKING_ROUND,
    TIME,
    TOOL_ROUND,
    WEATHER,
    Case,
    user,
)


def _structured() -> list[Case]:
    cases = []
    for model in CHAT_MODELS:
        cases.append(
            Case(f"json-schema/{model}", model, user("Invent a person"), {"response_format": JSON_SCHEMA})
        )
    for model in FAMILIES:
        cases += [
            Case(
                f"json-object/{model}",
                model,
                user("JSON please"),
                {"response_format": {"type": "json_object"}},
            ),
            Case(f"format-text/{model}", model, user("hi"), {"response_format": {"type": "text"}}),
            Case(
                f"json-schema-tools/{model}",
                model,
                user("Invent a person"),
                {"response_format": JSON_SCHEMA, "tools": [WEATHER]},
            ),
        ]
    described = {
        "type": "json_schema",
        "json_schema": {"name": "p", "description": "A person", "schema": SCHEMA},
    }
    cases.append(
        Case(
            "json-schema-described/claude-haiku-4-5",
            "claude-haiku-4-5",
            user("x"),
            {"response_format": described},
        )
    )
    cases.append(
        Case("json-schema-described/nova-pro", "nova-pro", user("x"), {"response_format": described})
    )
    return cases


def _reasoning() -> list[Case]:
    cases = []
    for model in REASONERS:
        for effort in ("low", "medium", "high"):
            cases.append(
                Case(f"reasoning-{effort}/{model}", model, user("Think"), {"reasoning_effort": effort})
            )
        cases += [
            Case(
                f"reasoning-max/{model}",
                model,
                user("Think"),
                {"reasoning_effort": "high", "max_tokens": 16000},
            ),
            Case(
                f"reasoning-required-tool/{model}",
                model,
                user("Weather?"),
                {
                    "reasoning_effort": "low",
                    "tools": [WEATHER],
                    "tool_choice": "required",
                    "max_tokens": 5000,
                },
            ),
            Case(
                f"reasoning-json/{model}",
                model,
                user("Invent"),
                {"reasoning_effort": "low", "response_format": JSON_SCHEMA},
            ),
            Case(
                f"thinking-replay/{model}",
                model,
                THINKING_ROUND,
                {"reasoning_effort": "low", "tools": [WEATHER]},
            ),
        ]
    cases.append(Case("reasoning/nova-pro", "nova-pro", user("Think"), {"reasoning_effort": "low"}))
    unsigned = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b", "thinking_blocks": [{"type": "thinking", "thinking": "plain"}]},
        {"role": "user", "content": "c"},
    ]
    cases.append(Case("thinking-unsigned/nova-pro", "nova-pro", unsigned))
    cases.append(
        Case(
            "thinking-content-part/claude-haiku-4-5",
            "claude-haiku-4-5",
            [
                {"role": "user", "content": "a"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hm", "signature": "c2ln"},
                        {"type": "text", "text": "b"},
                    ],
                },
                {"role": "user", "content": "c"},
            ],
            {"reasoning_effort": "low"},
        )
    )
    return cases


def _cache() -> list[Case]:
    ephemeral = {"type": "ephemeral"}
    hour = {"type": "ephemeral", "ttl": "1h"}
    cases = []
    for model in ("claude-sonnet-5-5", "claude-haiku-4-5", "nova-pro", "nova-2-lite", "llama4-maverick"):
        for label, control in (("5m", ephemeral), ("1h", hour)):
            messages = [
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "Long system prompt", "cache_control": control}],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Question", "cache_control": ephemeral},
                        {"type": "image_url", "image_url": {"url": PNG}, "cache_control": ephemeral},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "Answer", "cache_control": ephemeral}],
                },
                {"role": "user", "content": "Next"},
            ]
            tool = {**WEATHER, "cache_control": control}
            cases.append(Case(f"cache-{label}/{model}", model, messages, {"tools": [TIME, tool]}))
        tool_message = [*TOOL_ROUND[:2], {**TOOL_ROUND[2], "cache_control": ephemeral}, *TOOL_ROUND[3:]]
        cases.append(Case(f"cache-tool-result/{model}", model, tool_message, {"tools": [WEATHER, TIME]}))
    return cases


def _clients() -> list[Case]:
    codex_first = ResponsesRequest.model_validate(
        {
            "model": "claude-sonnet-5-5",
            "instructions": "You are Codex, a coding agent.",
            "input": [
                {
                    "type": "message",
                    "role": "developer",
                    "content": [{"type": "input_text", "text": "<permissions>...</permissions>"}],
                },
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "<environment_context>cwd=/w</environment_context>"}
                    ],
                },
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "List the files"}],
                },
            ],
            "tools": [
                {
                    "type": "function",
                    "name": "exec_command",
                    "description": "Run a command",
                    "parameters": {
                        "type": "object",
                        "properties": {"cmd": {"type": "string"}},
                        "required": ["cmd"],
                        "additionalProperties": False,
                    },
                    "strict": False,
                },
                {
                    "type": "function",
                    "name": "write_stdin",
                    "description": "Write",
                    "parameters": {
                        "type": "object",
                        "properties": {"session_id": {"type": "number"}, "chars": {"type": "string"}},
                    },
                },
                {"type": "web_search"},
                {"type": "namespace", "name": "multi_agent_v1"},
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "reasoning": {"summary": "auto", "effort": "medium"},
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "abc",
            "stream": True,
        }
    )
    first = codex_first.model_dump(by_alias=True, exclude_none=True)
    codex_later = ResponsesRequest.model_validate(
        {
            **first,
            "input": [
                *first["input"],  # (reasoning items are sealed by the gateway: none to replay here)
                {
                    "type": "function_call",
                    "call_id": "call_a",
                    "name": "exec_command",
                    "arguments": '{"cmd":"ls"}',
                },
                {
                    "type": "function_call",
                    "call_id": "call_b",
                    "name": "exec_command",
                    "arguments": '{"cmd":"pwd"}',
                },
                {"type": "function_call_output", "call_id": "call_a", "output": "a.txt\nb.txt"},
                {"type": "function_call_output", "call_id": "call_b", "output": "/w"},
            ],
        }
    )
    cases = []
    for model in ("claude-sonnet-5-5", "claude-haiku-4-5", "nova-2-lite"):
        for label, request in (("first", codex_first), ("later", codex_later)):
            cases.append(Case(f"codex-{label}/{model}", model, chat_messages(request), chat_params(request)))
    sdk_messages = [
        {"role": "developer", "content": "Be helpful."},
        {"role": "user", "content": "What is 2+2?"},
    ]
    cases.append(
        Case(
            "openai-sdk-developer/claude-haiku-5-5",
            "claude-haiku-5-5",
            [{**sdk_messages[0], "role": "system"}, sdk_messages[1]],
            {"max_completion_tokens": 200},
        )
    )
    cases.append(Case("openai-sdk-developer-raw/nova-pro", "nova-pro", sdk_messages, {"temperature": 0}))
    langchain = [*TOOL_ROUND]
    cases.append(
        Case(
            "langchain-tools-reasoning/claude-haiku-4-5",
            "claude-haiku-4-5",
            langchain,
            {"tools": [WEATHER, TIME], "reasoning_effort": "low"},
        )
    )
    claude_code_like = [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "You are Claude Code."},
                {"type": "text", "text": "Long instructions...", "cache_control": {"type": "ephemeral"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                {"type": "text", "text": "Fix the bug", "cache_control": {"type": "ephemeral"}},
            ],
        },
    ]
    tools = [WEATHER, {**TIME, "cache_control": {"type": "ephemeral"}}]
    for model in ("claude-opus-5-5", "claude-sonnet-4-6"):
        cases.append(
            Case(
                f"claude-code-like/{model}",
                model,
                claude_code_like,
                {"tools": tools, "max_tokens": 32000, "reasoning_effort": "medium"},
            )
        )
    return cases


CORPUS: list[Case] = [*BASIC_CORPUS, *_structured(), *_reasoning(), *_cache(), *_clients()]
