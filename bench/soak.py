#!/usr/bin/env python3
"""Portico soak test (issue 9). Run it through bench/soak.sh, which builds the Release binary.

Generates the demo data, imports it, starts `portico serve` and, from this (second) process, runs
a mixed workload for --minutes: per worker thread, a member of its own who repeatedly

  launches       the SMART flow through the real pages (authorize, login, consent) + code exchange
  refreshes      POST /oauth/token grant_type=refresh_token (rotating the token)
  reads          Patient and ExplanationOfBenefit by id
  searches       ExplanationOfBenefit and Observation for the patient, following every `next` link

Each minute it prints the requests completed, the errors (any answer that is not 2xx/3xx and not
an expected 429, and any failed connection), the server's resident set (VmRSS from
/proc/PID/status), how much of it is SQLite's page caches (portico_sqlite_memory_bytes on
/metrics) and how many verified access tokens the server holds (portico_token_cache_entries;
bounded at 10,000, which this workload reaches in a few minutes because every refresh mints a
new token).
SQLite's page caches fill up to their configured size (cache_size: 64 MiB for the writer, 16 MiB
per pooled reader) as the database grows, which takes far longer than a soak; they are bounded
by configuration, not leaks. So the verdict passes when there were no errors, the server is still
up, the rest of the RSS (RSS minus SQLite's page caches) grew by less than --rss-bound percent
between the end of the warm-up (--warmup, default a third of the run) and the last minute, and
SQLite's page caches stayed under --sqlite-bound MiB. Exit status 1
when it fails. Raw RSS growth is printed as well.
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import portico_test as pt  # noqa: E402  (the integration tests' OAuth helpers)

REDIRECT = "http://app.example/callback"
SCOPE = ("launch/patient openid fhirUser offline_access patient/Patient.read "
         "patient/ExplanationOfBenefit.read patient/Observation.rs")
CLIENT = "soak"
SECRET = "soak-secret-0123456789abcdef"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def bounded_caches(server):
    """From /metrics: SQLite's page caches in KiB (portico_sqlite_memory_bytes, which fill up to
    their configured size as the database grows) and the verified-token cache's entries
    (portico_token_cache_entries, at most 10,000). Both are bounded by design; RSS growth once
    they are full is what a leak would look like."""
    heap = tokens = 0
    try:
        r = server.request("GET", "/metrics")
    except OSError:
        return heap, tokens
    for line in r.body.splitlines():
        if line.startswith("portico_sqlite_memory_bytes "):
            heap = int(float(line.split()[1])) // 1024
        elif line.startswith("portico_token_cache_entries "):
            tokens = int(float(line.split()[1]))
    return heap, tokens


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Tally:
    """Requests, expected 429s and errors per minute, shared by the workers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.throttled = 0
        self.errors = 0
        self.examples = []
        self.by_kind = {}

    def record(self, what, status, body=""):
        with self.lock:
            self.by_kind[what] = self.by_kind.get(what, 0) + 1
            if status is not None and 200 <= status < 400:
                self.ok += 1
            elif status == 429:
                self.throttled += 1
            else:
                self.errors += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{what}: {status} {body[:200]!r}")

    def take(self):
        with self.lock:
            out = (self.ok, self.throttled, self.errors)
            self.ok = self.throttled = self.errors = 0
            return out


