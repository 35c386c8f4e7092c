"""The OpenAPI document is a contract: schemathesis drives every operation with generated requests, valid
and invalid, against the gateway over HTTP (Bedrock double, local DynamoDB, a valid key), and fails on any
5xx, any status, content type or body the document does not describe — and so on any error body outside the
API's envelope, which the document describes exactly.

Bounded: a fixed number of examples per operation and mode, derandomized (the same requests every run)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import API_KEY

EXAMPLES = 40  # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _exercise(
    operation: Any, mode: GenerationMode, base_url: str, session: requests.Session, failures: list[str]
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        try:
            case.call_and_validate(
                base_url=base_url,
                session=session,
                headers={"Authorization": f"Bearer {API_KEY}"},
                checks=CHECKS,
                timeout=30,
            )
        except (AssertionError, BaseExceptionGroup) as failure:  # collected, so every operation runs
            failures.append(f"{operation.label} [{mode.value}]: {str(failure)[:1500]}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
        assert mode is GenerationMode.NEGATIVE


# Catalog names per request schema, so that valid requests reach the Bedrock double and its answers (whole
# and streamed) are checked too; random names would all end in 404.
MODELS = {
    "ChatCompletionRequest": ["nova-pro", "claude-sonnet-5-5"],
    "ResponsesRequest": ["nova-pro", "claude-haiku-5-5"],
    "EmbeddingRequest": ["titan-embed-text-v2"],
    "MessagesRequest": ["claude-sonnet-5-5"],
    "CountTokensRequest": ["claude-sonnet-5-5"],
}


def _with_catalog_models(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    for name, models in MODELS.items():
        schemas[name]["properties"]["model"] = {"type": "string", "enum": models}
    return document


@pytest.mark.timeout(280)  # ~1-2 minutes on a busy 2-CPU machine; bounded well under 5
def test_every_operation_keeps_the_contract(gateway_url: str) -> None:
    document = _with_catalog_models(requests.get(f"{gateway_url}/openapi.json", timeout=30).json())
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _exercise(operation, mode, gateway_url, session, failures)
    assert failures == [], "\n\n".join(failures[:20])
