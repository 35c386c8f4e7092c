"""The corpus of chat calls the differential test sends through our translation and LiteLLM's.

Every feature of the translation, on each model family of the catalog: here inference settings, roles, media
and tools; structured output, reasoning, cache points and real clients' shapes in translate_corpus_clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """An OpenAI tool call as an assistant message carries it."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


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
            call("call_1", "get_weather", '{"city": "Paris"}'),
            call("call_2", "get_weather", '{"city":"London"}'),
            call("call_3", "get_time", ""),
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
        "tool_calls": [call("toolu_1", "get_weather", '{"city":"Paris"}')],
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
                call("call_x", "get_time", "not json"),
                call("call_y", "get_time", '"a string"'),
            ],
        },
        {"role": "tool", "tool_call_id": "call_x", "content": "1"},
        {"role": "tool", "tool_call_id": "call_y", "content": "2"},
    ]
    cases.append(Case("tool-odd-arguments/claude-haiku-4-5", "claude-haiku-4-5", odd_args, {"tools": [TIME]}))
    return cases


BASIC_CORPUS: list[Case] = [*_basic(), *_roles(), *_media(), *_tools()]
