#!/usr/bin/env python3
"""Reads hey's CSV report (hey -o csv) on stdin and prints one JSON line: requests/s, p50/p99 latency (ms), failures.

hey 0.1.4's own summary is not used: its percentile table drops the 99th percentile (prints "0% in 0.0000 secs").
Throughput is the responses over the span from the first request's start to the last response's end.
"""
import csv
import json
import sys

rows = list(csv.DictReader(sys.stdin))
if not rows:
    print(json.dumps({"requests_per_second": 0, "p50_ms": None, "p99_ms": None, "ok": 0, "failed": 0, "statuses": {}}))
    sys.exit(0)
latencies = sorted(float(r["response-time"]) for r in rows)
span = max(float(r["offset"]) + float(r["response-time"]) for r in rows) - min(float(r["offset"]) for r in rows)
statuses = {}
for r in rows:
    statuses[r["status-code"]] = statuses.get(r["status-code"], 0) + 1


def percentile(p):
    # Nearest rank.
    return latencies[min(len(latencies) - 1, max(0, int(round(p / 100 * len(latencies) + 0.5)) - 1))]


print(json.dumps({
    "requests": len(rows),
    "requests_per_second": round(len(rows) / span, 2),
    "p50_ms": round(percentile(50) * 1000, 1),
    "p99_ms": round(percentile(99) * 1000, 1),
    "max_ms": round(latencies[-1] * 1000, 1),
    "ok": statuses.get("200", 0),
    "failed": len(rows) - statuses.get("200", 0),
    "statuses": statuses,
}))
