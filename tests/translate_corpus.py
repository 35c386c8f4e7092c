"""The corpus of chat calls the differential test sends through our translation and LiteLLM's.

Every feature of the translation, on each model family of the catalog, plus the shapes real clients send: the
OpenAI SDK (chat), Codex CLI (Responses, converted to chat by our API layer), and Claude Code's habits
(cached system blocks and tools, large max_tokens, adaptive thinking) expressed in chat form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pennyworth.api.responses.schemas import ResponsesRequest, chat_messages, chat_params

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF = "data:application/pdf;base64,JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK"
MP4 = "data:video/mp4;base64,AAAAIGZ0eXBpc29tAAACAGlzb21pc28yYXZjMW1wNDE="
CSV = "data:text/csv;base64,YSxiCjEsMgo="

Message = dict[str, Any]


@dataclass(frozen=True)
class Case:
    name: str
    model: str  # a catalog name
    messages: list[Message]
    params: dict[str, Any] = field(default_factory=dict)


def user(text: str) -> list[Message]:
    return [{"role": "user", "content": text}]


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}
STRICT = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look up a record",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"id": {"type": "string"}},
            "required": ["id"],
            "additionalProperties": False,
        },
    },
}
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"t": {"type": "string"}}}},
    },
    "required": ["name"],
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA}}
TOOL_ROUND = [
    {"role": "user", "content": "Weather in Paris and London, and the time?"},
    {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"London"}'},
            },
            {"id": "call_3", "type": "function", "function": {"name": "get_time", "arguments": ""}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "12C"}]},
    {"role": "tool", "tool_call_id": "call_3", "content": "12:00"},
]
THINKING_ROUND = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "thinking_blocks": [
            {"type": "thinking", "thinking": "The user wants the weather.", "signature": "c2lnLTE="},
            {"type": "redacted_thinking", "data": "cmVkYWN0ZWQ="},
        ],
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
]

CHAT_MODELS = [
    "claude-sonnet-5-5",
    "claude-opus-5-5",
    "claude-haiku-5-5",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "nova-pro",
    "nova-lite",
    "nova-micro",
    "nova-2-lite",
    "llama4-maverick",
    "llama3-3-70b",
    "mistral-large-3",
    "pixtral-large",
]
FAMILIES = [
    "claude-sonnet-5-5",
    "claude-haiku-5-5",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "nova-pro",
    "nova-2-lite",
    "llama4-maverick",
    "mistral-large-3",
]
REASONERS = [
    "claude-sonnet-5-5",
    "claude-opus-5-5",
    "claude-haiku-5-5",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "nova-2-lite",
]


def _basic() -> list[Case]:
    cases = [Case(f"text/{m}", m, user("Hello there")) for m in CHAT_MODELS]
    for model in FAMILIES:
        cases += [
            Case(f"sampling/{model}", model, user("hi"), {"temperature": 0.3, "top_p": 0.9}),
            Case(f"sampling-one/{model}", model, user("hi"), {"temperature": 1}),
            Case(f"limits/{model}", model, user("hi"), {"max_tokens": 300, "stop": ["END", "STOP"]}),
            Case(
                f"limits-completion/{model}", model, user("hi"), {"max_completion_tokens": 77, "stop": "END"}
            ),
            Case(f"both-limits/{model}", model, user("hi"), {"max_tokens": 10, "max_completion_tokens": 20}),
            Case(f"empty-stop/{model}", model, user("hi"), {"stop": ""}),
            Case(f"seed-user/{model}", model, user("hi"), {"seed": 7, "user": "u-1"}),
        ]
    return cases


def _roles() -> list[Case]:
    conversation = [
        {"role": "system", "content": "You are terse."},
        {"role": "system", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Bonjour."},
        {"role": "user", "content": [{"type": "text", "text": "And"}, {"type": "text", "text": "then?"}]},
    ]
    merged = [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "a"},
        {"role": "assistant", "content": [{"type": "text", "text": "b"}]},
        {"role": "user", "content": "three"},
    ]
    blanks = [
        {"role": "user", "content": [{"type": "text", "text": "q"}, {"type": "text", "text": " "}]},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "again"},
    ]
    mid_system = [
        {"role": "system", "content": "top"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "system", "content": "Environment: cwd=/work"},
        {"role": "user", "content": "go"},
    ]
    prefill = [{"role": "user", "content": "Write JSON"}, {"role": "assistant", "content": "{"}]
    cases = []
    for model in ("claude-haiku-4-5", "nova-pro", "llama3-3-70b"):
        cases += [
            Case(f"conversation/{model}", model, conversation),
            Case(f"merged-turns/{model}", model, merged),
            Case(f"blank-parts/{model}", model, blanks),
            Case(f"mid-system/{model}", model, mid_system),
            Case(f"prefill/{model}", model, prefill),
        ]
    return cases


def _media() -> list[Case]:
    def image(url: str) -> list[Message]:
        return [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ]

    cases = [
        Case(f"image-{fmt}/{model}", model, image(PNG.replace("image/png", f"image/{fmt}")))
        for fmt in ("png", "jpeg", "jpg", "gif", "webp", "bmp")
        for model in ("claude-haiku-4-5", "nova-pro")
    ]
    cases.append(
        Case(
            "image-detail/claude-sonnet-5-5",
            "claude-sonnet-5-5",
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": PNG, "detail": "high"}}],
                }
            ],
        )
    )
    files = {
        "pdf-named": {"file_data": PDF, "filename": "Q3 report.pdf"},
        "pdf": {"file_data": PDF},
        "csv": {"file_data": CSV, "filename": "data.csv"},
        "video": {"file_data": MP4},
    }
    for label, file in files.items():
        for model in ("claude-sonnet-5-5", "nova-2-lite"):
            content = [{"type": "file", "file": file}, {"type": "text", "text": "Summarise"}]
            cases.append(Case(f"file-{label}/{model}", model, [{"role": "user", "content": content}]))
    return cases


def _tools() -> list[Case]:
    cases = []
    for model in FAMILIES:
        cases += [
            Case(f"tools/{model}", model, user("Weather?"), {"tools": [WEATHER, TIME]}),
            Case(f"tool-auto/{model}", model, user("Weather?"), {"tools": [WEATHER], "tool_choice": "auto"}),
            Case(
                f"tool-required/{model}",
                model,
                user("Weather?"),
                {"tools": [WEATHER], "tool_choice": "required"},
            ),
            Case(
                f"tool-named/{model}",
                model,
                user("Weather?"),
                {
                    "tools": [WEATHER, TIME],
                    "tool_choice": {"type": "function", "function": {"name": "get_time"}},
                },
            ),
            Case(f"tool-none/{model}", model, user("Weather?"), {"tools": [WEATHER], "tool_choice": "none"}),
            Case(f"tool-round/{model}", model, TOOL_ROUND, {"tools": [WEATHER, TIME]}),
            Case(
                f"tool-round-none/{model}",
                model,
                TOOL_ROUND,
                {"tools": [WEATHER, TIME], "tool_choice": "none"},
            ),
            Case(
                f"parallel-off/{model}",
                model,
                user("Weather?"),
                {"tools": [WEATHER], "parallel_tool_calls": False},
            ),
            Case(
                f"parallel-on-auto/{model}",
                model,
                user("Weather?"),
                {"tools": [WEATHER], "tool_choice": "auto", "parallel_tool_calls": True},
            ),
            Case(f"strict-tool/{model}", model, user("Find 7"), {"tools": [STRICT]}),
        ]
    odd_args = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_x",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "not json"},
                },
                {
                    "id": "call_y",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '"a string"'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_x", "content": "1"},
        {"role": "tool", "tool_call_id": "call_y", "content": "2"},
    ]
    cases.append(Case("tool-odd-arguments/claude-haiku-4-5", "claude-haiku-4-5", odd_args, {"tools": [TIME]}))
    return cases


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
    codex_later = codex_first.model_copy(
        update={
            "input": [
                *codex_first.input,  # type: ignore[misc]
                {"type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
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
            ]
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


CORPUS: list[Case] = [
    *_basic(),
    *_roles(),
    *_media(),
    *_tools(),
    *_structured(),
    *_reasoning(),
    *_cache(),
    *_clients(),
]
