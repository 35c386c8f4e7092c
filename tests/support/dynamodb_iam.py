"""DynamoDB as the function's role sees it: a loopback proxy that asks IAM (tests/support/iam.py) before each
request reaches the local DynamoDB, and refuses as DynamoDB does (400 AccessDeniedException) when IAM would.

The request context is what DynamoDB gives IAM for fine-grained access control: `dynamodb:LeadingKeys` (the
partition key values), `dynamodb:Attributes` (the key's attribute names and every top-level attribute an
expression names), `dynamodb:ReturnValues` and `dynamodb:Select` when the request sets them. Every table name
maps to the template's table ARN. A `TransactWriteItems` is authorised item by item, each as the action it
stands for (`Update` as `dynamodb:UpdateItem`, `ConditionCheck` as `dynamodb:ConditionCheckItem`, ...), as
DynamoDB does; it is refused when any item is. Decisions are kept (`decisions`) so a test can show what was asked.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

from tests.support.iam import Principal, Request, allows

_EXPRESSIONS = ("UpdateExpression", "ConditionExpression", "ProjectionExpression", "FilterExpression")
_KEYWORDS = {"set", "add", "remove", "delete", "and", "or", "not", "between", "in"}
_FUNCTIONS = {
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
    "if_not_exists",
    "list_append",
}
_NAME = re.compile(r"(?<![:#\w.])([#]?[A-Za-z_][A-Za-z0-9_]*)")
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive", "host"}


def attribute_names(body: dict[str, Any]) -> list[str]:
    """Top-level attribute names a request touches: its key's and those its expressions name."""
    names = set((body.get("Key") or {}).keys())
    placeholders = body.get("ExpressionAttributeNames") or {}
    for field in _EXPRESSIONS:
        for token in _NAME.findall(body.get(field) or ""):
            if token.startswith("#"):
                names.add(placeholders[token])
            elif token.lower() not in _KEYWORDS and token not in _FUNCTIONS:
                names.add(token)
    return sorted(names)


def request_context(body: dict[str, Any]) -> dict[str, str | list[str]]:
    context: dict[str, str | list[str]] = {}
    key = body.get("Key") or {}
    if "PK" in key:
        context["dynamodb:LeadingKeys"] = [next(iter(key["PK"].values()))]
    if key or any(field in body for field in _EXPRESSIONS):
        context["dynamodb:Attributes"] = attribute_names(body)
    for name in ("ReturnValues", "Select"):
        if name in body:
            context[f"dynamodb:{name}"] = body[name]
    return context


def _denied(action: str, resource: str) -> WsgiResponse:
    message = (
        f"User: arn:aws:sts::123456789012:assumed-role/pennyworth-FunctionRole/gateway is not authorized to "
        f"perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    )
    body = json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message})
    return WsgiResponse(body, status=400, content_type="application/x-amz-json-1.0")


class DynamoDBUnderIam:
    """`with DynamoDBUnderIam(principal, table_arn, upstream) as proxy:` — the proxy on 127.0.0.1 (`proxy.url`)."""

    def __init__(self, principal: Principal, table_arn: str, upstream: str) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.principal = principal
        self.table_arn = table_arn
        self.upstream = upstream
        self.decisions: list[tuple[Request, bool]] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dynamodb-iam", daemon=True)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        incoming = WsgiRequest(environ)
        raw = incoming.get_data()
        operation = incoming.headers.get("X-Amz-Target", "").rpartition(".")[2]
        requests = self._requests(operation, json.loads(raw or b"{}"))
        decisions = [(request, allows(self.principal, request)) for request in requests]
        with self._lock:
            self.decisions.extend(decisions)
        refused = next((request for request, ok in decisions if not ok), None)
        response = (
            self._forward(incoming, raw) if refused is None else _denied(refused.action, self.table_arn)
        )
        return response(environ, start_response)

    def _requests(self, operation: str, body: dict[str, Any]) -> list[Request]:
        """What IAM is asked for one call: the call itself, or each item of a write transaction."""
        if operation != "TransactWriteItems":
            return [Request(f"dynamodb:{operation}", self.table_arn, request_context(body))]
        return [
            Request(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", self.table_arn, request_context(details))
            for item in body.get("TransactItems") or []
            for kind, details in item.items()
        ]

    def _forward(self, incoming: WsgiRequest, raw: bytes) -> WsgiResponse:
        headers = {k: v for k, v in incoming.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = urllib.request.Request(self.upstream + "/", data=raw, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(upstream, timeout=30) as answer:  # noqa: S310 - loopback only
                status, answer_headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, body = error.code, error.headers, error.read()
        kept = [(k, v) for k, v in answer_headers.items() if k.lower() not in _HOP_BY_HOP]
        return WsgiResponse(body, status=status, headers=kept)

    def allowed_actions(self) -> list[tuple[str, list[str] | str]]:
        return [(r.action, r.context.get("dynamodb:LeadingKeys", "")) for r, ok in self.decisions if ok]

    def refused(self) -> list[str]:
        return [str(r) for r, ok in self.decisions if not ok]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> DynamoDBUnderIam:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
