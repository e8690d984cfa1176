#!/usr/bin/env python3
"""Logs a platform identity in through the real web flow and prints the session token.

request (public key) → bot/login-code (bot key; returns the pending web code) → verify
(public key; `Set-Cookie: psession=<token>`). Used by the contract step of scripts/test.sh to
give schemathesis a live session cookie. Each identity gets its own user on first login.
With --openapi, the three 200 answers (bodies and verify's Set-Cookie) are also validated
against openapi.yaml: schemathesis alone rarely reaches verify's 200 (it cannot guess codes).

Usage: session.py --api URL --public-key K --bot-key K [--platform discord] --platform-user-id N
                  [--openapi openapi.yaml]      (--openapi needs PyYAML and jsonschema_rs)
Exit status 1 (with the failing answer on stderr) when a step does not answer as expected.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request


def call(api: str, path: str, key: str, body: dict) -> tuple[int, dict, list[str]]:
    req = urllib.request.Request(
        api.rstrip("/") + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-API-Key": key, "User-Agent": "portal-contract-setup"},
    )
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:  # noqa: S310 - local stack only
            return resp.status, json.loads(resp.read() or b"null"), resp.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as e:
        return e.code, {"raw": e.read().decode(errors="replace")}, []


class Contract:
    """The 200 answers of openapi.yaml, to validate the flow's answers against."""

    def __init__(self, path: str):
        import jsonschema_rs  # noqa: PLC0415 - only with --openapi (a schemathesis dependency)
        import yaml  # noqa: PLC0415

        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.jsonschema_rs = jsonschema_rs
        self.problems: list[str] = []

    def check(self, path: str, body, cookies: list[str]) -> None:
        ok = self.doc["paths"][path]["post"]["responses"]["200"]
        schema = {"$ref": ok["content"]["application/json"]["schema"]["$ref"], "components": self.doc["components"]}
        for e in self.jsonschema_rs.Draft202012Validator(schema).iter_errors(body):
            self.problems.append(f"{path} 200 body: {e.message} (body: {body})")
        cookie = (ok.get("headers") or {}).get("Set-Cookie")
        if cookie:
            pattern = cookie["schema"]["pattern"]
            if len(cookies) != 1 or not re.search(pattern, cookies[0]):
                self.problems.append(f"{path} 200 Set-Cookie {cookies} does not match {pattern}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--public-key", required=True)
    ap.add_argument("--bot-key", required=True)
    ap.add_argument("--platform", default="discord")
    ap.add_argument("--platform-user-id", required=True)
    ap.add_argument("--openapi", help="validate the 200 answers against this OpenAPI document")
    a = ap.parse_args()
    contract = Contract(a.openapi) if a.openapi else None

    identity = {"platform": a.platform, "platform_user_id": a.platform_user_id}
    status, body, _ = call(a.api, "/v1/authentication/request", a.public_key, identity)
    if status != 200:
        print(f"session: request answered {status}: {body}", file=sys.stderr)
        return 1
    if contract:
        contract.check("/v1/authentication/request", body, [])
    report = {**identity, "platform_username": "contract-test", "platform_avatar_url": ""}
    status, body, _ = call(a.api, "/v1/authentication/bot/login-code", a.bot_key, report)
    if status != 200 or not isinstance(body, dict) or not body.get("code"):
        print(f"session: login-code answered {status}: {body}", file=sys.stderr)
        return 1
    if contract:
        contract.check("/v1/authentication/bot/login-code", body, [])
    status, body, cookies = call(a.api, "/v1/authentication/verify", a.public_key, {"code": body["code"]})
    tokens = [m.group(1) for c in cookies if (m := re.match(r"psession=([0-9a-f]{64});", c))]
    if status != 200 or len(tokens) != 1:
        print(f"session: verify answered {status}: {body} (Set-Cookie: {cookies})", file=sys.stderr)
        return 1
    if contract:
        contract.check("/v1/authentication/verify", body, cookies)
        for p in contract.problems:
            print(f"session: answer does not conform to openapi.yaml: {p}", file=sys.stderr)
        if contract.problems:
            return 1
    print(tokens[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
