"""A wire-level double of the Bedrock runtime API, served over real HTTP on loopback.

Speaks Converse, ConverseStream (AWS event-stream binary frames) and InvokeModel (Titan v2 and Cohere
embeddings); refuses what Bedrock refuses (`double_rules`); counts the streams it is still sending; checks each request's SigV4 signature against the credentials it was given (or, without
them, that a SigV4 `Authorization` header is present); answers errors the way Bedrock does
(`x-amzn-ErrorType` header, JSON message). What it answers comes from `double_script`.

Run it in-process (`BedrockDouble().start()`, for tests) or as its own process
(`python -m pennyworth_dev.bedrock_double --port 8001`, for benchmarks and `make serve`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pennyworth_dev import double_claude as claude
from pennyworth_dev import double_media as media
from pennyworth_dev import double_script as script
from pennyworth_dev.double_cache import PromptCache
from pennyworth_dev.double_throttle import Throttle, Throttled
from pennyworth_dev.eventstream import event_frame, exception_frame

STATUS_BY_ERROR = {
    "ThrottlingException": 429,
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ServiceUnavailableException": 503,
    "ModelErrorException": 424,
    "ModelTimeoutException": 408,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ServiceQuotaExceededException": 400,
    "SerializationException": 400,
}
TEST_CREDENTIALS = ("AKIDPENNYWORTHDOUBLE", "double-secret-key-not-a-real-secret")


class SignatureError(Exception):
    pass


def check_sigv4(
    method: str, path: str, headers: dict[str, str], body: bytes, secret_for: dict[str, str]
) -> None:
    """Recompute the request's SigV4 signature with the known secret; raise SignatureError on mismatch."""
    authorization = headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        raise SignatureError("Missing Authentication Token")
    fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(","))
    access_key, _date, region, service, _ = fields["Credential"].split("/")
    if not secret_for:
        return
    if access_key not in secret_for:
        raise SignatureError("The security token included in the request is invalid.")
    signed = fields["SignedHeaders"].split(";")
    request = AWSRequest(
        method=method,
        url=f"http://{headers['host']}{path}",
        data=body,
        headers={name: headers[name] for name in signed if name in headers},
    )
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(
        Credentials(access_key, secret_for[access_key], headers.get("x-amz-security-token")), service, region
    )
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if expected != fields["Signature"]:
        raise SignatureError("The request signature we calculated does not match the signature you provided.")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # frames leave at once

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            check_sigv4("POST", self.path, headers, raw, self.server.secrets)
        except SignatureError as exc:
            self._error("UnrecognizedClientException", str(exc), 403)
            return
        parts = self.path.split("/")
        if len(parts) != 4 or parts[1] != "model":
            self._error("UnknownOperationException", f"Unknown operation {self.path}", 404)
            return
        model_id, operation = unquote(parts[2]), parts[3]
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._error("ValidationException", "Malformed request body", 400)
            return
        self.server.record(operation, model_id, body)
        try:
            if operation != "count-tokens":
                self.server.throttle.check(model_id, body)
            if operation == "converse":
                reply = media.echoed(model_id, body, self._converse_reply)
                time.sleep(reply.number("first_token_delay"))
                self._json(script.converse_response(reply))
            elif operation == "converse-stream":
                self._stream(media.echoed(model_id, body, self._converse_reply))
            elif operation == "invoke" and media.is_pegasus_body(body):
                self._json(*media.pegasus_answer(model_id, body))
            elif operation == "invoke" and claude.is_claude_body(body):
                message = self._claude_reply(model_id, body)
                time.sleep(float(message.pop("_directives").get("first_token_delay", 0)))
                self._json(
                    message, {"X-Amzn-Bedrock-Input-Token-Count": str(message["usage"]["input_tokens"])}
                )
            elif operation == "invoke":
                answer, tokens = script.embedding_response(model_id, body)
                self._json(answer, {"X-Amzn-Bedrock-Input-Token-Count": str(tokens)})
            elif operation == "invoke-with-response-stream":
                self._stream_claude(self._claude_reply(model_id, body))
            elif operation == "count-tokens":
                self._json(claude.count_tokens(model_id, body))
            else:
                self._error("UnknownOperationException", f"Unknown operation {operation}", 404)
        except Throttled as exc:
            retry = {"Retry-After": exc.retry_after} if exc.retry_after else {}
            self._error(exc.name, exc.message, STATUS_BY_ERROR.get(exc.name, 400), retry)
        except script.DoubleError as exc:
            self._error(exc.name, exc.message, STATUS_BY_ERROR.get(exc.name, 400))
        except (BrokenPipeError, ConnectionResetError):  # the caller gave up (timeouts, disconnects)
            self.server.count("disconnects")
            self.close_connection = True

    def _converse_reply(self, model_id: str, body: dict[str, Any]) -> script.Reply:
        """The scripted reply, with the prompt cache's reads and writes and the double's token count."""
        reply = script.converse_reply(body, model_id)
        cache = self.server.prompt_cache.apply(model_id, body)
        if "cache_read" not in reply.directives:
            reply.cache_read, reply.cache_write = cache.read, cache.write
            reply.cache_reported = cache.marked
            reply.cache_details = [{"ttl": ttl, "inputTokens": n} for ttl, n in cache.write_by_ttl]
            reply.input_tokens = max(cache.total - cache.read - cache.write, 0 if cache.marked else 1)
        return reply

    def _claude_reply(self, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Claude's scripted message, with the prompt cache's reads and writes when the body has cache marks."""
        message = claude.reply(body, model_id)
        cache = self.server.prompt_cache.apply(model_id, body)
        if cache.marked and "cache_read" not in message["_directives"]:
            message["usage"].update(
                input_tokens=cache.total - cache.read - cache.write,
                cache_read_input_tokens=cache.read,
                cache_creation_input_tokens=cache.write,
            )
        return message

    def _error(self, name: str, message: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.server.note_refusal(name, message)
        payload = json.dumps({"message": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for header, value in (headers or {}).items():
            self.send_header(header, value)
        self.send_header("x-amzn-ErrorType", f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, answer: dict[str, Any], extra_headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream_claude(self, message: dict[str, Any]) -> None:
        directives = message.pop("_directives")
        frames = (
            (event_frame("chunk", claude.chunk_payload(event)), event["type"] == "content_block_delta")
            for event in claude.stream_events(message)
        )
        _paced(self, frames, directives)

    def _stream(self, reply: script.Reply) -> None:
        frames = itertools.chain(
            [(event_frame("messageStart", b'{"role":"assistant"}'), False)],
            (
                (event_frame(kind, payload), kind == "contentBlockDelta")
                for kind, payload in stream_events(reply)
            ),
        )
        _paced(self, frames, reply.directives)


def _paced(handler: _Handler, frames, directives: dict[str, str]) -> None:
    """Send frames as a chunked event stream, with the directives' delays and mid-stream exception."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/vnd.amazon.eventstream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    first_delay = float(directives.get("first_token_delay", 0))
    chunk_delay = float(directives.get("chunk_delay", 0))
    error_after = int(directives.get("error_after", 0))
    midstream = directives.get("midstream_error")
    sent = 0
    handler.server.count("open_streams", +1)
    try:
        for index, (frame, delta) in enumerate(frames):
            if index == 1 and first_delay:
                _wait_unless_gone(handler, first_delay)
            if delta and midstream and sent == error_after:
                handler._chunk(exception_frame(midstream, f"Injected {midstream} from the Bedrock double."))
                break
            if delta and sent and chunk_delay:
                time.sleep(chunk_delay)
            handler._chunk(frame)
            if delta:
                sent += 1
                handler.server.count("deltas_sent")
        handler._chunk(b"")
    except (BrokenPipeError, ConnectionResetError):
        handler.server.count("disconnects")
        handler.close_connection = True
    finally:
        handler.server.count("open_streams", -1)


def _wait_unless_gone(handler: _Handler, seconds: float) -> None:
    """Sleep like a slow model, but notice at once when the caller closes the connection (as Bedrock does:
    it stops generating), raising BrokenPipeError."""
    deadline = time.monotonic() + seconds
    sock = handler.connection
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], min(left, 0.05))
        if readable and not sock.recv(1, socket.MSG_PEEK):
            raise BrokenPipeError("the caller closed the stream")


