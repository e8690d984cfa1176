#!/usr/bin/env python3
"""`make bench` baseline: POST /v1/authentication/bot/login-code the way most teams would
write it: Python 3 + boto3, one module-level client, a plain handler, no caching.

It does the same work as functions/bot-login-code against the same table layout
(shared/src/store/keys.rs, shared/src/limits.rs, shared/src/store/codes.rs):

  1. API key: SHA-256 of X-API-Key -> GetItem KEY#<digest>/KEY (must be an active bot key of
     the identity's platform);
  2. the BOT-tier rate limit: UpdateItem ADD m<minute>, h on LIMIT#BOT#<digest[:16]>/W#<hour>,
     ReturnValues=ALL_NEW, judged against PORTAL_LIMIT_BOT_PER_MINUTE and the key's hourly cap;
  3. the conditional pointer update: UpdateItem IDENTITY#<platform>#<id>/WEBCODE, SET the
     bot-reported username/avatar IF a live, unblocked code exists, ReturnValues=ALL_NEW
     (ConditionalCheckFailed -> no pending code).

Run under `bench/harness.py` as a Lambda custom runtime would run it: the bottom of this file is
a minimal Runtime API client loop (what the official runtime interface client does: GET next,
call the handler, POST the response or the error), over one keep-alive HTTP/1.1 connection.
"""

import hashlib
import http.client
import json
import os
import socket
import sys
import time
import traceback

import boto3
from botocore.exceptions import ClientError

TABLE = os.environ["PORTAL_TABLE"]
LIMIT_BOT_PER_MINUTE = int(os.environ.get("PORTAL_LIMIT_BOT_PER_MINUTE", "600"))
CODE_TTL = int(os.environ.get("PORTAL_CODE_TTL_SECONDS", "600"))

# Module level, as every tutorial does: created once per container, during init.
dynamodb = boto3.client("dynamodb")


def reply(status, body, request_id):
    return {
        "statusCode": status,
        "headers": {
            "content-type": "application/json",
            "cache-control": "no-store",
            "x-correlation-id": request_id,
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def handler(event, context):
    request_id = context["aws_request_id"]
    started = time.perf_counter()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}

    # 1. the bot key
    api_key = (headers.get("x-api-key") or "").strip()
    if not api_key or len(api_key) > 256:
        return reply(401, {"error": "Unauthorized", "correlation_id": request_id}, request_id)
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    key = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": f"KEY#{digest}"}, "sk": {"S": "KEY"}},
        ConsistentRead=True,
    ).get("Item")
    if not key:
        return reply(401, {"error": "Unauthorized", "correlation_id": request_id}, request_id)
    if key.get("kind", {}).get("S") != "bot" or not key.get("active", {}).get("BOOL"):
        return reply(403, {"error": "Forbidden", "correlation_id": request_id}, request_id)

    try:
        body = json.loads(event.get("body") or "{}")
        platform = body["platform"]
        platform_user_id = body["platform_user_id"]
        username = body["platform_username"].strip()
        avatar = body.get("platform_avatar_url") or None
        if platform not in ("discord", "telegram") or not platform_user_id.isdigit() or not username:
            raise ValueError("bad input")
    except (ValueError, KeyError, AttributeError, TypeError):
        return reply(400, {"error": "Bad request", "correlation_id": request_id}, request_id)
    if key.get("platform", {}).get("S") != platform:
        return reply(403, {"error": "Forbidden", "correlation_id": request_id}, request_id)

    # 2. the rate limit (per key and minute, and the key's hourly allowance)
    now = int(time.time())
    hour_start = now - now % 3600
    minute = (now - hour_start) // 60
    per_hour = int(key.get("rate_limit_per_hour", {}).get("N", "1000"))
    counters = dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"LIMIT#BOT#{digest[:16]}"}, "sk": {"S": f"W#{hour_start}"}},
        UpdateExpression="ADD #a0 :one, #a1 :one SET #ttl = :ttl",
        ExpressionAttributeNames={"#a0": f"m{minute}", "#a1": "h", "#ttl": "ttl"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(hour_start + 3600 + 60)}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    if int(counters[f"m{minute}"]["N"]) > LIMIT_BOT_PER_MINUTE or int(counters["h"]["N"]) > per_hour:
        return reply(429, {"error": "Too many requests", "correlation_id": request_id}, request_id)

    # 3. the identity's pending web code, recording what the bot reports
    values = {":u": {"S": username}, ":now": {"N": str(now)}}
    if avatar:
        expression = "SET platform_username = :u, platform_avatar_url = :a"
        values[":a"] = {"S": avatar}
    else:
        expression = "SET platform_username = :u REMOVE platform_avatar_url"
    try:
        pointer = dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": f"IDENTITY#{platform}#{platform_user_id}"}, "sk": {"S": "WEBCODE"}},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(code) AND expires_at > :now AND attribute_not_exists(blocked)",
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )["Attributes"]
        result = {"code": pointer["code"]["S"], "expires_at": iso(int(pointer["expires_at"]["N"]))}
        outcome = "code_returned"
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        result = {"code": None, "expires_at": None}
        outcome = "no_pending_code"

    print(json.dumps({
        "level": "INFO", "message": "request", "correlation_id": request_id,
        "function": "python-login-code", "status": 200, "outcome": outcome,
        "latency_ms": (time.perf_counter() - started) * 1000,
    }), flush=True)
    return reply(200, result, request_id)


# ------------------------------------------------------------------------------------------
# A minimal Lambda Runtime API client (what awslambdaric does, minus its C++ HTTP client).

def main():
    conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    base = "/2018-06-01/runtime"
    while True:
        conn.request("GET", f"{base}/invocation/next")
        resp = conn.getresponse()
        event = json.loads(resp.read())
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        context = {
            "aws_request_id": request_id,
            "deadline_ms": int(resp.getheader("Lambda-Runtime-Deadline-Ms") or 0),
            "invoked_function_arn": resp.getheader("Lambda-Runtime-Invoked-Function-Arn"),
        }
        try:
            result = handler(event, context)
            path, payload = f"{base}/invocation/{request_id}/response", json.dumps(result)
        except Exception as e:  # noqa: BLE001 - report every failure to the runtime
            path = f"{base}/invocation/{request_id}/error"
            payload = json.dumps({"errorMessage": str(e), "errorType": type(e).__name__,
                                  "stackTrace": traceback.format_exc().splitlines()})
        conn.request("POST", path, body=payload, headers={"Content-Type": "application/json"})
        conn.getresponse().read()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
