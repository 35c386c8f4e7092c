"""The servers `gateway_bench` measures (pennyworth, and the AWS sample bedrock-access-gateway when present):
how each is started, and what is measured of it — start to first answer, RSS, CPU per request and per chunk
(from /proc, so the load generator is not counted), time to first token."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

KEY_ID, KEY = "000000be4c00", "pw-000000be4c00-benchmark-key-not-a-secret-0000000000000000"
MODEL_ID = "us.amazon.nova-pro-v1:0"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class Server:
    """How to start one OpenAI-compatible server under test and talk to it."""

    argv: list[str]
    env: dict[str, str]
    chat_path: str  # e.g. /v1/chat/completions
    model: str
    key: str
    cwd: str | None = None

    def body(self, prompt: str, stream: bool = False) -> dict:
        return {"model": self.model, "messages": [{"role": "user", "content": prompt}], "stream": stream}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def pennyworth_server(env: dict[str, str]) -> Server:
    argv = [sys.executable, "-m", "pennyworth.cli.main", "serve", "--port", "{port}"]
    return Server(argv, env, "/v1/chat/completions", "nova-pro", KEY)


def bedrock_access_gateway(double_url: str) -> Server | None:
    """The AWS sample, if its checkout and interpreter are named in the environment (else None)."""
    src, python = (
        os.environ.get("BEDROCK_ACCESS_GATEWAY_SRC"),
        os.environ.get("BEDROCK_ACCESS_GATEWAY_PYTHON"),
    )
    if not src or not python or not Path(src, "api", "app.py").is_file():
        print(
            "bedrock-access-gateway baseline skipped: set BEDROCK_ACCESS_GATEWAY_SRC (its src folder) and "
            "BEDROCK_ACCESS_GATEWAY_PYTHON (a python with its requirements) to measure it",
            file=sys.stderr,
        )
        return None
    from pennyworth.llm.providers.prices import price_map_path
    from pennyworth_dev.bedrock_double import TEST_CREDENTIALS

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "API_KEY": KEY,
        "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS[0],
        "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS[1],
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": double_url,
        "AWS_ENDPOINT_URL_BEDROCK": double_url,  # its model listing at import fails fast against the double
        "DEFAULT_MODEL": MODEL_ID,
        "ENABLE_CROSS_REGION_INFERENCE": "false",
        "ENABLE_APPLICATION_INFERENCE_PROFILES": "false",
        # tiktoken's cl100k_base, from the copy the pinned litellm package ships (no download)
        "TIKTOKEN_CACHE_DIR": str(price_map_path().parent / "litellm_core_utils" / "tokenizers"),
    }
    argv = [
        python,
        "-m",
        "uvicorn",
        "api.app:app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--log-level",
        "warning",
    ]
    return Server(argv, env, "/api/v1/chat/completions", MODEL_ID, KEY, cwd=src)


def start_server(server: Server) -> tuple[subprocess.Popen, str, float]:
    """Start a server; return it, its URL and seconds from spawn to the first answered completion."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = subprocess.Popen(
        [arg.replace("{port}", str(port)) for arg in server.argv],
        env=server.env,
        cwd=server.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            response = httpx.post(
                f"{url}{server.chat_path}", json=server.body("hi"), headers=server.headers, timeout=5
            )
            if response.status_code == 200:
                return process, url, time.monotonic() - started
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() - started > 60:
            raise RuntimeError(f"{server.argv[:3]} did not start")
        time.sleep(0.01)


def ttft(client: httpx.Client, url: str, body: dict, headers: dict) -> float:
    """Seconds from sending a streamed request to the first content chunk (the stream is read to its end,
    so no request is cut off and the next one starts on an idle gateway)."""
    started = time.perf_counter()
    first = None
    with client.stream("POST", url, json=body, headers=headers) as response:
        for line in response.iter_lines():
            if first is None and _has_content(line):
                first = time.perf_counter() - started
    if first is None:
        raise RuntimeError("no content chunk")
    return first


def _has_content(line: str) -> bool:
    if not line.startswith("data: {"):
        return False
    choices = json.loads(line[6:]).get("choices") or [{}]
    return bool((choices[0].get("delta") or {}).get("content"))


def measure_server(server: Server, requests: int, streams: int, starts: int) -> dict[str, float]:
    start_times = []
    start_cpus = []
    for _ in range(starts - 1):
        process, _, seconds = start_server(server)
        start_times.append(seconds)
        start_cpus.append(proc_cpu(process.pid))
        process.terminate()
        process.wait()
    process, url, seconds = start_server(server)
    start_times.append(seconds)
    start_cpus.append(proc_cpu(process.pid))
    rss_start = proc_rss_mb(process.pid)
    headers = server.headers
    endpoint = f"{url}{server.chat_path}"
    try:
        with httpx.Client(timeout=60) as client:
            for _ in range(30):  # warm up
                client.post(endpoint, json=server.body("warm up"), headers=headers)
            per_request = []
            for _ in range(5):
                before = proc_cpu(process.pid)
                for _ in range(requests // 5):
                    client.post(
                        endpoint, json=server.body("Hello there, how are you?"), headers=headers
                    ).raise_for_status()
                per_request.append((proc_cpu(process.pid) - before) / (requests // 5))
            ttfts = [
                ttft(client, endpoint, server.body("ttft", stream=True), headers)
                for _ in range(requests // 3)
            ]
            per_chunk = []
            for _ in range(streams):
                small = _stream_cpu(client, process.pid, endpoint, server, 1)
                large = _stream_cpu(client, process.pid, endpoint, server, 1000)
                per_chunk.append((large - small) / 999)
        return {
            "start_s": statistics.median(start_times),
            "start_cpu_s": statistics.median(start_cpus),
            "cpu_per_request_ms": statistics.median(per_request) * 1000,
            "ttft_ms": statistics.median(ttfts) * 1000,
            "cpu_per_chunk_us": statistics.median(per_chunk) * 1e6,
            "rss_start_mb": rss_start,
            "rss_mb": proc_rss_mb(process.pid),
        }
    finally:
        process.terminate()
        process.wait()


def _stream_cpu(client: httpx.Client, pid: int, endpoint: str, server: Server, chunks: int) -> float:
    samples = []
    for _ in range(3):
        before = proc_cpu(pid)
        body = server.body(f"[[double:chunks={chunks}]]", stream=True)
        with client.stream("POST", endpoint, json=body, headers=server.headers) as r:
            for _ in r.iter_raw():
                pass
        samples.append(proc_cpu(pid) - before)
    return statistics.median(samples)