def stream_events(reply: script.Reply):
    """(event type, JSON payload) pairs for a reply, in ConverseStream order (messageStart excluded)."""
    dumps = json.dumps
    for index, block in enumerate(reply.blocks):
        if block.kind == "toolUse":
            start = {"toolUse": {"toolUseId": block.tool_id, "name": block.tool_name}}
            yield "contentBlockStart", dumps({"contentBlockIndex": index, "start": start}).encode()
            arguments = dumps(block.tool_input)
            third = max(len(arguments) // 3, 1)
            for piece in (arguments[i : i + third] for i in range(0, len(arguments), third)):
                delta = {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}
                yield "contentBlockDelta", dumps(delta).encode()
        elif block.kind == "redacted":
            delta = {
                "contentBlockIndex": index,
                "delta": {"reasoningContent": {"redactedContent": block.text}},
            }
            yield "contentBlockDelta", dumps(delta).encode()
        elif block.kind == "reasoning":
            for word in script.stream_pieces(block.text):
                delta = {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": word}}}
                yield "contentBlockDelta", dumps(delta).encode()
            signature = {
                "contentBlockIndex": index,
                "delta": {"reasoningContent": {"signature": block.signature}},
            }
            yield "contentBlockDelta", dumps(signature).encode()
        else:
            for word in script.stream_pieces(block.text):
                yield (
                    "contentBlockDelta",
                    dumps({"contentBlockIndex": index, "delta": {"text": word}}).encode(),
                )
        yield "contentBlockStop", dumps({"contentBlockIndex": index}).encode()
    yield "messageStop", dumps({"stopReason": reply.stop_reason}).encode()
    metadata = {"usage": script.usage_of(reply), "metrics": {"latencyMs": 1}}
    yield "metadata", dumps(metadata).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], secrets: dict[str, str]) -> None:
        super().__init__(address, _Handler)
        self.secrets = secrets
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.refusals: list[str] = []  # "ExceptionName: message", for every error the double answered
        self.deltas_sent = 0
        self.disconnects = 0
        self.open_streams = 0
        self.prompt_cache = PromptCache()
        self.throttle = Throttle()

    def record(self, operation: str, model_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append((operation, model_id, body))

    def count(self, counter: str, change: int = 1) -> None:
        """Change one of the counters (`deltas_sent`, `disconnects`, `open_streams`) under the lock."""
        with self.lock:
            setattr(self, counter, getattr(self, counter) + change)

    def note_refusal(self, name: str, message: str) -> None:
        with self.lock:
            self.refusals.append(f"{name}: {message}")


class BedrockDouble:
    """The double on 127.0.0.1 in a background thread: `start()`, use `.url`, `stop()`."""

    def __init__(self, port: int = 0, credentials: tuple[str, str] | None = TEST_CREDENTIALS) -> None:
        secrets = {credentials[0]: credentials[1]} if credentials else {}
        self._server = _Server(("127.0.0.1", port), secrets)
        self._thread = threading.Thread(target=self._server.serve_forever, name="bedrock-double", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self._server.lock:
            return list(self._server.requests)

    @property
    def refusals(self) -> list[str]:
        with self._server.lock:
            return list(self._server.refusals)

    @property
    def deltas_sent(self) -> int:
        return self._server.deltas_sent

    @property
    def open_streams(self) -> int:
        """Streams the double is still sending (a caller that closed its connection ends its stream)."""
        with self._server.lock:
            return self._server.open_streams

    @property
    def disconnects(self) -> int:
        with self._server.lock:
            return self._server.disconnects

    def calls_to(self, operation: str, text: str) -> list[str]:
        """The model ids of `operation` calls whose body mentions `text` (to count attempts), in order."""
        return [model for op, model, body in self.requests if op == operation and text in json.dumps(body)]

    def start(self) -> BedrockDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BedrockDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Bedrock runtime double on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    double = BedrockDouble(port=args.port)
    print(f"bedrock double listening on {double.url}", flush=True)
    double._server.serve_forever()


if __name__ == "__main__":
    main()
