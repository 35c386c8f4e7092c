"""Typed settings: the one place that reads the process environment.

Every knob the gateway has is a field here, read once from `PENNYWORTH_*` variables (plus the standard AWS
ones, which keep their AWS names). Other modules receive a `Settings` object; none reads `os.environ`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Gateway configuration, from the environment (prefix `PENNYWORTH_`)."""

    model_config = SettingsConfigDict(env_prefix="PENNYWORTH_", extra="ignore", frozen=True)

    # --- AWS -------------------------------------------------------------------------------------------
    aws_region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    bedrock_endpoint_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_BEDROCK_RUNTIME_ENDPOINT"),
        description="Override of the Bedrock runtime endpoint (standard AWS variable, or LiteLLM's name).",
    )

    # --- model catalog ---------------------------------------------------------------------------------
    models_file: Path | None = Field(
        default=None, description="Path to a models.yaml replacing the one shipped in the package."
    )
    default_chat_model: str = "claude-sonnet-5-5"
    default_fast_chat_model: str = "claude-haiku-5-5"
    default_embedding_model: str = "titan-embed-text-v2"

    # --- Anthropic Messages API (Claude Code) -------------------------------------------------------------
    anthropic_default_model: str = Field(
        default="claude-sonnet-5-5", description="For unknown claude-* names."
    )
    anthropic_sonnet_model: str = "claude-sonnet-5-5"
    anthropic_haiku_model: str = "claude-haiku-5-5"
    anthropic_opus_model: str = "claude-opus-5-5"
    anthropic_betas: list[str] = Field(
        default=[
            "interleaved-thinking-2025-05-14",
            "fine-grained-tool-streaming-2025-05-14",
            "token-efficient-tools-2025-02-19",
            "output-128k-2025-02-19",
            "context-1m-2025-08-07",
            "dev-full-thinking-2025-05-14",
            "computer-use-2024-10-22",
            "computer-use-2025-01-24",
        ],
        description="anthropic-beta flags forwarded to Bedrock (JSON list) for Claude models whose catalog entry "
        "lists no `betas` (raw Bedrock ids); any other flag is dropped.",
    )

    # --- requests --------------------------------------------------------------------------------------
    max_body_bytes: int = Field(default=6 * 1024 * 1024, gt=0)
    allow_remote_images: bool = Field(
        default=False, description="Let the model layer fetch http(s) image URLs (SSRF risk; off by default)."
    )
    upstream_timeout_seconds: float = Field(default=600.0, gt=0)
    upstream_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    stream_keepalive_seconds: float = Field(default=15.0, gt=0)
    request_deadline_seconds: float = Field(
        default=840.0,
        gt=0,
        description="A request's time before its answer is cut short with a warning: under the function's "
        "900 s timeout, leaving time to settle usage and end the response properly.",
    )
    deadline_margin_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Under Lambda, the deadline is also at most the invocation's own deadline minus this.",
    )

    # --- files and uploads (the inputs bucket) ------------------------------------------------------------
    inputs_bucket: str | None = Field(
        default=None,
        description="S3 bucket for uploaded inputs (Files/Uploads APIs); unset: those APIs are off.",
    )
    inputs_expiration_days: int = Field(
        default=1,
        ge=1,
        description="The bucket's lifecycle expiry (the stack passes its parameter): files' expires_at.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_S3", "PENNYWORTH_S3_ENDPOINT_URL")
    )
    max_file_bytes: int = Field(
        default=512 * 1024 * 1024, gt=0, description="Largest file a key may upload (Files or Uploads API)."
    )
    file_types: list[str] = Field(
        default=[
            "application/pdf",
            "text/csv",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "text/html",
            "text/plain",
            "text/markdown",
            "application/json",
            "application/jsonl",
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "video/mp4",
            "video/quicktime",
            "video/x-matroska",
            "video/webm",
            "video/x-flv",
            "video/mpeg",
            "video/x-ms-wmv",
            "video/3gpp",
        ],
        description="MIME types a file may have (JSON list).",
    )

    # --- prompt caching and throttling (Bedrock) -----------------------------------------------------------
    auto_cache_points: bool = Field(
        default=True,
        description="Place Bedrock cache points on Converse requests to models that cache (see README).",
    )
    cache_ttl: Literal["5m", "1h"] = Field(
        default="5m", description="TTL of automatic cache points (1h only where the model supports it)."
    )
    absorb_throttling: bool = Field(
        default=True, description="Retry and fail over Bedrock throttling before the first byte (see README)."
    )
    retry_deadline_seconds: float = Field(
        default=20.0, ge=0, description="The most a request waits in total between retries of Bedrock."
    )
    attempts_per_route: int = Field(
        default=3, ge=1, description="Tries on one Bedrock route before failover."
    )
    retry_base_seconds: float = Field(default=0.25, ge=0, description="Backoff base (full jitter, doubling).")

    # --- keys, limits and usage (DynamoDB) -------------------------------------------------------------
    table_name: str = Field(
        default="pennyworth", description="The DynamoDB table for keys, limits and usage."
    )
    dynamodb_endpoint_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_ENDPOINT_URL_DYNAMODB", "PENNYWORTH_DYNAMODB_ENDPOINT_URL"),
    )
    dynamodb_deadline_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Each DynamoDB step on the request path (reading a key, admission, the ledger write) "
        "ends within this many seconds, retries included; a request makes at most two before the model call.",
    )
    lease_seconds: float = Field(
        default=960.0,
        gt=0,
        description="How long a concurrency slot outlives an instance that died holding it (Lambda's 15 min + 1).",
    )
    key_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long a verified key is trusted without re-reading it (revocation delay).",
    )

    # --- logging and metrics -----------------------------------------------------------------------------
    log_level: str = "INFO"
    emit_metrics: bool = Field(
        default=False, description="Print CloudWatch EMF metrics per model call (on Lambda)."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
