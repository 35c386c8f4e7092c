"""The cold path stays LiteLLM-free: a fresh process that builds the app and serves Bedrock chat (whole and
streamed), an embedding and a Messages call never imports LiteLLM. (No timing here: `make bench` measures.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pennyworth_dev.bedrock_double import TEST_CREDENTIALS, BedrockDouble
from tests.conftest import API_KEY

ROOT = Path(__file__).parent.parent
QUIET_ENV = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"}


def run_probe(probe: str, env: dict[str, str] | None = None, *args: str) -> str:
    """Run `probe` in a fresh interpreter at the repository root; its stdout (it must exit 0)."""
    result = subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        env=env or QUIET_ENV,
        cwd=ROOT,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


PROBE = r"""
import json, sys
import httpx
from pennyworth.api.app import create_app
from tests.support.servers import serve_app

loaded_at_start = "litellm" in sys.modules
headers = {"Authorization": "Bearer " + sys.argv[1]}
chat = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]}
statuses = []
with serve_app(create_app()) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as http:
    statuses.append(http.post("/v1/chat/completions", json=chat).status_code)
    with http.stream("POST", "/v1/chat/completions", json={**chat, "stream": True}) as streamed:
        statuses.append(streamed.status_code)
        "".join(streamed.iter_text())
    embed = {"model": "titan-embed-text-v2", "input": ["a", "b"]}
    statuses.append(http.post("/v1/embeddings", json=embed).status_code)
    message = {"model": "claude-sonnet-5-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    statuses.append(http.post("/v1/messages", json=message).status_code)
print(json.dumps({"statuses": statuses, "at_start": loaded_at_start, "after": "litellm" in sys.modules,
                  "litellm_modules": sorted(m for m in sys.modules if m.startswith("litellm"))[:5]}))
"""


def test_serving_bedrock_never_imports_litellm(double: BedrockDouble, dynamodb: str, table_name: str) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "PYTHONPATH": str(ROOT),
        "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS[0],
        "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS[1],
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": double.url,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb,
        "PENNYWORTH_TABLE_NAME": table_name,
    }
    seen = json.loads(run_probe(PROBE, env, API_KEY).strip().splitlines()[-1])
    assert seen == {
        "statuses": [200, 200, 200, 200],
        "at_start": False,
        "after": False,
        "litellm_modules": [],
    }


def test_another_provider_still_loads_litellm_on_first_use() -> None:
    probe = (
        "import sys\n"
        "from pennyworth.llm.providers import lazy\n"
        "assert 'litellm' not in sys.modules\n"
        "from pennyworth.llm.providers.other import complete_via_litellm\n"
        "print('litellm' in sys.modules)\n"
    )
    assert run_probe(probe).strip() == "True"


def test_start_up_loads_what_the_first_bedrock_request_needs() -> None:
    """Lambda's init (and a SnapStart snapshot) holds the catalog, the price map and the translation's modules."""
    probe = (
        "import sys\n"
        "from pennyworth.api.app import create_app\n"
        "from pennyworth.llm.providers.prices import price_map\n"
        "create_app()\n"
        "needed = ['pennyworth.llm.bedrock.translate', 'pennyworth.llm.bedrock.messages', 'pennyworth.llm.bedrock.media',\n"
        "          'pennyworth.llm.bedrock.embeddings', 'pennyworth.llm.bedrock.wire', 'pennyworth.llm.bedrock.converse']\n"
        "print(price_map.cache_info().currsize, all(n in sys.modules for n in needed), 'litellm' in sys.modules)\n"
    )
    assert run_probe(probe).split() == ["1", "True", "False"]
