"""House rules that keep the request path readable: one LiteLLM importer, no dev code in the app, no network."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).parent.parent / "src"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_exactly_one_module_imports_litellm() -> None:
    importers = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if any(name == "litellm" or name.startswith("litellm.") for name in imported_modules(p))
    ]
    assert importers == ["pennyworth/llm/boundary.py"]


def test_app_never_imports_dev_tools() -> None:
    offenders = [
        p
        for p in (SRC / "pennyworth").rglob("*.py")
        if any(n.startswith("pennyworth_dev") for n in imported_modules(p))
    ]
    assert offenders == []


ENV_READ = re.compile(r"os\.environ\.get|os\.getenv|os\.environ\[[^\]]+\](?!\s*=)|environ\.items")


def test_only_settings_reads_the_environment() -> None:
    readers = [
        p.relative_to(SRC).as_posix()
        for p in (SRC / "pennyworth").rglob("*.py")
        if ENV_READ.search(p.read_text())
    ]
    assert readers == []  # pydantic-settings in settings.py reads it; the boundary only sets LiteLLM's flag


def test_modules_stay_small_and_documented() -> None:
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        assert len(text.splitlines()) <= 400, f"{path} is over 400 lines"
        assert ast.get_docstring(ast.parse(text)), f"{path} has no module docstring"


def test_building_the_app_touches_no_network() -> None:
    probe = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError(f'network access at import: {a}')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from pennyworth.api.app import create_app\n"
        "app = create_app()\n"
        "print('ok', len(app.routes))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")


def test_litellm_does_not_load_dotenv_files(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PENNYWORTH_DEFAULT_CHAT_MODEL=planted-by-dotenv\n")
    probe = "import os, pennyworth.llm.boundary; print(os.environ.get('PENNYWORTH_DEFAULT_CHAT_MODEL'))"
    env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "None"
