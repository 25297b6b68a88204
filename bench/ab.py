#!/usr/bin/env python3
"""Paired comparison of two or more Portico builds on the same data (see bench/README.md).

On this shared virtual machine throughput moves by 15-40% over an hour, so two bench runs taken
apart cannot tell a 5% change from the noise. This script alternates the builds, round after
round, on copies of one prepared database: every round starts each build afresh (a fresh copy
of the database, a SMART login for a patient token), warms it up for a second, then measures
`wrk -t1 -c32` and the server's CPU time per request. The builds share each minute of the
machine's state, so their difference is the change.

  bench/ab.py --db-template DB --bins OLD,NEW [--rounds 4] [--path /fhir/Patient/demo-member-1]

DB is a SQLite file prepared like the bench's (`portico import` plus the bench client and user:
bench.py --keep-db leaves one in OUT/db/). Prints each run and the median per build.
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def measure(binary, template, path, duration, workdir):
    server, token = bench.start_on_copy(binary, template, workdir, "ab.db")
    try:
        script = bench.write_lua(os.path.join(workdir, "ab.lua"),
                                 headers={"Authorization": "Bearer " + token})
        url = server.root + path
        bench.run_wrk(url, 1, 4, 1, script)  # warm-up
        cpu0 = bench.cpu_seconds(server.pid)
        r = bench.run_wrk(url, 1, 32, duration, script)
        cpu = bench.cpu_seconds(server.pid) - cpu0
        if r["non2xx"] or not r["requests"]:
            raise RuntimeError(f"{binary}: {r['non2xx']} errors, {r['requests']} requests")
        return r["rps"], cpu / r["requests"] * 1e6
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db-template", required=True, help="prepared SQLite file (not modified)")
    ap.add_argument("--bins", required=True, help="comma-separated portico binaries")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=int, default=3, help="seconds per measurement")
    ap.add_argument("--path", default="/fhir/Patient/demo-member-1")
    a = ap.parse_args()
    bins = a.bins.split(",")
    runs = {b: [] for b in bins}
    with tempfile.TemporaryDirectory(prefix="portico-ab-") as workdir:
        for rnd in range(a.rounds):
            for b in bins:
                rps, us = measure(b, a.db_template, a.path, a.duration, workdir)
                runs[b].append((rps, us))
                bench.log(f"round {rnd + 1} {b}: {rps:.0f} req/s, {us:.1f} us cpu/req")
    print("| build | median req/s | median CPU µs/req | runs (req/s / µs) |\n|---|---|---|---|")
    for b in bins:
        rps = statistics.median(x[0] for x in runs[b])
        us = statistics.median(x[1] for x in runs[b])
        each = ", ".join(f"{x[0]:.0f} / {x[1]:.1f}" for x in runs[b])
        print(f"| {b} | {rps:,.0f} | {us:.1f} | {each} |")


if __name__ == "__main__":
    main()
