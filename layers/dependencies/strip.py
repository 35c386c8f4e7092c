"""Remove from the built dependency layer what the gateway never loads on Lambda.

    python strip.py <layer>/python

Kept: every module the app imports (the artefact check imports the app from the built tree, runs its
Bedrock translations, reads LiteLLM's price map file and imports LiteLLM as routes to other providers do).
Removed: byte-code caches, test suites, LiteLLM's proxy-server UI and static files, LiteLLM's optional
Rust accelerator (its loader falls back to Python when the extension is absent, and the gateway's Bedrock
path does not go through LiteLLM at all), the Hugging Face download accelerator (hf_xet: downloads only),
botocore service models for services the gateway does not call, and — where `llvm-strip` is installed —
debug symbols of compiled extensions. Prints the size before and after.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

BOTOCORE_SERVICES_KEPT = {
    "dynamodb",
    "dynamodbstreams",
    "secretsmanager",
    "sts",
    "sso",
    "sso-oidc",
    "bedrock-runtime",
}
REMOVED_TREES = (
    "litellm/proxy/_experimental",  # the proxy's admin UI (static web build)
    "litellm/proxy/swagger",  # the proxy's Swagger assets
    "hf_xet",  # Hugging Face transfer accelerator: downloads only
)
REMOVED_FILES = ("litellm/rust_bridge/_native.abi3.so",)


def size_mb(root: Path) -> float:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 1_000_000


def strip(root: Path) -> None:
    for relative in REMOVED_TREES:
        shutil.rmtree(root / relative, ignore_errors=True)
    for relative in REMOVED_FILES:
        (root / relative).unlink(missing_ok=True)
    for cache in [p for p in root.rglob("__pycache__") if p.is_dir()]:
        shutil.rmtree(cache, ignore_errors=True)
    for tests in [p for p in root.glob("*/tests") if p.is_dir()] + [
        p for p in root.glob("*/test") if p.is_dir()
    ]:
        shutil.rmtree(tests, ignore_errors=True)
    data = root / "botocore" / "data"
    if data.is_dir():
        for service in data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_SERVICES_KEPT:
                shutil.rmtree(service)


def strip_debug_symbols(root: Path) -> bool:
    """Drop debug sections from compiled extensions (any target architecture) with llvm-strip, if present."""
    tool = shutil.which("llvm-strip")
    if tool is None:
        print("llvm-strip not found: compiled extensions keep their debug symbols (the layer is larger)")
        return False
    libraries = [str(p) for p in root.rglob("*.so*") if p.is_file()]
    if libraries:
        subprocess.run([tool, "--strip-debug", *libraries], check=True)
    return True


def main() -> None:
    root = Path(sys.argv[1])
    before = size_mb(root)
    strip(root)
    strip_debug_symbols(root)
    print(f"dependency layer: {before:.1f} MB -> {size_mb(root):.1f} MB unzipped")


if __name__ == "__main__":
    main()
