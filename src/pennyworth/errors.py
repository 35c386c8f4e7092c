"""The gateway's error vocabulary, independent of any HTTP API's envelope.

Services and the LLM boundary raise these; `pennyworth.api.errors` renders them in OpenAI's envelope (and the
Anthropic routes will render them in Anthropic's). Each error knows its HTTP status, an OpenAI-style `type`
and `code`, the offending `param` when there is one, and a `Retry-After` hint for throttling.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base class: a failure the client should see as a clean JSON error."""

    status: int = 500
    type: str = "api_error"
    code: str | None = None
    upstream: str | None = None  # the provider's own exception name (e.g. Bedrock's), for the request log

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.retry_after = retry_after


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"


class Unauthenticated(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class NotFound(GatewayError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class QuotaExceeded(RateLimited):
    """The key's budget for its period is spent (OpenAI's `insufficient_quota`)."""

    type = "insufficient_quota"
    code = "insufficient_quota"


class ServiceUnavailable(GatewayError):
    """The gateway's own control plane (keys, limits) did not answer in time: retry shortly."""

    status = 503
    type = "api_error"
    code = "service_unavailable"


class UpstreamError(GatewayError):
    """The model provider failed in a way that is not the client's fault."""

    status = 502
    type = "api_error"
    code = "upstream_error"


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "service_unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"
