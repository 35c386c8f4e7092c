"""Gateway benchmark: prints medians for start-up, CPU per request, added TTFT, CPU per chunk and RSS.

Everything runs on loopback against the Bedrock double in its own process (zero simulated latency), with keys
and the usage ledger in a local DynamoDB (moto, in the bench process). The gateway runs as `pennyworth serve`
in its own process and its CPU is read from /proc, so neither the load generator's nor DynamoDB's CPU is
counted; the gateway's own DynamoDB client work (signing, serialising the ledger ADD) is. Baselines in the same run: LiteLLM called directly and boto3 called directly, each in a
fresh process of its own, against the same double.

    make bench                      # or: .venv/bin/python bench/gateway_bench.py [--requests 300] [--streams 8]
    make bench ARGS=--caching       # the prompt caching bench instead (bench/caching_bench.py)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pennyworth_dev.dynamodb import LocalDynamoDB

ROOT = Path(__file__).resolve().parent.parent
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


def base_env(double_url: str, dynamodb_url: str = "") -> dict[str, str]:
    from pennyworth_dev.bedrock_double import TEST_CREDENTIALS

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PENNYWORTH_"))}
    env.update(
        AWS_ACCESS_KEY_ID=TEST_CREDENTIALS[0],
        AWS_SECRET_ACCESS_KEY=TEST_CREDENTIALS[1],
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=double_url,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        AWS_ENDPOINT_URL_DYNAMODB=dynamodb_url,
        PENNYWORTH_TABLE_NAME="pennyworth-bench",
        PENNYWORTH_LOG_LEVEL="WARNING",
    )
    return env


def create_key_table(env: dict[str, str]) -> None:
    """The table and the bench key (no limits: the common path — one ledger ADD per request)."""
    os.environ.update(env)
    from pennyworth.access.keys import KeyStore
    from pennyworth.access.table import create_table, table
    from pennyworth.settings import Settings

    settings = Settings()
    create_table(settings)
    KeyStore(table(settings)).create({"name": "bench"}, full_key=(KEY_ID, KEY))


def wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.02)
    raise RuntimeError(f"{url} did not come up")


def chat_body(prompt: str, stream: bool = False) -> dict:
    return {"model": "nova-pro", "messages": [{"role": "user", "content": prompt}], "stream": stream}


def start_gateway(env: dict[str, str]) -> tuple[subprocess.Popen, str, float]:
    """Start `pennyworth serve`; return it, its URL and seconds from spawn to the first answered completion."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "pennyworth.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headers = {"Authorization": f"Bearer {KEY}"}
    while True:
        try:
            response = httpx.post(
                f"{url}/v1/chat/completions", json=chat_body("hi"), headers=headers, timeout=5
            )
            if response.status_code == 200:
                return process, url, time.monotonic() - started
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() - started > 60:
            raise RuntimeError("gateway did not start")
        time.sleep(0.01)


def ttft(client: httpx.Client, url: str, body: dict, headers: dict) -> float:
    """Seconds from sending a streamed request to the first content chunk (the stream is read to its end,
    so no request is cut off and the next one starts on an idle gateway)."""
    started = time.perf_counter()
    first = None
    with client.stream("POST", url, json=body, headers=headers) as response:
        for line in response.iter_lines():
            if first is None and '"content":"' in line and '"content":""' not in line:
                first = time.perf_counter() - started
    if first is None:
        raise RuntimeError("no content chunk")
    return first


