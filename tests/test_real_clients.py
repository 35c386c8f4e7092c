"""The real Claude Code and Codex CLI against the gateway and the Bedrock double (the client tier).

Pinned versions from tests/clients/package-lock.json, installed by `make clients`; skipped with a message when
they are not installed (no node/npm). The double is steered by directives in the prompt: a named tool with
given arguments, an upstream error, a failure after the stream began.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.settings import Settings
from pennyworth_dev.bedrock_double import BedrockDouble
from tests.support.clients import ClientRun, missing_clients, run_claude, run_codex

_MISSING = missing_clients()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"client tier did not run: {_MISSING}")
CODEX_MODEL = "claude-sonnet-5-5"
TOOL_OUTPUT = "pennyworth-tool-ok"
MIDSTREAM = "[[double:midstream_error=modelStreamErrorException]] [[double:error_after=2]]"


@pytest.fixture
def key(dynamodb: str, table_name: str) -> str:
    """A key of the test's own: the run collects only its gateway lines (an earlier test's request line can be
    logged after that test ended, as the response goes out before the line is written)."""
    settings = Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=table_name)
    return KeyStore(table(settings)).create({"name": "client tier"})[1]


def _tool_prompt(tool: str, arguments: str) -> str:
    return f"Run it [[double:tool={tool}]] [[double:tool_input={arguments}]]"


def _calls_since(double: BedrockDouble, before: int) -> list[tuple[str, str, dict[str, Any]]]:
    return double.requests[before:]


def _claude_result(run: ClientRun) -> dict[str, Any]:
    (result,) = [line for line in run.json_lines() if line.get("type") == "result"]
    return result


def _assert_no_client_error(run: ClientRun, double: BedrockDouble) -> None:
    """Claude Code sessions must cost no 400 (and no other error) at the gateway. When one does, the message
    names the gateway's error codes and the double's latest refusals (Bedrock's own texts), to find its cause."""
    assert run.statuses("/v1/messages"), run.stderr
    assert set(run.statuses("/v1/messages")) == {200}, (run.requests, run.errors, double.refusals[-3:])


# --- Claude Code -------------------------------------------------------------------------------------------


def test_claude_code_plain_prompt_json(
    gateway_url: str, key: str, double: BedrockDouble, tmp_path: Path
) -> None:
    before = len(double.requests)
    run = run_claude(gateway_url, key, tmp_path, "Say hello", "--output-format", "json")
    assert run.returncode == 0, run.stderr
    result = _claude_result(run)
    assert result["is_error"] is False
    assert result["result"] == "Hello from Claude on the Bedrock double."
    _assert_no_client_error(run, double)
    calls = _calls_since(double, before)
    assert [model for _op, model, _body in calls] == ["us.anthropic.claude-opus-5-5"]
    body = calls[0][2]
    assert all(m["role"] in ("user", "assistant") for m in body["messages"])
    assert str(tmp_path) in body["system"][-1]["text"]  # its environment block, lifted into the system prompt
    assert "thinking" in body  # Claude Code's adaptive thinking reaches Bedrock


def test_claude_code_streamed_output(
    gateway_url: str, key: str, double: BedrockDouble, tmp_path: Path
) -> None:
    prompt = "Count [[double:chunks=40]]"
    args = ("--output-format", "stream-json", "--verbose", "--include-partial-messages")
    run = run_claude(gateway_url, key, tmp_path, prompt, *args)
    assert run.returncode == 0, run.stderr
    result = _claude_result(run)
    assert result["result"] == " ".join(f"w{i}" for i in range(40))
    deltas = [
        line["event"]["delta"]["type"]
        for line in run.json_lines()
        if line.get("type") == "stream_event" and line["event"]["type"] == "content_block_delta"
    ]
    assert deltas.count("text_delta") == 40  # one per word the double streamed: nothing was buffered whole
    assert deltas.count("signature_delta") == 1  # its adaptive thinking block arrived signed
    _assert_no_client_error(run, double)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [("Bash", f'{{"command": "echo {TOOL_OUTPUT}"}}'), ("Read", '{"file_path": "FILE"}')],
)
def test_claude_code_tool_round_trip_with_thinking(
    gateway_url: str, key: str, double: BedrockDouble, tmp_path: Path, tool: str, arguments: str
) -> None:
    readable = tmp_path / "note.txt"
    readable.write_text(f"{TOOL_OUTPUT}\n")
    before = len(double.requests)
    prompt = _tool_prompt(tool, arguments.replace("FILE", str(readable)))
    run = run_claude(gateway_url, key, tmp_path, prompt, "--output-format", "json", "--allowedTools", tool)
    assert run.returncode == 0, run.stderr
    result = _claude_result(run)
    assert result["is_error"] is False
    assert TOOL_OUTPUT in result["result"]
    _assert_no_client_error(run, double)
    follow_up = _calls_since(double, before)[-1][2]
    assistant = follow_up["messages"][-2]
    kinds = [block["type"] for block in assistant["content"]]
    assert kinds == ["thinking", "tool_use"]  # the signed thinking block is replayed ahead of its tool use
    assert follow_up["messages"][-1]["content"][0]["type"] == "tool_result"


def test_claude_code_subagent_session(
    gateway_url: str, key: str, double: BedrockDouble, tmp_path: Path
) -> None:
    """A subagent opens its own session (with its own environment block): still no 400."""
    before = len(double.requests)
    arguments = '{"description": "look", "prompt": "Say hi", "subagent_type": "general-purpose"}'
    prompt = _tool_prompt("Agent", arguments)
    run = run_claude(gateway_url, key, tmp_path, prompt, "--output-format", "json", "--allowedTools", "Agent")
    assert run.returncode == 0, run.stderr
    _assert_no_client_error(run, double)
    assert len(_calls_since(double, before)) >= 3  # the parent's two turns and the subagent's own


