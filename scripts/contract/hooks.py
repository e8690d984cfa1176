"""Schemathesis hooks for the contract step of scripts/test.sh (SCHEMATHESIS_HOOKS).

Request bodies that are not UTF-8 text: schemathesis' syntax fuzzing sends random bytes as
`application/json`. The functions read the body as bytes whatever its encoding in the event
(text, or base64 with isBase64Encoded), but the local emulator (`cargo lambda watch` 1.9.2)
tries to read a text-typed body as UTF-8 and answers 500 text/plain itself, without invoking
any function. So that the same bytes still reach the function (which must answer 400 "body
must be a JSON object"), such a request is sent as `application/octet-stream`, which the
emulator passes on base64-encoded. Nothing else is changed.
"""
from __future__ import annotations

import schemathesis


def _not_utf8(body: object) -> bool:
    body = getattr(body, "data", body)  # schemathesis wraps raw bytes in `Binary` (a str with .data)
    if not isinstance(body, (bytes, bytearray)):
        return False
    try:
        bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if _not_utf8(getattr(case, "body", None)):
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "content-type"}
        headers["Content-Type"] = "application/octet-stream"
        case.headers = headers
