"""`make serve` offline: the dev server starts the double, prints a key, and the OpenAI SDK streams from it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import openai


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_dev_server_streams_simulated_answers() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PENNYWORTH_"))}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    process = subprocess.Popen(
        [sys.executable, "-m", "pennyworth_dev", "--offline", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "Uvicorn running" not in banner and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner += line
        assert "SIMULATED" in banner, banner
        key = re.search(r"API key:\s+(\S+)", banner).group(1)
        assert f"http://127.0.0.1:{port}/v1" in banner
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="claude-sonnet-5-5", messages=[{"role": "user", "content": "Hi"}], stream=True
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        assert text == "This is a simulated Bedrock reply to: Hi"
        assert len(chunks) > 3  # really streamed, one word per chunk
    finally:
        process.terminate()
        process.wait(timeout=15)
