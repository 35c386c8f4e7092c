"""Encoding AWS event-stream frames (application/vnd.amazon.eventstream), as Bedrock sends them.

Frame: total length, headers length, prelude CRC32, headers, payload, message CRC32 (all big-endian).
Only string-valued headers (type 7) are needed for Bedrock's events and exceptions.
"""

from __future__ import annotations

import json
import struct
from binascii import crc32

_STRING = 7


def encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    raw_headers = encode_headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", crc32(prelude))
    message = prelude + raw_headers + payload
    return message + struct.pack(">I", crc32(message))


def event_frame(event_type: str, payload: bytes) -> bytes:
    return encode_frame(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, payload
    )


def exception_frame(exception_type: str, message: str) -> bytes:
    payload = json.dumps({"message": message}).encode()
    return encode_frame(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        payload,
    )
