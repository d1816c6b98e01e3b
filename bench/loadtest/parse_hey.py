#!/usr/bin/env python3
"""Reads hey's report on stdin and prints one JSON line: requests/s, p50/p99 latency (ms), responses by status, errors."""
import json
import re
import sys

text = sys.stdin.read()


def number(pattern):
    match = re.search(pattern, text)
    return float(match.group(1)) if match else None


statuses = {code: int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", text)}
errors = re.search(r"Error distribution:\n((?:\s+\[\d+\].*\n?)+)", text)
error_count = sum(int(n) for n in re.findall(r"\[(\d+)\]", errors.group(1))) if errors else 0
p50 = number(r"50%+ in ([\d.]+) secs")
p99 = number(r"99%+ in ([\d.]+) secs")
print(json.dumps({
    "requests_per_second": number(r"Requests/sec:\s+([\d.]+)"),
    "p50_ms": None if p50 is None else round(p50 * 1000, 1),
    "p99_ms": None if p99 is None else round(p99 * 1000, 1),
    "ok": statuses.get(200, 0),
    "failed": sum(n for code, n in statuses.items() if code != 200) + error_count,
    "statuses": statuses,
}))
