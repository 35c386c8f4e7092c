"""Run the real Claude Code and Codex CLI (installed by `make clients` into build/clients/) against a gateway.

Each run gets a throwaway HOME (and CODEX_HOME), an environment built from scratch (nothing of the caller's
leaks in: no real keys, no proxies) and a dead proxy for anything that is not loopback, so a client that tries
to phone home (telemetry, update checks, model lists) fails fast instead of reaching the network. The gateway's
request log lines made with the run's key are collected while the client runs.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pennyworth.access.keys import parse_key

BIN = Path(__file__).resolve().parents[2] / "build" / "clients" / "node_modules" / ".bin"
CLAUDE = BIN / "claude"
CODEX = BIN / "codex"
TIMEOUT_SECONDS = 90
# Anything but loopback goes to a port nobody listens on.
_OFFLINE = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


def missing_clients() -> str | None:
    """Why the client tier cannot run here, or None when both clients are installed."""
    absent = [path.name for path in (CLAUDE, CODEX) if not path.exists()]
    if absent:
        return f"{', '.join(absent)} not installed in build/clients (run `make clients`; needs node and npm)"
    return None


@dataclass
class ClientRun:
    """What a client printed and what the gateway logged while it ran."""

    returncode: int
    stdout: str
    stderr: str
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status) per gateway request
    errors: list[str] = field(default_factory=list)  # the gateway's error code (and field) per refusal

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def statuses(self, path: str) -> list[int]:
        return [status for logged_path, status in self.requests if logged_path == path]


class _RequestLines(logging.Handler):
    """Collects the gateway's one-line-per-request records (path and status) made with one key."""

    def __init__(self, key_id: str | None) -> None:
        super().__init__(logging.INFO)
        self.key_id = key_id
        self.requests: list[tuple[str, int]] = []
        self.errors: list[str] = []  # the error code (and field) of each refused request, for diagnosis

    def settle(self, quiet: float = 0.3, limit: float = 3.0) -> None:
        """Wait until no line has come for `quiet` seconds: the gateway writes a request's line after the
        response went out, so the client can exit before its last line is logged."""
        until = time.monotonic() + limit
        while time.monotonic() < until:
            seen = len(self.requests)
            time.sleep(quiet)
            if len(self.requests) == seen:
                return

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "request" and getattr(record, "key_id", None) == self.key_id:
            self.requests.append((str(getattr(record, "path", "")), int(getattr(record, "status", 0))))
            if getattr(record, "error", None):
                self.errors.append(str(record.error))


@contextmanager
def _gateway_log(api_key: str) -> Iterator[_RequestLines]:
    handler = _RequestLines(parse_key(api_key))
    gateway_logger = logging.getLogger("pennyworth")
    level = gateway_logger.level
    gateway_logger.setLevel(logging.INFO)  # what configure_logging sets in an entry point
    gateway_logger.addHandler(handler)
    try:
        yield handler
    finally:
        gateway_logger.removeHandler(handler)
        gateway_logger.setLevel(level)


def _run(argv: list[str], env: dict[str, str], cwd: Path, api_key: str) -> ClientRun:
    with _gateway_log(api_key) as log:
        done = subprocess.run(
            argv,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **_OFFLINE, **env},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        log.settle()
    return ClientRun(done.returncode, done.stdout, done.stderr, list(log.requests), list(log.errors))


def run_claude(gateway_url: str, api_key: str, home: Path, prompt: str, *args: str) -> ClientRun:
    """`claude -p PROMPT ARGS...` against the gateway, with non-essential traffic and retries off."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway_url,
        "ANTHROPIC_AUTH_TOKEN": api_key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }
    return _run([str(CLAUDE), "-p", prompt, *args], env, cwd=home, api_key=api_key)


def codex_config(gateway_url: str, model: str, extra: str = "") -> str:
    """A CODEX_HOME config.toml: one `model_providers` entry on the Responses wire, no retries, no updates."""
    return f"""model = "{model}"
model_provider = "pennyworth"
check_for_update_on_startup = false
{extra}

[model_providers.pennyworth]
name = "pennyworth"
base_url = "{gateway_url}/v1"
env_key = "PENNYWORTH_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
"""


def run_codex(
    gateway_url: str, api_key: str, home: Path, prompt: str, *args: str, model: str, extra_config: str = ""
) -> ClientRun:
    """`codex exec --skip-git-repo-check --json ARGS... PROMPT` with a throwaway CODEX_HOME."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(codex_config(gateway_url, model, extra_config))
    env = {"HOME": str(home), "CODEX_HOME": str(home), "PENNYWORTH_API_KEY": api_key}
    argv = [str(CODEX), "exec", "--skip-git-repo-check", "--json", *args, prompt]
    return _run(argv, env, cwd=home, api_key=api_key)
