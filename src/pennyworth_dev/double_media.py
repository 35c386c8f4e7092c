"""The Bedrock double's rules for media: Converse image, document and video blocks, S3 locations, and
TwelveLabs Pegasus's own InvokeModel body — refused where Bedrock refuses them, echoed where accepted.

Bedrock's rules it keeps (Converse API reference, "DocumentBlock", "VideoBlock", "S3Location"; the Pegasus
model parameters page): formats per kind; a document `name` of letters, digits, single spaces, hyphens,
parentheses and square brackets; exactly one source, `bytes` or `s3Location` with an `s3://` URI; S3
locations only for models that read S3 (Nova, TwelveLabs); video only for models that take it (Nova Lite,
Pro, 2 Lite; Pegasus); inline size caps (image 3.75 MB, document 4.5 MB, video 25 MB; Pegasus base64 36 MB).
The echo of documents and video ("I received: document pdf 'Report' (1234 bytes); ...") is prefixed to the reply so tests see it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from pennyworth_dev.double_script import DoubleError, Reply

FORMATS = {
    "image": {"png", "jpeg", "gif", "webp"},
    "document": {"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"},
    "video": {"mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp"},
}
MAX_INLINE = {"image": 3_750_000, "document": 4_500_000, "video": 25_000_000}
_NAME = re.compile(r"^[A-Za-z0-9\-()\[\]]+(?: [A-Za-z0-9\-()\[\]]+)*$")


def reads_s3(model_id: str) -> bool:
    return "amazon.nova" in model_id or "twelvelabs." in model_id


def takes_video(model_id: str) -> bool:
    return ("amazon.nova" in model_id and "micro" not in model_id) or "twelvelabs." in model_id


def _invalid(message: str) -> DoubleError:
    return DoubleError("ValidationException", message)


def _source(model_id: str, kind: str, source: Any, cap: int) -> str:
    """Check one block's source; describe it (size or URI)."""
    if not isinstance(source, dict) or len(source) != 1 or not ({"bytes", "s3Location"} & set(source)):
        raise _invalid(f"The {kind} source must have exactly one of bytes or s3Location.")
    if "s3Location" in source:
        uri = (source["s3Location"] or {}).get("uri", "")
        if not reads_s3(model_id):
            raise _invalid(f"This model doesn't support S3 locations as the {kind} source. Send the bytes.")
        if not str(uri).startswith("s3://") or len(str(uri)) < 8:
            raise _invalid(f"The {kind} s3Location uri must be an s3:// URI.")
        return str(uri)
    try:
        size = len(base64.b64decode(source["bytes"], validate=True))
    except (binascii.Error, TypeError, ValueError) as exc:
        raise _invalid(f"The {kind} bytes are not valid base64.") from exc
    if size > cap:
        raise _invalid(f"The {kind} is {size} bytes; the maximum inline size is {cap} bytes.")
    return f"{size} bytes"


def check_converse_media(model_id: str, body: dict[str, Any]) -> list[str]:
    """Refuse media Bedrock refuses; the description of each accepted block, in order."""
    seen: list[str] = []
    names: set[str] = set()
    for message in body.get("messages") or []:
        for block in message.get("content") or []:
            for kind in ("image", "document", "video"):
                if kind not in block:
                    continue
                item = block[kind] or {}
                if kind == "image" and "s3Location" not in (item.get("source") or {}):
                    continue  # inline images: double_rules checks them (format, base64, the bytes' kind)
                fmt = item.get("format")
                if fmt not in FORMATS[kind]:
                    raise _invalid(f"Unsupported {kind} format: {fmt}. Supported: {sorted(FORMATS[kind])}")
                if kind == "video" and not takes_video(model_id):
                    raise _invalid("This model doesn't support the video content block that you provided.")
                where = _source(model_id, kind, item.get("source"), MAX_INLINE[kind])
                if kind == "document":
                    name = str(item.get("name", ""))
                    if not _NAME.match(name):
                        raise _invalid(
                            "The document file name can only contain alphanumeric characters, whitespace "
                            "characters, hyphens, parentheses, and square brackets. The name can't contain "
                            "more than one consecutive whitespace character."
                        )
                    if name in names:
                        raise _invalid("Each document in a request must have a unique name.")
                    names.add(name)
                    seen.append(f"document {fmt} '{name}' ({where})")
                elif kind == "video":  # images are not echoed: replies to them predate this echo
                    seen.append(f"video {fmt} ({where})")
    return seen


def echo(seen: list[str]) -> str:
    return "I received: " + "; ".join(seen) + ". " if seen else ""


def echoed(model_id: str, body: dict[str, Any], reply_for: Callable[[str, dict[str, Any]], Reply]) -> Reply:
    """The Converse reply, after Bedrock's media rules; accepted media are echoed at the start of the text."""
    seen = check_converse_media(model_id, body)
    reply = reply_for(model_id, body)
    prefix = echo(seen)
    if prefix and "chunks" not in reply.directives and reply.blocks and reply.blocks[-1].kind == "text":
        reply.blocks[-1].text = prefix + reply.blocks[-1].text
        reply.output_tokens += len(prefix.split())
    return reply


def pegasus_answer(model_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Pegasus's answer and the input-token header InvokeModel carries."""
    answer = pegasus_reply(model_id, body)
    return answer, {"X-Amzn-Bedrock-Input-Token-Count": str(len(str(body["inputPrompt"]).split()))}


def is_pegasus_body(body: dict[str, Any]) -> bool:
    return "inputPrompt" in body or "mediaSource" in body


def pegasus_reply(model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Pegasus's answer `{message, finishReason}`, or its refusals."""
    if "twelvelabs.pegasus" not in model_id:
        raise _invalid("Malformed input request: extraneous key [inputPrompt] is not permitted")
    allowed = {"inputPrompt", "mediaSource", "temperature", "maxOutputTokens", "responseFormat"}
    extra = sorted(set(body) - allowed)
    if extra:
        raise _invalid(f"Malformed input request: extraneous key [{extra[0]}] is not permitted")
    prompt = body.get("inputPrompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _invalid("Malformed input request: required key [inputPrompt] not found")
    source = body.get("mediaSource") or {}
    if len(source) != 1 or not ({"base64String", "s3Location"} & set(source)):
        raise _invalid("mediaSource must have exactly one of base64String or s3Location.")
    if "s3Location" in source:
        where = str((source["s3Location"] or {}).get("uri", ""))
        if not where.startswith("s3://"):
            raise _invalid("mediaSource.s3Location.uri must be an s3:// URI.")
    else:
        where = _source(model_id, "video", {"bytes": source["base64String"]}, 36_000_000)
    limit = int(body.get("maxOutputTokens", 4096))
    if not 1 <= limit <= 4096:
        raise _invalid("maxOutputTokens must be between 1 and 4096.")
    words = f"Pegasus watched the video ({where}) and answers: {prompt[:80]}".split()
    return {"message": " ".join(words[:limit]), "finishReason": "length" if len(words) > limit else "stop"}
