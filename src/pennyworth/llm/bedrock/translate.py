"""An OpenAI-shaped chat call → the Bedrock Converse request body (our own translation; LiteLLM is its oracle).

A pure function of the `ChatCall` and the catalog's facts about the model (`route.converse`): no I/O, no
LiteLLM. Messages are translated by `messages`, media by `media`; this module maps the parameters:
inference settings, tools and tool choice, structured output, reasoning. What differs from LiteLLM's
`AmazonConverseConfig`, and why, is listed in tests/test_translate_oracle.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pennyworth.catalog import ConverseFacts
from pennyworth.errors import InvalidRequest
from pennyworth.llm.bedrock.converse import JSON_MODE_TOOL
from pennyworth.llm.bedrock.messages import CachePolicy, system_and_messages
from pennyworth.llm.types import ChatCall

# Added to max tokens when thinking has a budget and the client set no limit (LiteLLM's default too).
_ANSWER_TOKENS_BESIDE_THINKING = 4096


@dataclass(frozen=True, slots=True)
class ConverseRequest:
    body: dict[str, Any]
    json_mode: bool  # structured output travels as the `json_tool_call` tool: answer it as text


def translate_chat(call: ChatCall) -> ConverseRequest:
    """The Converse body for a chat call, by the catalog's facts about its model."""
    facts = call.route.converse
    model, params = call.route.name, call.params
    cache = CachePolicy(enabled="prompt_cache" in call.route.capabilities, ttl=facts.cache_ttl)
    system, turns = system_and_messages(call.messages, cache)
    extra: dict[str, Any] = {}
    thinking = _reasoning(params.get("reasoning_effort"), facts, extra, model)
    body: dict[str, Any] = {"messages": turns, "inferenceConfig": _inference(params, facts, extra, model)}
    if system:
        body["system"] = system
    history_has_tools = any(m.get("tool_calls") or m.get("role") == "tool" for m in call.messages)
    tools, json_mode, output = _tools_and_format(params, facts, thinking, cache, model, history_has_tools)
    if tools is not None:
        body["toolConfig"] = tools
        _parallel_tool_use(params, facts, extra, tools)
    if output is not None:
        body["outputConfig"] = output
    if extra:
        body["additionalModelRequestFields"] = extra
        if "thinking" in extra:
            body["additionalModelResponseFieldPaths"] = ["/usage/output_tokens_details"]
    return ConverseRequest(body=body, json_mode=json_mode)


# --- inference settings ---------------------------------------------------------------------------------------