class Worker(threading.Thread):
    def __init__(self, server, index, username, password, patient, tally, stop, launch_every):
        super().__init__(daemon=True)
        self.server, self.index = server, index
        self.username, self.password, self.patient = username, password, patient
        self.tally, self.stop = tally, stop
        self.launch_every = launch_every
        self.tokens = None
        self.eob_id = None

    def call(self, what, fn):
        try:
            r = fn()
        except OSError as e:  # refused, reset, timed out: the server did not answer
            self.tally.record(what, None, str(e))
            return None
        self.tally.record(what, r.status, r.body if r.status >= 400 else "")
        return r

    def launch(self):
        try:
            result, verifier = pt.authorize(self.server, CLIENT, REDIRECT, SCOPE, self.username,
                                            self.password)
        except OSError as e:
            self.tally.record("launch", None, str(e))
            return
        if "code" not in result:
            self.tally.record("launch", result.get("page_status"), str(result))
            return
        self.tally.record("launch", 200)  # the pages (several requests) as one
        r = self.call("code exchange", lambda: pt.exchange(self.server, result["code"], verifier,
                                                           CLIENT, SECRET, REDIRECT))
        if r is not None and r.status == 200:
            self.tokens = r.json()

    def refresh(self):
        r = self.call("refresh", lambda: pt.token_request(
            self.server, {"grant_type": "refresh_token",
                          "refresh_token": self.tokens["refresh_token"]},
            basic=(CLIENT, SECRET)))
        if r is not None and r.status == 200:
            self.tokens = r.json()

    def get(self, what, url, raw=False):
        headers = {"Authorization": "Bearer " + self.tokens["access_token"]}
        return self.call(what, lambda: self.server.request("GET", url, headers=headers,
                                                           raw_url=raw))

    def search_all_pages(self, what, path):
        r = self.get(what, path)
        pages = 0
        while r is not None and r.status == 200 and pages < 50:
            bundle = r.json()
            if self.eob_id is None and what == "search-eob":
                for e in bundle.get("entry", []):
                    self.eob_id = e["resource"]["id"]
                    break
            nxt = [link["url"] for link in bundle.get("link", []) if link["relation"] == "next"]
            if not nxt:
                break
            # Follow the link as given, but to the address the server listens on.
            parsed = urllib.parse.urlparse(nxt[0])
            r = self.get(what + " next", self.server.root + parsed.path + "?" + parsed.query,
                         raw=True)
            pages += 1

    def run(self):
        i = 0
        while not self.stop.is_set():
            if self.tokens is None or i % self.launch_every == 0:
                self.launch()
                if self.tokens is None:
                    time.sleep(0.5)  # counted as an error already; do not spin
                    continue
            elif i % 5 == 0:
                self.refresh()
            self.get("read-patient", f"/fhir/Patient/{self.patient}")
            if self.eob_id:
                self.get("read-eob", f"/fhir/ExplanationOfBenefit/{self.eob_id}")
            self.search_all_pages("search-eob",
                                  f"/fhir/ExplanationOfBenefit?patient={self.patient}&_count=4")
            self.search_all_pages("search-obs", f"/fhir/Observation?patient={self.patient}"
                                                "&category=vital-signs&_count=5")
            i += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the portico binary")
    ap.add_argument("--minutes", type=int, default=10)
    ap.add_argument("--members", type=int, default=200, help="members in the demo data")
    ap.add_argument("--workers", type=int, default=4, help="client threads (one member each)")
    ap.add_argument("--threads", type=int, default=2, help="server threads")
    ap.add_argument("--launch-every", type=int, default=25,
                    help="a worker launches anew every this many rounds (refreshes every 5)")
    ap.add_argument("--rss-bound", type=float, default=10.0,
                    help="allowed RSS growth from the end of the warm-up to the last minute, "
                         "percent")
    ap.add_argument("--warmup", type=int, default=None,
                    help="minutes in which bounded caches fill, not judged (default: a third "
                         "of the run, at least 2)")
    ap.add_argument("--sqlite-bound", type=float, default=128.0,
                    help="ceiling for SQLite's page caches, MiB (the writer's 64 MiB and four "
                         "readers' 16 MiB)")
    ap.add_argument("--out", default=None, help="also write the table to this file")
    a = ap.parse_args()

    pt.BIN = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix="portico-soak-")
    server = None
    try:
        db = os.path.join(work, "soak.db")
        data = os.path.join(work, "demo.ndjson")
        log(f"generating {a.members} members and importing")
        pt.run("generate", "--members", str(a.members), "--out", data)
        pt.run("import", "--db", f"sqlite:{db}", data)
        pt.register_client(db, CLIENT, REDIRECT, secret=SECRET)
        members = []
        for w in range(a.workers):
            user, password = f"soak-{w}", f"soak-password-{w}"
            pt.add_user(db, user, password, patient=f"demo-member-{w + 1}")
            members.append((user, password, f"demo-member-{w + 1}"))
        server = pt.Server(db, extra_args=["--threads", str(a.threads)])
        pid = server.proc.pid
        tally, stop = Tally(), threading.Event()
        workers = [Worker(server, i, *members[i], tally, stop, a.launch_every)
                   for i in range(a.workers)]
        log(f"server pid {pid}; {a.workers} workers for {a.minutes} minutes")
        for w in workers:
            w.start()
        rows = []
        header = ("| minute | requests | req/s | 429 | errors | server RSS (MiB, mean) "
                  "| of which SQLite heap (MiB) | cached tokens | database (MiB) |")
        rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        print(header)
        print(rule, flush=True)
        start = time.monotonic()
        for minute in range(1, a.minutes + 1):
            # RSS moves by tens of MiB within a minute as malloc arenas grow and are trimmed, so
            # a minute's figures are the means of samples every 5 s.
            samples = []
            while True:
                left = start + 60 * minute - time.monotonic()
                time.sleep(max(0.0, min(5.0, left)))
                if server.proc.poll() is not None:
                    break
                samples.append((rss_kb(pid), *bounded_caches(server)))
                if left <= 5.0:
                    break
            ok, throttled, errors = tally.take()
            alive = server.proc.poll() is None
            rss = sum(x for x, _, _ in samples) / len(samples) if samples else 0
            heap = sum(y for _, y, _ in samples) / len(samples) if samples else 0
            tokens = samples[-1][2] if samples else 0
            size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
            rows.append((minute, ok + throttled + errors, throttled, errors, rss, heap,
                         size / 1048576, tokens))
            print(f"| {minute} | {ok + throttled + errors} | {(ok + throttled + errors) / 60:.0f} "
                  f"| {throttled} | {errors} | {rss / 1024:.1f} | {heap / 1024:.1f} "
                  f"| {tokens} | {size / 1048576:.0f} |", flush=True)
            if not alive:
                break
        stop.set()
        for w in workers:
            w.join(timeout=60)
        alive = server.proc.poll() is None

        total_errors = sum(r[3] for r in rows)
        warmup = a.warmup if a.warmup is not None else max(2, a.minutes // 3)
        base_row = rows[min(warmup, len(rows)) - 1]
        last_row = rows[-1]
        growth = (100.0 * (last_row[4] - base_row[4]) / base_row[4]) if base_row[4] else 100.0
        # For the reader: how much of the growth is SQLite's page caches filling up.
        other = last_row[4] - last_row[5] - (base_row[4] - base_row[5])
        other_pct = 100.0 * other / base_row[4] if base_row[4] else 100.0
        sqlite_peak = max(r[5] for r in rows) / 1024
        passed = (alive and total_errors == 0 and other_pct < a.rss_bound and
                  sqlite_peak < a.sqlite_bound)
        verdict = (f"verdict: {'PASS' if passed else 'FAIL'}: {total_errors} errors, server "
                   f"{'up' if alive else 'DOWN'}; RSS without SQLite's page caches "
                   f"{(base_row[4] - base_row[5]) / 1024:.1f} MiB at minute {base_row[0]} -> "
                   f"{(last_row[4] - last_row[5]) / 1024:.1f} MiB at minute {last_row[0]} "
                   f"({other_pct:+.1f}%, bound {a.rss_bound:.0f}%); SQLite heap peak "
                   f"{sqlite_peak:.1f} MiB (bound {a.sqlite_bound:.0f}); raw RSS "
                   f"{base_row[4] / 1024:.1f} -> {last_row[4] / 1024:.1f} MiB ({growth:+.1f}%); "
                   f"{sum(r[1] for r in rows)} requests in {len(rows)} minutes")
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(tally.by_kind.items()))
        print(f"requests by kind: {kinds}")
        print(verdict, flush=True)
        for e in tally.examples:
            print("  error:", e)
        if a.out:
            with open(a.out, "w") as f:
                f.write(header + "\n" + rule + "\n")
                for m, n, t, e, r, h, d, k in rows:
                    f.write(f"| {m} | {n} | {n / 60:.0f} | {t} | {e} | {r / 1024:.1f} "
                            f"| {h / 1024:.1f} | {k} | {d:.0f} |\n")
                f.write(f"\nrequests by kind: {kinds}\n\n{verdict}\n")
        return 0 if passed else 1
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, True)


if __name__ == "__main__":
    sys.exit(main())
