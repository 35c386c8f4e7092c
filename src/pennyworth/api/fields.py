"""Field types shared by the request schemas: bounded where an unbounded value would reach a log, an
upstream body or orjson (which writes integers of 64 bits at most)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_MODEL_NAME = 256
INT32_MAX = 2**31 - 1

# A model name, catalog alias or Bedrock id: never a 200 KB string in a log line or an error message.
ModelName = Annotated[str, Field(min_length=1, max_length=MAX_MODEL_NAME)]
# Token counts and sizes: positive, within what Bedrock's own 32-bit fields accept.
TokenCount = Annotated[int, Field(ge=1, le=INT32_MAX)]
# An opaque 64-bit integer the gateway accepts and does not forward (OpenAI's `seed`).
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
