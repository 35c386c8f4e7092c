"""LiteLLM loaded and configured for the gateway (the package's `__init__` has set its flags first), and its
exception messages cleaned of LiteLLM's own boilerplate."""

from __future__ import annotations

import re

import litellm
import litellm.exceptions as litellm_errors

litellm.telemetry = False
litellm.suppress_debug_info = True

_EXCEPTION_PREFIX = re.compile(r"^(litellm\.)?\w+(Error|Exception):\s*")


def clean_message(exc: Exception) -> str:
    """LiteLLM's message without its class prefix and without advice about LiteLLM's own settings."""
    text = _EXCEPTION_PREFIX.sub("", str(exc)).strip()
    kept = []
    for sentence in re.split(r"(?<=\.)\s+", text):
        if "drop_params" in sentence:
            head = sentence.split(", or set")[0] if ", or set" in sentence else ""
            if head:
                kept.append(head.rstrip(".") + ".")
            continue
        kept.append(sentence)
    return " ".join(kept) or type(exc).__name__


__all__ = ["clean_message", "litellm", "litellm_errors"]
