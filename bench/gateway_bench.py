"""Gateway benchmark: prints medians for start-up, CPU per request, added TTFT, CPU per chunk and RSS.

Everything runs on loopback against the Bedrock double in its own process (zero simulated latency), with keys
and the usage ledger in a local DynamoDB (moto, in the bench process). The gateway runs as `pennyworth serve`
in its own process and its CPU is read from /proc, so neither the load generator's nor DynamoDB's CPU is
counted; the gateway's own DynamoDB client work (signing, serialising the ledger ADD) is. Baselines in the
same run: LiteLLM called directly and boto3 called directly, each in a fresh process of its own, against the
same double; and the AWS sample bedrock-access-gateway, served the same way, when its checkout and a Python
environment for it are named by BEDROCK_ACCESS_GATEWAY_SRC (its `src` folder) and
BEDROCK_ACCESS_GATEWAY_PYTHON (skipped with a message otherwise; nothing of it is part of this repository).

    make bench                      # or: .venv/bin/python bench/gateway_bench.py [--requests 300] [--streams 8]
    make bench ARGS=--caching       # the prompt caching bench instead (bench/caching_bench.py)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench_servers import (
    KEY,
    KEY_ID,
    MODEL_ID,
    bedrock_access_gateway,
    free_port,
    measure_server,
    pennyworth_server,
    proc_rss_mb,
)
from pennyworth_dev.dynamodb import LocalDynamoDB

ROOT = Path(__file__).resolve().parent.parent


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


def import_time(module: str, env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall seconds, and median CPU seconds, for a fresh interpreter to import `module` (CPU time is the
    steadier figure on a shared machine: waiting for a CPU is not counted)."""
    walls, cpus = [], []
    for _ in range(runs):
        started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(time.monotonic() - started)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


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
    sample: dict[str, float] | None = None
    try:
        wait_http(double_url, time.monotonic() + 30)
        env = base_env(double_url, dynamodb.start())
        create_key_table(env)
        gateway = measure_server(pennyworth_server(env), args.requests, args.streams, args.starts)
        gateway["import_app_s"], gateway["import_app_cpu_s"] = import_time(
            "pennyworth.api.app", env, args.starts
        )
        gateway["import_litellm_s"], _ = import_time("litellm", env, args.starts)
        bag = bedrock_access_gateway(double_url)
        if bag is not None:
            sample = measure_server(bag, args.requests, args.streams, args.starts)
        direct_litellm = run_worker("litellm", env, double_url, args.requests, args.streams)
        direct_boto3 = run_worker("boto3", env, double_url, args.requests, args.streams)
    finally:
        double.terminate()
        double.wait()
        dynamodb.stop()
    report(gateway, sample, direct_litellm, direct_boto3)


def report(
    gateway: dict[str, float],
    sample: dict[str, float] | None,
    direct_litellm: dict[str, float],
    direct_boto3: dict[str, float],
) -> None:
    none = {k: float("nan") for k in gateway}
    columns = [
        ("pennyworth", gateway),
        ("aws-sample", sample or none),
        ("litellm", direct_litellm),
        ("boto3", direct_boto3),
    ]
    rows = [
        ("process start -> first chat answer (s)", "start_s", "{:.2f}"),
        ("process start -> first answer, CPU (s)", "start_cpu_s", "{:.2f}"),
        ("app import, fresh interpreter (s)", "import_app_s", "{:.2f}"),
        ("app import, fresh interpreter, CPU (s)", "import_app_cpu_s", "{:.2f}"),
        ("RSS after start (MB)", "rss_start_mb", "{:.0f}"),
        ("RSS after the run (MB)", "rss_mb", "{:.0f}"),
        ("CPU per non-streamed request (ms)", "cpu_per_request_ms", "{:.2f}"),
        ("CPU per streamed chunk (us)", "cpu_per_chunk_us", "{:.0f}"),
        ("TTFT (ms)", "ttft_ms", "{:.2f}"),
    ]
    print(f"{'median, loopback, double in its own process':44}" + "".join(f"{n:>12}" for n, _ in columns))
    for label, key, fmt in rows:
        cells = [fmt.format(c[key]) if key in c else "-" for _, c in columns]
        print(f"{label:44}" + "".join(f"{cell:>12}" for cell in cells))
    print(f"{'a fresh `import litellm` (s)':44}{gateway['import_litellm_s']:>12.2f}")
    added_ttft = gateway["ttft_ms"] - direct_boto3["ttft_ms"]
    print("\ntargets (issue #13)")
    checks = [
        ("start -> first answer / aws-sample <= 1.0", gateway["start_s"] / (sample or none)["start_s"], 1.0),
        ("  the same in CPU seconds", gateway["start_cpu_s"] / (sample or none)["start_cpu_s"], 1.0),
        ("app import (s) <= 0.8", gateway["import_app_s"], 0.8),
        ("app import, CPU (s) <= 0.8", gateway["import_app_cpu_s"], 0.8),
        ("RSS after start (MB) <= 130", gateway["rss_start_mb"], 130.0),
        (
            "CPU per request / aws-sample <= 1.0",
            gateway["cpu_per_request_ms"] / (sample or none)["cpu_per_request_ms"],
            1.0,
        ),
        (
            "CPU per chunk / boto3 direct <= 1.5",
            gateway["cpu_per_chunk_us"] / direct_boto3["cpu_per_chunk_us"],
            1.5,
        ),
        ("added TTFT vs boto3 direct (ms) <= 1.5", added_ttft, 1.5),
    ]
    for label, value, limit in checks:
        verdict = (
            "n/a" if value != value else ("met" if value <= limit else f"missed by {value / limit - 1:.0%}")
        )
        print(f"{label:44}{value:>12.2f}  {verdict}")


if __name__ == "__main__":
    main()
