#!/usr/bin/env python3
"""Counts the HTTP requests of schemathesis runs from their NDJSON reports (contract step).

Prints, per operation, how many requests were sent and which statuses came back, then the
total; exits 1 when fewer than --min requests were sent in all, or fewer than
--min-per-operation to one operation of the OpenAPI document.

Usage: summary.py --min N --min-per-operation N --openapi openapi.yaml REPORT.ndjson...      (stdlib + PyYAML)
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import yaml

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min", type=int, default=0, help="fail below this many requests in all")
    ap.add_argument("--min-per-operation", type=int, default=1, help="fail when an operation got fewer")
    ap.add_argument("--openapi", type=Path, required=True)
    ap.add_argument("reports", nargs="+", type=Path)
    args = ap.parse_args()

    doc = yaml.safe_load(args.openapi.read_text(encoding="utf-8"))
    documented = {
        f"{m.upper()} {p}" for p, item in (doc.get("paths") or {}).items() for m in item if m in METHODS
    }

    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    undocumented_methods = 0  # schemathesis' "unspecified HTTP method" probes (not operations)
    for report in args.reports:
        with report.open(encoding="utf-8") as f:
            for line in f:
                event = json.loads(line)
                finished = event.get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished.get("recorder") or {}
                label = recorder.get("label", "?")
                for interaction in (recorder.get("interactions") or {}).values():
                    request = interaction.get("request") or {}
                    if request.get("method", "").upper() != label.split(" ", 1)[0]:
                        undocumented_methods += 1
                        continue
                    response = interaction.get("response")
                    statuses[label][response["status_code"] if response else "no response"] += 1

    total = sum(sum(c.values()) for c in statuses.values())
    width = max((len(op) for op in documented | set(statuses)), default=10)
    print("contract: requests per operation (status: count)")
    for op in sorted(documented | set(statuses)):
        counts = statuses.get(op, collections.Counter())
        detail = ", ".join(f"{s}: {n}" for s, n in sorted(counts.items(), key=lambda kv: str(kv[0])))
        print(f"  {op:<{width}}  {sum(counts.values()):>5}   {detail}")
    print(f"contract: {total} requests to the documented operations"
          f" (+ {undocumented_methods} undocumented-method probes)")

    problems = []
    if total < args.min:
        problems.append(f"only {total} requests, at least {args.min} wanted (raise PORTAL_CONTRACT_MAX_EXAMPLES)")
    for op in sorted(documented):
        sent = sum(statuses.get(op, {}).values())
        if sent < args.min_per_operation:
            problems.append(f"{op}: {sent} request(s), at least {args.min_per_operation} wanted")
    for p in problems:
        print(f"contract: FAILED: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
