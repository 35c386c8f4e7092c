"""Check the `sam build` artefact: size, lock fidelity, architecture, and that python3.13 imports and runs it.

    python scripts/check_artifact.py [.aws-sam/build]

1. function + dependency layer ≤ 120 MB unzipped (Lambda's limit is 250 MB);
2. the layer holds exactly the distributions and versions pinned in requirements/runtime.txt;
3. every compiled extension is an arm64 (aarch64) ELF, built for CPython 3.13 or the stable ABI;
4. python3.13 imports the app from the artefact and runs our Bedrock translation, pricing from the shipped price
   map, token estimates and AWS clients without loading LiteLLM, then loads it as other providers do. On an arm64 host the artefact itself is used; elsewhere its compiled extensions cannot load, so
   the same lock and the same strip step are built once more for this host and checked with the function
   code from the artefact. Without python3.13 this step says SKIPPED and why.
Exits non-zero on any failure.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MB = 120
AARCH64 = 0xB7
SMOKE = r"""
import os
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
import sys, boto3
assert sys.version_info[:2] == (3, 13), sys.version
from pennyworth.api.app import create_app
from pennyworth.catalog import ModelRoute
from pennyworth.llm.providers.prices import cost_usd
from pennyworth.llm.providers.tokens import estimate_prompt_tokens
from pennyworth.llm.bedrock.embeddings import embedding_bodies
from pennyworth.llm.bedrock.translate import translate_chat
from pennyworth.llm.types import ChatCall, Usage
app = create_app()
route = app.state.services.catalog.resolve("claude-haiku-4-5")  # the catalog's facts drive the translation
tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}}
image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
for params in ({}, {"tools": [tool], "tool_choice": "required"}, {"reasoning_effort": "low"},
               {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}):
    translate_chat(ChatCall(route=route, messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}, image]}], params=params))
titan = ModelRoute(name="t", kind="embedding", provider="bedrock", model_id="amazon.titan-embed-text-v2:0")
assert embedding_bodies(titan, ["a"], 256)
assert cost_usd(route, Usage(prompt_tokens=10, completion_tokens=5)) > 0
assert estimate_prompt_tokens(route, [{"role": "user", "content": "hello there"}]) > 0
assert "litellm" not in sys.modules, "the Bedrock path imported LiteLLM"
from pennyworth.llm.providers.prices import price_map_path
assert price_map_path().is_file(), "the layer lost LiteLLM's price map"
import pennyworth.llm.providers.other  # other providers still load LiteLLM on first use
for service in ("dynamodb", "secretsmanager", "sts"):
    boto3.client(service, region_name="us-east-1")
boto3.resource("dynamodb", region_name="us-east-1").Table("t")
import uvicorn, mangum, aws_lambda_powertools  # the entry points' imports
print("smoke ok:", len(app.routes), "routes")
"""


def size_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


LAMBDA_ENVIRONMENT = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "implementation_name": "cpython",
}


def pinned() -> dict[str, str]:
    """The lock's pins whose environment markers hold on Lambda (python3.13, Linux, arm64)."""
    from packaging.markers import Marker

    pins = {}
    for line in (ROOT / "requirements" / "runtime.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
        if match and (not match.group(3) or Marker(match.group(3)).evaluate(LAMBDA_ENVIRONMENT)):
            pins[_normal(match.group(1))] = match.group(2)
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(layer: Path) -> dict[str, str]:
    found = {}
    for meta in layer.glob("*.dist-info/METADATA"):
        header = meta.read_text(errors="replace").split("\n\n", 1)[0]
        fields = dict(re.findall(r"^(Name|Version): (.+)$", header, re.MULTILINE))
        found[_normal(fields["Name"])] = fields["Version"].strip()
    return found


def wrong_architecture(layer: Path) -> list[str]:
    bad = []
    for library in layer.rglob("*.so*"):
        if not library.is_file():
            continue
        header = library.read_bytes()[:20]
        if (
            header[:4] != b"\x7fELF"
            or int.from_bytes(header[18:20], "little") != AARCH64
            or ("cpython-" in library.name and "cpython-313" not in library.name)
        ):
            bad.append(str(library.relative_to(layer)))
    return bad


def host_twin_layer(target: Path) -> Path:
    """The same lock and strip step, built for this host's architecture (for the import check)."""
    machine = platform.machine()
    flags = f"--platform manylinux_2_28_{machine} --platform manylinux2014_{machine} --platform manylinux_2_17_{machine}"
    subprocess.run(
        [
            "make",
            "-s",
            "-f",
            str(ROOT / "layers" / "dependencies" / "Makefile"),
            "build-DependenciesLayer",
            f"ARTIFACTS_DIR={target}",
            f"PLATFORM={flags}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
    )
    return target / "python"


def find_python313() -> str | None:
    """A working python3.13 (pyenv's shims answer to the name without being one)."""
    candidates = [str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))]
    candidates += [c for c in [shutil.which("python3.13")] if c]
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


def import_check(function: Path, layer: Path) -> str:
    python = find_python313()
    if python is None:
        return (
            "SKIPPED: python3.13 not found (install it, e.g. `pyenv install 3.13`, to run the import check)"
        )
    with tempfile.TemporaryDirectory() as scratch:
        if platform.machine() not in ("aarch64", "arm64"):
            layer = host_twin_layer(Path(scratch))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": f"{function}:{layer}",
            "HOME": scratch,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "PYTHONNOUSERSITE": "1",
        }
        result = subprocess.run(
            [python, "-I", "-c", f"import sys; sys.path[:0] = {[str(function), str(layer)]!r}\n" + SMOKE],
            capture_output=True,
            text=True,
            env=env,
            cwd=scratch,
            timeout=600,
        )
    if result.returncode != 0:
        raise SystemExit(f"import check FAILED under {python}:\n{result.stderr[-3000:]}")
    return f"ok under {python}: {result.stdout.strip()}"


def main() -> int:
    build = (Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".aws-sam" / "build").resolve()
    function, layer = build / "GatewayFunction", build / "DependenciesLayer" / "python"
    if not function.is_dir() or not layer.is_dir():
        print(f"no artefact in {build}: run `sam build` first", file=sys.stderr)
        return 1
    failures = []
    total = size_bytes(function) + size_bytes(build / "DependenciesLayer")
    print(
        f"size: function {size_bytes(function) / 1e6:.1f} MB + layer {size_bytes(layer) / 1e6:.1f} MB = {total / 1e6:.1f} MB (budget {BUDGET_MB} MB)"
    )
    if total > BUDGET_MB * 1_000_000:
        failures.append(f"artefact is {total / 1e6:.1f} MB, over the {BUDGET_MB} MB budget")
    if (function / "pennyworth_dev").exists() or not (function / "run.sh").exists():
        failures.append("function code must hold pennyworth/ and run.sh, and never pennyworth_dev/")
    expected, found = pinned(), installed(layer)
    if expected != found:
        diff = sorted(set(expected.items()) ^ set(found.items()))
        failures.append(f"layer differs from requirements/runtime.txt: {diff}")
    else:
        print(
            f"lock: the layer holds exactly the {len(found)} pinned distributions (litellm {found.get('litellm')})"
        )
    bad = wrong_architecture(layer)
    if bad:
        failures.append(f"not arm64 / cp313: {bad[:10]}")
    else:
        print("architecture: every compiled extension is aarch64 (cp313 or abi3)")
    if failures:
        print("\n".join(f"FAILED: {f}" for f in failures), file=sys.stderr)
        return 1
    print("imports:", import_check(function, layer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