def _inference(
    params: dict[str, Any], facts: ConverseFacts, extra: dict[str, Any], model: str
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    max_tokens = params.get("max_completion_tokens") or params.get("max_tokens")
    budget = (extra.get("thinking") or {}).get("budget_tokens")
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    elif budget is not None:
        config["maxTokens"] = budget + _ANSWER_TOKENS_BESIDE_THINKING
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP")):
        value = params.get(ours)
        if value is None:
            continue
        if not facts.sampling_params and value != 1:
            raise InvalidRequest(
                f"{model} does not support {ours}={value}. Only {ours}=1 is supported.", param=ours
            )
        config[theirs] = value
    stop = params.get("stop")
    if isinstance(stop, str):
        stop = [stop] if stop else None
    if stop:
        config["stopSequences"] = list(stop)
    return config


# --- reasoning --------------------------------------------------------------------------------------------------


def _reasoning(effort: Any, facts: ConverseFacts, extra: dict[str, Any], model: str) -> bool:
    """Fill `extra` with the model family's reasoning fields; True when the model will think."""
    if effort is None:
        return facts.thinking_always_on
    effort = "low" if effort == "minimal" else effort
    if facts.reasoning is None:
        raise InvalidRequest(f"The model '{model}' does not support reasoning.", param="reasoning_effort")
    if effort not in ("low", "medium", "high"):
        raise InvalidRequest(f"Unsupported reasoning_effort '{effort}'.", param="reasoning_effort")
    if facts.reasoning == "nova":
        extra["reasoningConfig"] = {"type": "enabled", "maxReasoningEffort": effort}
    elif facts.reasoning == "adaptive":
        extra["thinking"] = {"type": "adaptive", "display": "summarized"}
        extra["output_config"] = {"effort": effort}
    else:
        extra["thinking"] = {"type": "enabled", "budget_tokens": facts.thinking_budgets[effort]}
    return True


# --- tools, tool choice, structured output ---------------------------------------------------------------------


def _tools_and_format(
    params: dict[str, Any],
    facts: ConverseFacts,
    thinking: bool,
    cache: CachePolicy,
    model: str,
    history_has_tools: bool,
) -> tuple[dict[str, Any] | None, bool, dict[str, Any] | None]:
    """(toolConfig or None, json_mode, outputConfig or None)."""
    tools: list[dict[str, Any]] = []
    for tool in params.get("tools") or []:
        tools.append(_tool_spec(tool.get("function") or {}, facts, "tools"))
        point = cache.point(tool)
        if point is not None:
            tools.append(point)
    choice = _tool_choice(params.get("tool_choice"), facts, thinking, model)
    if params.get("tool_choice") == "none" and not history_has_tools:
        tools = []  # Converse has no "none": offer no tools (unless earlier turns need the toolConfig)
    json_mode, output, json_tool = _structured_output(params.get("response_format"), facts)
    if json_tool is not None:
        tools.append(json_tool)
        if choice is None and facts.forced_tool_choice and not thinking:
            choice = {"tool": {"name": JSON_MODE_TOOL}}
    if not tools:
        return None, json_mode, output
    config: dict[str, Any] = {"tools": tools}
    if choice is not None:
        config["toolChoice"] = choice
    return config, json_mode, output


def _tool_spec(function: dict[str, Any], facts: ConverseFacts, param: str) -> dict[str, Any]:
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    _check_schema_shape(parameters, param)
    schema: dict[str, Any] = {
        "type": parameters.get("type", "object"),
        "properties": parameters.get("properties", {}),
        "required": parameters.get("required", []),
    }
    for key in ("$defs", "definitions"):
        if key in parameters:
            schema[key] = parameters[key]
    if facts.strict_tools and "additionalProperties" in parameters:
        schema["additionalProperties"] = parameters["additionalProperties"]
    name = function.get("name") or ""
    spec: dict[str, Any] = {
        "name": name,
        "description": function.get("description") or name,
        "inputSchema": {"json": schema},
    }
    if facts.strict_tools and function.get("strict"):
        spec["strict"] = True
    return {"toolSpec": spec}


def _check_schema_shape(schema: Any, param: str) -> None:
    """Refuse a schema Bedrock would refuse for its shape (before any call is made): an object whose
    `properties`, `$defs` and `definitions` are objects and whose `required` is a list."""
    if not isinstance(schema, dict):
        raise InvalidRequest("A JSON schema must be an object.", param=param)
    for key in ("properties", "$defs", "definitions"):
        if key in schema and not isinstance(schema[key], dict):
            raise InvalidRequest(f"The schema's '{key}' must be an object.", param=param)
    if "required" in schema and not isinstance(schema["required"], list):
        raise InvalidRequest("The schema's 'required' must be a list.", param=param)


def _tool_choice(choice: Any, facts: ConverseFacts, thinking: bool, model: str) -> dict[str, Any] | None:
    if choice is None or choice == "none":
        return None
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        forced: dict[str, Any] = {"any": {}}
    elif isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
        forced = {"tool": {"name": choice["function"]["name"]}}
    else:
        raise InvalidRequest(f"Unsupported tool_choice {choice!r}.", param="tool_choice")
    if not facts.forced_tool_choice:
        raise InvalidRequest(
            f"{model} does not support forced tool use (tool_choice='required' or a named tool). "
            "Use tool_choice='auto' and tell the model in the prompt when to call the tool.",
            param="tool_choice",
        )
    return {"auto": {}} if thinking else forced  # a thinking model may not be forced: it chooses


def _structured_output(
    response_format: Any, facts: ConverseFacts
) -> tuple[bool, dict[str, Any] | None, dict[str, Any] | None]:
    """(json_mode, outputConfig, json_tool_call tool) for OpenAI's `response_format`."""
    if not isinstance(response_format, dict) or response_format.get("type") in (None, "text"):
        return False, None, None
    spec = response_format.get("json_schema") or {}
    schema = spec.get("schema")
    if schema is None:  # json_object: the prompt asks for JSON; an empty schema would only get `{}` back
        return True, None, None
    _check_schema_shape(schema, "response_format")
    if facts.structured_output == "native":
        definition: dict[str, Any] = {"schema": json.dumps(closed_objects(schema))}
        for key in ("name", "description"):
            if spec.get(key) is not None:
                definition[key] = spec[key]
        output = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}
        return False, output, None
    tool = _tool_spec(
        {"name": JSON_MODE_TOOL, "description": spec.get("description"), "parameters": schema},
        facts,
        "response_format",
    )
    return True, None, tool


def closed_objects(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object that does not say (Bedrock requires it
    for native structured output)."""
    if not isinstance(schema, dict):
        return schema
    result = dict(schema)
    if result.get("type") == "object" and "additionalProperties" not in result:
        result["additionalProperties"] = False
    if isinstance(result.get("properties"), dict):
        result["properties"] = {k: closed_objects(v) for k, v in result["properties"].items()}
    if isinstance(result.get("items"), dict):
        result["items"] = closed_objects(result["items"])
    for key in ("$defs", "definitions"):
        if isinstance(result.get(key), dict):
            result[key] = {k: closed_objects(v) for k, v in result[key].items()}
    for key in ("anyOf", "allOf", "oneOf"):
        if isinstance(result.get(key), list):
            result[key] = [closed_objects(item) for item in result[key]]
    return result


def _parallel_tool_use(
    params: dict[str, Any], facts: ConverseFacts, extra: dict[str, Any], tools: dict[str, Any]
) -> None:
    """Claude's `disable_parallel_tool_use` (Converse has no field of its own for parallel_tool_calls)."""
    parallel = params.get("parallel_tool_calls")
    if parallel is None or not facts.parallel_tool_config:
        return
    setting: dict[str, Any] = {"disable_parallel_tool_use": not parallel}
    if "toolChoice" not in tools:  # with a toolChoice, Converse refuses a second `type`
        setting = {"type": "auto", **setting}
    extra["tool_choice"] = setting
