"""House rules that keep the request path readable: dependencies point one way, one package imports LiteLLM,
one module spells the table's item layout, no dev code in the app, no network at import."""

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


def _package_of(path: Path) -> str:
    """`pennyworth/access/keys.py` → `access`; top-level modules (settings, errors, catalog) → `core`."""
    parts = path.relative_to(SRC / "pennyworth").parts
    return parts[0] if len(parts) > 1 else "core"


# What each layer may import from the others. The request path reads api → access → llm → aws; runtime builds
# the app; cli administers the table; `core` (settings, errors, catalog, observability) is shared by all.
ALLOWED = {
    "core": {"core"},
    "aws": {"core", "aws"},
    "llm": {"core", "aws", "llm"},
    "access": {"core", "aws", "llm", "access"},
    "api": {"core", "aws", "llm", "access", "api", "runtime"},
    "runtime": {"core", "api", "runtime", "access", "llm", "aws"},
    "cli": {"core", "access", "aws", "cli", "runtime"},
}


def _layer(module: str) -> str | None:
    if module != "pennyworth" and not module.startswith("pennyworth."):
        return None
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in {"settings", "errors", "catalog", "observability"}:
        return "core"
    return parts[1]


def test_dependencies_point_down_the_request_path() -> None:
    wrong = []
    for path in (SRC / "pennyworth").rglob("*.py"):
        here = _package_of(path)
        for name in imported_modules(path):
            there = _layer(name)
            if there is not None and there not in ALLOWED[here]:
                wrong.append(f"{path.relative_to(SRC)} imports {name}")
    assert wrong == []


def test_nothing_below_the_api_imports_it() -> None:
    importers = [
        p.relative_to(SRC).as_posix()
        for p in (SRC / "pennyworth").rglob("*.py")
        if _package_of(p) not in {"api", "runtime"}
        and any(n.startswith("pennyworth.api") for n in imported_modules(p))
    ]
    assert importers == []


def test_only_llm_providers_imports_litellm() -> None:
    importers = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if any(name == "litellm" or name.startswith("litellm.") for name in imported_modules(p))
    ]
    assert importers and all(p.startswith("pennyworth/llm/providers/") for p in importers), importers


ITEM_LAYOUT = re.compile(r"[\"'](KEY|RATE|SPEND|USAGE)#|[\"']META[\"']")


def test_only_the_table_module_spells_the_item_layout() -> None:
    spellers = [
        p.relative_to(SRC).as_posix()
        for p in (SRC / "pennyworth").rglob("*.py")
        if ITEM_LAYOUT.search(p.read_text())
    ]
    assert spellers == ["pennyworth/access/table.py"]


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
    assert readers == []  # pydantic-settings in settings.py reads it; llm/providers only sets LiteLLM's flags


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
    probe = (
        "import os, pennyworth.llm.providers.other; print(os.environ.get('PENNYWORTH_DEFAULT_CHAT_MODEL'))"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "None"


def test_one_module_configures_logging() -> None:
    """Loggers come from `observability.get_logger`; only observability touches handlers or levels."""
    owners = [
        p.relative_to(SRC).as_posix()
        for p in (SRC / "pennyworth").rglob("*.py")
        if re.search(r"logging\.(getLogger|basicConfig|StreamHandler|config)\b|\bLogger\(", p.read_text())
    ]
    assert owners == ["pennyworth/observability.py"]