def test_claude_code_on_a_retired_model(
    gateway_url: str, key: str, double: BedrockDouble, tmp_path: Path
) -> None:
    before = len(double.requests)
    model = "claude-sonnet-4-5-20250929"
    run = run_claude(gateway_url, key, tmp_path, "Say hello", "--output-format", "json", "--model", model)
    assert run.returncode == 0, run.stderr
    assert _claude_result(run)["result"] == "Hello from Claude on the Bedrock double."
    _assert_no_client_error(run, double)
    assert {m for _op, m, _body in _calls_since(double, before)} == {"us.anthropic.claude-sonnet-5-5"}


def test_claude_code_upstream_error(gateway_url: str, key: str, tmp_path: Path) -> None:
    prompt = "Hi [[double:error=ThrottlingException]]"
    run = run_claude(gateway_url, key, tmp_path, prompt, "--output-format", "json")
    result = _claude_result(run)
    assert result["is_error"] is True
    assert result["api_error_status"] == 429
    assert "Injected ThrottlingException from the Bedrock double." in result["result"]
    assert run.statuses("/v1/messages") == [429]


def test_claude_code_midstream_failure_falls_back(
    gateway_url: str, key: str, double: BedrockDouble, tmp_path: Path
) -> None:
    before = len(double.requests)
    run = run_claude(gateway_url, key, tmp_path, f"Hi {MIDSTREAM}", "--output-format", "json")
    assert run.returncode == 0, run.stderr
    assert _claude_result(run)["result"] == "Hello from Claude on the Bedrock double."
    _assert_no_client_error(run, double)
    operations = [op for op, _model, _body in _calls_since(double, before)]
    assert operations == ["invoke-with-response-stream", "invoke"]  # the stream failed; it asked again


# --- Codex CLI ---------------------------------------------------------------------------------------------


def _codex_items(run: ClientRun, kind: str) -> list[dict[str, Any]]:
    return [
        line["item"]
        for line in run.json_lines()
        if line.get("type") == "item.completed" and line["item"]["type"] == kind
    ]


def test_codex_plain_prompt(gateway_url: str, key: str, double: BedrockDouble, tmp_path: Path) -> None:
    before = len(double.requests)
    run = run_codex(gateway_url, key, tmp_path, "Say hello", model=CODEX_MODEL)
    assert run.returncode == 0, run.stderr
    (message,) = _codex_items(run, "agent_message")
    assert message["text"].startswith("This is a simulated Bedrock reply to:")
    assert run.statuses("/v1/responses") == [200]
    assert [model for _op, model, _body in _calls_since(double, before)] == ["us.anthropic.claude-sonnet-5-5"]


def test_codex_streamed_output(gateway_url: str, key: str, tmp_path: Path) -> None:
    run = run_codex(gateway_url, key, tmp_path, "Count [[double:chunks=40]]", model=CODEX_MODEL)
    assert run.returncode == 0, run.stderr
    (message,) = _codex_items(run, "agent_message")
    assert message["text"] == " ".join(f"w{i}" for i in range(40))


@pytest.mark.parametrize("effort", [None, "high"])
def test_codex_tool_round_trip(
    gateway_url: str, key: str, double: BedrockDouble, tmp_path: Path, effort: str | None
) -> None:
    extra = f'model_reasoning_effort = "{effort}"' if effort else ""
    before = len(double.requests)
    prompt = _tool_prompt("exec_command", f'{{"cmd": "echo {TOOL_OUTPUT}"}}')
    run = run_codex(gateway_url, key, tmp_path, prompt, model=CODEX_MODEL, extra_config=extra)
    assert run.returncode == 0, run.stderr
    (command,) = _codex_items(run, "command_execution")
    assert command["exit_code"] == 0
    assert TOOL_OUTPUT in command["aggregated_output"]
    (message,) = _codex_items(run, "agent_message")
    assert TOOL_OUTPUT in message["text"]
    assert run.statuses("/v1/responses") == [200, 200]
    calls = _calls_since(double, before)
    assert len(calls) == 2
    thinking = [("thinking" in (body.get("additionalModelRequestFields") or {})) for _op, _m, body in calls]
    assert thinking == [effort is not None] * 2


@pytest.mark.parametrize(
    ("error", "status", "shown"),
    [
        ("ValidationException", 400, "Injected ValidationException from the Bedrock double."),
        ("ThrottlingException", 429, "429 Too Many Requests"),
    ],
)
def test_codex_upstream_error(
    gateway_url: str, key: str, tmp_path: Path, error: str, status: int, shown: str
) -> None:
    run = run_codex(gateway_url, key, tmp_path, f"Hi [[double:error={error}]]", model=CODEX_MODEL)
    assert run.returncode == 1
    (failed,) = [line for line in run.json_lines() if line.get("type") == "turn.failed"]
    assert shown in failed["error"]["message"]
    assert run.statuses("/v1/responses") == [status]


def test_codex_midstream_failure(gateway_url: str, key: str, tmp_path: Path) -> None:
    """The stream ends with `response.failed`: Codex shows the gateway's message (after its generic
    "stream disconnected before completion:" prefix, which it puts on every failed stream); a bare `error`
    event left it only "stream closed before response.completed"."""
    run = run_codex(gateway_url, key, tmp_path, f"Hi {MIDSTREAM}", model=CODEX_MODEL)
    assert run.returncode == 1
    (failed,) = [line for line in run.json_lines() if line.get("type") == "turn.failed"]
    assert "Injected modelStreamErrorException from the Bedrock double." in failed["error"]["message"]
    assert "response.completed" not in failed["error"]["message"]
