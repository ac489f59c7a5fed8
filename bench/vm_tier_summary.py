#!/usr/bin/env python3
"""Print the VM tier's timings (tests/e2e writes them to bench/results/vm-tier.jsonl).

    .venv/bin/python bench/vm_tier_summary.py [--all]

One line per measured step, the latest run's figure (with --all: every run's). Tests never
assert these numbers; the 2 cores are shared, so read them beside the load of the run.
"""
import json
import os
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "vm-tier.jsonl")


def main(argv):
    if not os.path.exists(RESULTS):
        print("no results yet: run .venv/bin/pytest tests/e2e -m vm")
        return 1
    rows = [json.loads(line) for line in open(RESULTS) if line.strip()]
    if "--all" not in argv:
        latest = {}
        for row in rows:
            latest[row["test"]] = row
        rows = list(latest.values())
    for row in rows:
        extra = ", ".join("%s=%s" % (k, v) for k, v in sorted(row.items())
                          if k not in ("test", "seconds", "at"))
        print("%-36s %7.2f s  %s  %s" % (row["test"], row["seconds"], row["at"], extra))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