def measure_gateway(env: dict[str, str], requests: int, streams: int, starts: int) -> dict[str, float]:
    start_times = []
    for _ in range(starts - 1):
        process, _, seconds = start_gateway(env)
        start_times.append(seconds)
        process.terminate()
        process.wait()
    process, url, seconds = start_gateway(env)
    start_times.append(seconds)
    headers = {"Authorization": f"Bearer {KEY}"}
    endpoint = f"{url}/v1/chat/completions"
    try:
        with httpx.Client(timeout=60) as client:
            for _ in range(30):  # warm up
                client.post(endpoint, json=chat_body("warm up"), headers=headers)
            per_request = []
            for _ in range(5):
                before = proc_cpu(process.pid)
                for _ in range(requests // 5):
                    client.post(
                        endpoint, json=chat_body("Hello there, how are you?"), headers=headers
                    ).raise_for_status()
                per_request.append((proc_cpu(process.pid) - before) / (requests // 5))
            ttfts = [
                ttft(client, endpoint, chat_body("ttft", stream=True), headers) for _ in range(requests // 3)
            ]
            per_chunk = []
            for _ in range(streams):
                small = _stream_cpu(client, process.pid, endpoint, headers, 1)
                large = _stream_cpu(client, process.pid, endpoint, headers, 1000)
                per_chunk.append((large - small) / 999)
        return {
            "start_s": statistics.median(start_times),
            "cpu_per_request_ms": statistics.median(per_request) * 1000,
            "ttft_ms": statistics.median(ttfts) * 1000,
            "cpu_per_chunk_us": statistics.median(per_chunk) * 1e6,
            "rss_mb": proc_rss_mb(process.pid),
        }
    finally:
        process.terminate()
        process.wait()


def _stream_cpu(client: httpx.Client, pid: int, endpoint: str, headers: dict, chunks: int) -> float:
    samples = []
    for _ in range(3):
        before = proc_cpu(pid)
        with client.stream(
            "POST", endpoint, json=chat_body(f"[[double:chunks={chunks}]]", stream=True), headers=headers
        ) as r:
            for _ in r.iter_raw():
                pass
        samples.append(proc_cpu(pid) - before)
    return statistics.median(samples)


# --- baselines: run as `gateway_bench.py --worker NAME` in a fresh process ---------------------------------


def worker(name: str, double_url: str, requests: int, streams: int) -> None:
    """Measure this process's own CPU for direct calls (imports excluded) and print JSON."""
    if name == "litellm":
        import litellm

        def call(prompt: str, stream: bool):
            result = litellm.completion(
                model=f"bedrock/converse/{MODEL_ID}",
                messages=[{"role": "user", "content": prompt}],
                stream=stream,
                aws_bedrock_runtime_endpoint=double_url,
            )
            if stream:
                first = None
                for chunk in result:
                    if first is None and chunk.choices and chunk.choices[0].delta.content:
                        first = time.perf_counter()
                return first
            return None
    else:
        import boto3

        runtime = boto3.client("bedrock-runtime", endpoint_url=double_url, region_name="us-east-1")

        def call(prompt: str, stream: bool):
            messages = [{"role": "user", "content": [{"text": prompt}]}]
            if not stream:
                runtime.converse(modelId=MODEL_ID, messages=messages)
                return None
            first = None
            for event in runtime.converse_stream(modelId=MODEL_ID, messages=messages)["stream"]:
                if first is None and "contentBlockDelta" in event:
                    first = time.perf_counter()
            return first

    for _ in range(20):
        call("warm up", False)
    per_request = []
    for _ in range(5):
        before = time.process_time()
        for _ in range(requests // 5):
            call("Hello there, how are you?", False)
        per_request.append((time.process_time() - before) / (requests // 5))
    ttfts = []
    for _ in range(requests // 3):
        started = time.perf_counter()
        ttfts.append(call("ttft", True) - started)
    per_chunk = []
    for _ in range(streams):
        small = _own_cpu(lambda: call("[[double:chunks=1]]", True))
        large = _own_cpu(lambda: call("[[double:chunks=1000]]", True))
        per_chunk.append((large - small) / 999)
    print(
        json.dumps(
            {
                "cpu_per_request_ms": statistics.median(per_request) * 1000,
                "ttft_ms": statistics.median(ttfts) * 1000,
                "cpu_per_chunk_us": statistics.median(per_chunk) * 1e6,
                "rss_mb": proc_rss_mb(os.getpid()),
            }
        )
    )


def _own_cpu(action) -> float:
    samples = []
    for _ in range(3):
        before = time.process_time()
        action()
        samples.append(time.process_time() - before)
    return statistics.median(samples)


def run_worker(
    name: str, env: dict[str, str], double_url: str, requests: int, streams: int
) -> dict[str, float]:
    argv = [sys.executable, __file__, "--worker", name, "--double", double_url]
    argv += ["--requests", str(requests), "--streams", str(streams)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_time(module: str, env: dict[str, str], runs: int) -> float:
    """Median wall seconds for a fresh interpreter to import `module` (the start-up floor)."""
    samples = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)
        samples.append(time.monotonic() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--streams", type=int, default=6)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--worker", choices=["litellm", "boto3"])
    parser.add_argument("--double")
    parser.add_argument("--caching", action="store_true", help="run the prompt caching bench instead")
    args, rest = parser.parse_known_args()
    if args.caching:
        sys.exit(subprocess.run([sys.executable, str(ROOT / "bench" / "caching_bench.py"), *rest]).returncode)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.worker:
        worker(args.worker, args.double, args.requests, args.streams)
        return

    port = free_port()
    double = subprocess.Popen(
        [sys.executable, "-m", "pennyworth_dev.bedrock_double", "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    double_url = f"http://127.0.0.1:{port}"
    dynamodb = LocalDynamoDB()
    try:
        wait_http(double_url, time.monotonic() + 30)
        env = base_env(double_url, dynamodb.start())
        create_key_table(env)
        gateway = measure_gateway(env, args.requests, args.streams, args.starts)
        gateway["import_litellm_s"] = import_time("litellm", env, args.starts)
        direct_litellm = run_worker("litellm", env, double_url, args.requests, args.streams)
        direct_boto3 = run_worker("boto3", env, double_url, args.requests, args.streams)
    finally:
        double.terminate()
        double.wait()
        dynamodb.stop()
    report(gateway, direct_litellm, direct_boto3)


def report(
    gateway: dict[str, float], direct_litellm: dict[str, float], direct_boto3: dict[str, float]
) -> None:
    added_ttft = gateway["ttft_ms"] - direct_boto3["ttft_ms"]
    rows = [
        (
            "process start -> first completion (s)",
            f"{gateway['start_s']:.2f}",
            f"{gateway['import_litellm_s']:.2f}*",
            "-",
        ),
        (
            "CPU per non-streamed request (ms)",
            f"{gateway['cpu_per_request_ms']:.2f}",
            f"{direct_litellm['cpu_per_request_ms']:.2f}",
            f"{direct_boto3['cpu_per_request_ms']:.2f}",
        ),
        (
            "CPU per streamed chunk (us)",
            f"{gateway['cpu_per_chunk_us']:.0f}",
            f"{direct_litellm['cpu_per_chunk_us']:.0f}",
            f"{direct_boto3['cpu_per_chunk_us']:.0f}",
        ),
        (
            "TTFT (ms)",
            f"{gateway['ttft_ms']:.2f}",
            f"{direct_litellm['ttft_ms']:.2f}",
            f"{direct_boto3['ttft_ms']:.2f}",
        ),
        (
            "RSS (MB)",
            f"{gateway['rss_mb']:.0f}",
            f"{direct_litellm['rss_mb']:.0f}",
            f"{direct_boto3['rss_mb']:.0f}",
        ),
    ]
    print(f"{'median, loopback, double in its own process':44} {'gateway':>10} {'litellm':>10} {'boto3':>10}")
    for label, *values in rows:
        print(f"{label:44} " + " ".join(f"{v:>10}" for v in values))
    print(f"{'added TTFT vs boto3 direct (ms)':44} {added_ttft:>10.2f}")
    print(
        f"{'start-up, gateway / `import litellm`':44} {gateway['start_s'] / gateway['import_litellm_s']:>10.2f}"
    )
    print("* a fresh `python -c 'import litellm'`: the floor any LiteLLM-based gateway starts from")
    ratio = gateway["cpu_per_chunk_us"] / direct_litellm["cpu_per_chunk_us"]
    print(f"{'CPU per chunk, gateway / litellm direct':44} {ratio:>10.2f}")


if __name__ == "__main__":
    main()
