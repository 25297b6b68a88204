#!/usr/bin/env python3
"""Portico benchmark driver (issue 8). Run it through bench/run.sh, which installs the tools and
builds the Release binary first.

For each data size it generates the demo data with `portico generate`, imports it into a fresh
database (SQLite, or PostgreSQL with --backend postgresql --pg-url URL), starts `portico serve` on
loopback, gets a patient token through the real SMART
flow and measures:

  read-patient   GET /fhir/Patient/demo-member-1
  read-eob       GET /fhir/ExplanationOfBenefit/demo-eob-1-professional-1
  search-eob     GET /fhir/ExplanationOfBenefit?patient=demo-member-1&_count=50
  search-obs     GET /fhir/Observation?patient=demo-member-1&category=vital-signs&date=ge2023-01-01
  introspect     POST /oauth/introspect (client Basic auth, the access token in the form)
  token-code     POST /oauth/token grant_type=authorization_code (codes made beforehand)
  token-refresh  POST /oauth/token grant_type=refresh_token (chains: each call rotates the token)
  nginx-static   the Patient JSON body that Portico returned, served by nginx (reference limit)
  nginx-eob      the EOB JSON body that Portico returned, served by nginx (read-eob's reference)

demo-member-1 is the same member at every size (about 14 EOBs, every US Core type), so reads and
searches return the same bytes at 1k, 10k and 100k members: any change with size is the cost of
the larger database. Every figure is the median of --runs runs. Results go to OUT/results.json,
OUT/results.md and OUT/performance.png.
"""

import argparse
import base64
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
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
         "patient/ExplanationOfBenefit.read patient/Observation.rs patient/Coverage.rs")
CLIENT = "bench"
SECRET = "bench-secret-0123456789abcdef"
USER, PASSWORD = "bench", "bench-password-1"
PATIENT = "demo-member-1"

# The reads whose bodies nginx also serves, and the nginx scenarios that measure them.
NGINX_FILES = {"read-patient": "patient.json", "read-eob": "eob.json"}
NGINX_REFERENCES = {"nginx-static": "patient.json", "nginx-eob": "eob.json"}

READS = [
    ("read-patient", "/fhir/Patient/demo-member-1"),
    ("read-eob", "/fhir/ExplanationOfBenefit/demo-eob-1-professional-1"),
    ("search-eob", "/fhir/ExplanationOfBenefit?patient=demo-member-1&_count=50"),
    ("search-obs", "/fhir/Observation?patient=demo-member-1&category=vital-signs"
                   "&date=ge2023-01-01"),
]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---- process measurements ------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def reset_hwm(pid):
    """Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0), so that each scenario
    reports its own peak."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class Probe:
    """Server CPU time and peak RSS around one measurement."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        reset_hwm(self.pid)
        self.cpu0 = cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc):
        self.cpu = cpu_seconds(self.pid) - self.cpu0
        self.hwm_kb = vm_hwm_kb(self.pid)


# ---- wrk -----------------------------------------------------------------------------------

def parse_duration(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return None
    v = float(m.group(1))
    return v * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]  # in ms


def run_wrk(url, threads, conns, duration, script=None, env=None):
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency"]
    if script:
        args += ["-s", script]
    args.append(url)
    out = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})},
                         timeout=duration + 60).stdout
    res = {"raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)
        res[f"p{p}"] = parse_duration(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else ""
    return res


def write_lua(path, method="GET", body=None, headers=None, delay_ms=None):
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for k, v in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    if delay_ms:
        lines.append(f"function delay() return {delay_ms} end")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# ---- Python HTTP client for the token endpoint ---------------------------------------------

class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.c = http.client.HTTPConnection(host, port, timeout=30)

    def post_form(self, path, form, basic=None):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if basic:
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{basic[0]}:{basic[1]}".encode()).decode()
        body = urllib.parse.urlencode(form)
        for attempt in range(2):
            try:
                self.c.request("POST", path, body=body, headers=headers)
                r = self.c.getresponse()
                return r.status, r.read()
            except (ConnectionError, http.client.HTTPException):
                if attempt:
                    raise
                self.c.close()
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def close(self):
        self.c.close()


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100 * (len(v) - 1)))))
    return v[k]


def drive(host, port, jobs, threads, rate=None):
    """Runs `jobs` (callables taking a Conn and returning True on success) on `threads`
    keep-alive connections. With `rate`, requests start on a fixed schedule (open loop: latency
    is measured from the scheduled start, so queueing shows). Returns (rate, p50, p99, errors)."""
    lock = threading.Lock()
    queue = list(enumerate(jobs))
    lat, errors = [], [0]
    t0 = time.perf_counter()

    def worker():
        conn = Conn(host, port)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    i, job = queue.pop(0)
                start = time.perf_counter()
                if rate:
                    scheduled = t0 + i / rate
                    if scheduled > start:
                        time.sleep(scheduled - start)
                    start = scheduled
                ok = job(conn)
                end = time.perf_counter()
                with lock:
                    lat.append((end - start) * 1000)
                    if not ok:
                        errors[0] += 1
        finally:
            conn.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"rps": len(lat) / elapsed, "requests": len(lat), "p50": percentile(lat, 50),
            "p99": percentile(lat, 99), "non2xx": errors[0]}


# ---- the server and its data ---------------------------------------------------------------

def portico(binary, *args, input=None, timeout=None):
    p = subprocess.run([binary, *args], capture_output=True, text=True, input=input,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"portico {' '.join(args)} failed: {p.stdout}\n{p.stderr}")
    return p


def file_size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def prepare_data(binary, members, datadir, chunk_lines):
    """Generates the NDJSON once (cached) and splits it into files of `chunk_lines` resources,
    as a bulk export would deliver it (each file is one import transaction)."""
    gen_dir = os.path.join(datadir, f"members-{members}")
    done = os.path.join(gen_dir, ".complete")
    if os.path.exists(done):
        with open(done) as f:
            return gen_dir, int(f.read())
    shutil.rmtree(gen_dir, ignore_errors=True)
    os.makedirs(gen_dir)
    log(f"generating {members} members")
    gen = subprocess.Popen([binary, "generate", "--members", str(members)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    count, part, out = 0, 0, None
    for line in gen.stdout:
        if count % chunk_lines == 0:
            if out:
                out.close()
            out = open(os.path.join(gen_dir, f"part-{part:05d}.ndjson"), "wb")
            part += 1
        out.write(line)
        count += 1
    if out:
        out.close()
    if gen.wait() != 0:
        raise RuntimeError("portico generate failed")
    with open(done, "w") as f:
        f.write(str(count))
    return gen_dir, count


class Backend:
    """The store under test: a SQLite file, or a database on a PostgreSQL server."""

    def __init__(self, kind, pg_url, out):
        self.kind, self.pg_url, self.out = kind, pg_url, out
        self.path = self.url = None

    def psql(self, url, sql):
        return subprocess.run(["psql", "-qAtX", url, "-c", sql], check=True, text=True,
                              capture_output=True).stdout.strip()

    def pg_database(self, name):
        base, _, _ = self.pg_url.rpartition("/")
        return f"{base}/{name}"

    def fresh(self, members):
        """Empties the database for `members` and returns its --db value."""
        if self.kind == "sqlite":
            self.path = os.path.join(self.out, "db", f"portico-{members}.db")
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
            self.url = f"sqlite:{self.path}"
        else:
            name = f"portico_bench_{members}"
            self.psql(self.pg_url, f"DROP DATABASE IF EXISTS {name}")
            self.psql(self.pg_url, f"CREATE DATABASE {name}")
            self.url = self.pg_database(name)
        return self.url

    def size_bytes(self):
        if self.kind == "sqlite":
            return sum(file_size(self.path + s) for s in ("", "-wal", "-shm"))
        return int(self.psql(self.url, "SELECT pg_database_size(current_database())"))

    def audit_rows(self):
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as c:
                return c.execute("SELECT count(*) FROM auth_audit").fetchone()[0]
        return int(self.psql(self.url, "SELECT count(*) FROM auth_audit"))

    def drop(self):
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
        else:
            name = self.url.rpartition("/")[2]
            self.psql(self.pg_url, f"DROP DATABASE IF EXISTS {name}")


def import_with_rusage(binary, db, gen_dir):
    """Imports gen_dir into `db` (a --db value), returning the rate, CPU time and peak RSS."""
    t0 = time.perf_counter()
    outf = tempfile.TemporaryFile("w+")
    p = subprocess.Popen([binary, "import", "--db", db, gen_dir], stdout=outf,
                         stderr=subprocess.STDOUT, text=True)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    outf.seek(0)
    out = outf.read()
    if p.returncode != 0:
        raise RuntimeError(f"import failed: {out}")
    m = re.search(r"\((\d+) resources in ([\d.]+) s, (\d+) resources/s\)", out)
    return {"resources": int(m.group(1)), "seconds": float(m.group(2)),
            "rate": float(m.group(3)), "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
            "rss_kb": ru.ru_maxrss, "output": out.strip().splitlines()[-1]}


class PorticoServer:
    def __init__(self, binary, db, threads, workdir):
        cfg = os.path.join(workdir, "bench.toml")
        with open(cfg, "w") as f:
            f.write("code_seconds = 600\n")  # codes are made up to a minute before use
            # One member makes every code and grant here: the per-member limits (issue 9) would
            # refuse codes made ahead and supersede the grants whose refresh tokens are measured.
            f.write("max_codes_per_user = 0\nmax_grants_per_user_client = 0\n")
        self.proc = subprocess.Popen(
            [binary, "serve", "--db", db, "--listen", "127.0.0.1:0",
             "--threads", str(threads), "--config", cfg],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        listening = base = None
        for line in self.proc.stdout:
            if line.startswith("Portico listening on "):
                listening = line.strip().split(" on ", 1)[1]
            if line.startswith("FHIR base URL: "):
                base = line.strip().split(": ", 1)[1]
                break
        if base is None:
            raise RuntimeError("server did not start: " + self.proc.stderr.read())
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        self.base = base
        self.root = "http://" + listening
        self.host, port = listening.rsplit(":", 1)
        self.port = int(port)
        self.pid = self.proc.pid
        # the shape the integration helpers expect
        self.public_root = base[: -len("/fhir")]
        self.default_token = None

    request = pt.Server.request

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after `timeout` s (a server drains its audit queue on exit)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def make_codes(server, n, threads=2):
    """Walks the login flow n times (each login verifies an Argon2id password, ~40 ms)."""
    codes, lock = [], threading.Lock()

    def worker(k):
        for _ in range(k):
            result, verifier = pt.authorize(server, CLIENT, REDIRECT, SCOPE, USER, PASSWORD)
            if "code" not in result:
                raise RuntimeError(f"authorize failed: {result}")
            with lock:
                codes.append((result["code"], verifier))

    per = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    ts = [threading.Thread(target=worker, args=(k,)) for k in per]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return codes


def exchange_job(code, verifier):
    def job(conn):
        status, body = conn.post_form("/oauth/token", {
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT}, basic=(CLIENT, SECRET))
        return status == 200
    return job


def refresh_chain(tokens, holder_index):
    """A job that refreshes the token held in tokens[holder_index] and keeps the new one."""
    def job(conn):
        status, body = conn.post_form("/oauth/token", {
            "grant_type": "refresh_token", "refresh_token": tokens[holder_index]},
            basic=(CLIENT, SECRET))
        if status != 200:
            return False
        tokens[holder_index] = json.loads(body)["refresh_token"]
        return True
    return job


# ---- nginx ---------------------------------------------------------------------------------

class Nginx:
    """nginx serving static files: `bodies` maps a file name to its bytes (see url())."""

    def __init__(self, bodies, workdir):
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(os.path.join(self.dir, "html"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        for name, body in bodies.items():
            with open(os.path.join(self.dir, "html", name), "wb") as f:
                f.write(body)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 2;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/fhir+json;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path {self.dir}/tmp;
  proxy_temp_path {self.dir}/tmp;
  fastcgi_temp_path {self.dir}/tmp;
  uwsgi_temp_path {self.dir}/tmp;
  scgi_temp_path {self.dir}/tmp;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.dir}/html;
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("nginx did not start, see " + self.dir + "/error.log")
                time.sleep(0.05)
        self.root = f"http://127.0.0.1:{self.port}"

    def url(self, name):
        return f"{self.root}/{name}"

    def worker_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        return [int(p) for p in out]

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- the benchmark -------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs, extra=()):
    s = {"runs": runs}
    for k in ("rps", "p50", "p99", "cpu_us", "hwm_kb", "lat_rps") + tuple(extra):
        s[k] = median([r.get(k) for r in runs])
    s["errors"] = sum(r.get("non2xx", 0) for r in runs)
    return s


def wanted(a, scenario):
    return not a.scenarios or scenario in a.scenarios.split()


def start_server(a, db, workdir):
    """A fresh server and a patient access token obtained through the SMART flow."""
    server = PorticoServer(a.bin, db, a.threads, workdir)
    result, verifier = pt.authorize(server, CLIENT, REDIRECT, SCOPE, USER, PASSWORD)
    tok = pt.exchange(server, result["code"], verifier, CLIENT, SECRET, REDIRECT).json()
    return server, tok["access_token"]


def start_on_copy(binary, template, workdir, name="copy.db"):
    """start_server (two I/O threads) on a fresh copy of the SQLite file `template` in workdir."""
    db = os.path.join(workdir, name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    shutil.copyfile(template, db)
    return start_server(argparse.Namespace(bin=binary, threads=2), "sqlite:" + db, workdir)


def refresh_tokens(server, n):
    """n refresh tokens, each from a login and a code exchange of its own."""
    return [pt.exchange(server, c, v, CLIENT, SECRET, REDIRECT).json()["refresh_token"]
            for c, v in make_codes(server, n)]


def measure_wrk(a, name, pids, url, script, paced):
    for p in pids:
        reset_hwm(p)
    cpu0 = sum(cpu_seconds(p) for p in pids)
    peak = run_wrk(url, a.wrk_threads, a.conns, a.duration, script)
    cpu = sum(cpu_seconds(p) for p in pids) - cpu0
    hwm = sum(vm_hwm_kb(p) for p in pids)
    lat = run_wrk(url, 1, a.lat_conns, a.duration, paced)
    return {"rps": peak["rps"], "cpu_us": cpu / max(1, peak["requests"]) * 1e6,
            "hwm_kb": hwm, "p50": lat["p50"], "p99": lat["p99"], "lat_rps": lat["rps"],
            "peak_p99": peak["p99"], "non2xx": peak["non2xx"] + lat["non2xx"],
            "socket_errors": peak["socket_errors"]}


def bench_size(a, members, nginx_holder, results):
    res = {"members": members}
    gen_dir, count = prepare_data(a.bin, members, a.data or os.path.join(a.out, "data"), a.chunk)
    res["generated"] = count
    backend = Backend(a.backend, a.pg_url, a.out)
    db = backend.fresh(members)
    log(f"importing {count} resources ({members} members) into {a.backend}")
    imp = import_with_rusage(a.bin, db, gen_dir)
    size = backend.size_bytes()
    imp["db_bytes"] = size
    imp["bytes_per_million"] = size / imp["resources"] * 1e6
    res["import"] = imp
    log(f"import: {imp['output']} (cpu {imp['cpu']:.1f} s, rss {imp['rss_kb'] // 1024} MiB, "
        f"db {size / 2**20:.0f} MiB)")

    portico(a.bin, "client", "add", "--db", db, "--client-id", CLIENT,
            "--redirect-uri", REDIRECT, "--name", "bench app", "--secret-stdin",
            input=SECRET + "\n")
    portico(a.bin, "user", "add", "--db", db, "--username", USER,
            "--password-stdin", "--patient", PATIENT, input=PASSWORD + "\n")

    workdir = os.path.join(a.out, "work", str(members))
    os.makedirs(workdir, exist_ok=True)
    # Each paced connection waits its share of the period less about 1 ms (the service time and
    # wrk's own scheduling), so that the rate reached comes close to --rate.
    delay = max(1, int(a.lat_conns * 1000 / a.rate) - 1)
    scen = {}

    # Each scenario gets a freshly started server, so that its peak RSS is its own and the
    # audit backlog of one scenario (see docs/performance.md) does not slow the next.
    server, access = start_server(a, db, workdir)
    res["rss_idle_kb"] = vm_hwm_kb(server.pid)
    try:
        bearer = {"Authorization": "Bearer " + access}
        bodies = {}
        for name, path in READS:
            r = server.request("GET", path, headers=bearer)
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status} {r.body[:300]}")
            if name in NGINX_FILES:
                bodies[NGINX_FILES[name]] = r.body.encode()
            if name.startswith("search"):
                res.setdefault("search_hits", {})[name] = len(r.json().get("entry", []))
            res.setdefault("bytes", {})[name] = len(r.body.encode())
    finally:
        server.stop(a.stop_timeout)
    if nginx_holder[0] is None:  # the same member, so the same bodies, at every size
        nginx_holder[0] = Nginx(bodies, a.out)
    nginx = nginx_holder[0]

    for name, path in READS + [("introspect", None)]:
        if not wanted(a, name):
            continue
        server, access = start_server(a, db, workdir)
        try:
            bearer = {"Authorization": "Bearer " + access}
            if path:
                url = server.root + path
                script = write_lua(os.path.join(workdir, f"{name}.lua"), headers=bearer)
                paced = write_lua(os.path.join(workdir, f"{name}-paced.lua"), headers=bearer,
                                  delay_ms=delay)
            else:
                url = server.root + "/oauth/introspect"
                form = urllib.parse.urlencode({"token": access})
                basic = {"Authorization": "Basic " + base64.b64encode(
                    f"{CLIENT}:{SECRET}".encode()).decode(),
                    "Content-Type": "application/x-www-form-urlencoded"}
                script = write_lua(os.path.join(workdir, "introspect.lua"), "POST", form, basic)
                paced = write_lua(os.path.join(workdir, "introspect-paced.lua"), "POST", form,
                                  basic, delay)
            run_wrk(url, 1, 4, 1, script)  # warm-up: page cache, statement caches
            for run in range(a.runs):
                r = measure_wrk(a, name, [server.pid], url, script, paced)
                scen.setdefault(name, []).append(r)
                log(f"{members} run {run + 1} {name}: {r['rps']:.0f} req/s, "
                    f"{r['cpu_us']:.1f} us cpu/req, paced {r['lat_rps']:.0f}/s "
                    f"p50 {r['p50']} p99 {r['p99']} ms, hwm {r['hwm_kb'] // 1024} MiB, "
                    f"non2xx {r['non2xx']}")
        finally:
            server.stop(a.stop_timeout)

    # nginx, the reference limit, measured in the same way right after: the Patient body
    # (nginx-static) and the EOB body (nginx-eob), each the bytes Portico returned
    paced = write_lua(os.path.join(workdir, "nginx-paced.lua"), delay_ms=delay)
    for ref, file in NGINX_REFERENCES.items():
        if not wanted(a, ref):
            continue
        run_wrk(nginx.url(file), 1, 4, 1)
        for run in range(a.runs):
            r = measure_wrk(a, ref, nginx.worker_pids(), nginx.url(file), None, paced)
            scen.setdefault(ref, []).append(r)
            log(f"{members} run {run + 1} {ref}: {r['rps']:.0f} req/s, "
                f"{r['cpu_us']:.1f} us cpu/req, p50 {r['p50']} p99 {r['p99']} ms")

    # token endpoint: authorization_code exchange. Peak: wrk, one connection per thread, each
    # code once (bench/token.lua); latency: the Python client at a fixed rate.
    server, access = start_server(a, db, workdir)
    try:
        for run in range(a.runs if wanted(a, "token-code") else 0):
            codes = make_codes(server, a.codes + a.paced_codes)
            with Probe(server.pid) as pr:
                peak = wrk_tokens(a, server, "code", workdir,
                                  codes="".join(f"{c} {v}\n" for c, v in codes[:a.codes]))
            lat = drive(server.host, server.port,
                        [exchange_job(c, v) for c, v in codes[a.codes:]], a.py_threads,
                        rate=a.token_rate)
            r = {"rps": peak["rps"], "cpu_us": pr.cpu / max(1, peak["requests"]) * 1e6,
                 "hwm_kb": pr.hwm_kb, "p50": lat["p50"], "p99": lat["p99"],
                 "lat_rps": lat["rps"], "non2xx": peak["non2xx"] + lat["non2xx"]}
            scen.setdefault("token-code", []).append(r)
            log(f"{members} run {run + 1} token-code: {r}")
    finally:
        server.stop(a.stop_timeout)

    # token endpoint: refresh chains, one per connection; each call rotates the token
    server, access = start_server(a, db, workdir)
    try:
        for run in range(a.runs if wanted(a, "token-refresh") else 0):
            tokens = refresh_tokens(server, a.token_conns + a.py_threads)
            with Probe(server.pid) as pr:
                peak = wrk_tokens(a, server, "refresh", workdir,
                                  tokens="\n".join(tokens[:a.token_conns]) + "\n")
            paced = tokens[a.token_conns:]
            lat = drive_chains(server, paced,
                               max(1, a.token_rate * a.duration // len(paced)),
                               rate=a.token_rate)
            r = {"rps": peak["rps"], "cpu_us": pr.cpu / max(1, peak["requests"]) * 1e6,
                 "hwm_kb": pr.hwm_kb, "p50": lat["p50"], "p99": lat["p99"],
                 "lat_rps": lat["rps"], "non2xx": peak["non2xx"] + lat["non2xx"]}
            scen.setdefault("token-refresh", []).append(r)
            log(f"{members} run {run + 1} token-refresh: {r}")
    finally:
        server.stop(a.stop_timeout)

    res["scenarios"] = {k: summarize(v) for k, v in scen.items()}
    res["audit_rows_after"] = backend.audit_rows()
    if not a.keep_db:
        backend.drop()
    results["sizes"].append(res)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


def drive_chains(server, tokens, per_chain, rate=None):
    """One thread per refresh chain; each refreshes its own token per_chain times."""
    lat, errors, lock = [], [0], threading.Lock()
    n = len(tokens)
    t0 = time.perf_counter()

    def worker(i):
        conn = Conn(server.host, server.port)
        try:
            for k in range(per_chain):
                start = time.perf_counter()
                if rate:
                    scheduled = t0 + (k * n + i) / rate
                    if scheduled > start:
                        time.sleep(scheduled - start)
                    start = scheduled
                ok = refresh_chain(tokens, i)(conn)
                end = time.perf_counter()
                with lock:
                    lat.append((end - start) * 1000)
                    if not ok:
                        errors[0] += 1
        finally:
            conn.close()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"rps": len(lat) / elapsed, "requests": len(lat), "p50": percentile(lat, 50),
            "p99": percentile(lat, 99), "non2xx": errors[0]}


def wrk_tokens(a, server, grant, workdir, codes=None, tokens=None):
    """Peak token-endpoint throughput with wrk and bench/token.lua: one keep-alive connection
    per wrk thread, each running a chain of refreshes or its share of the codes (`grant`: "code"
    or "refresh"). Returns rps from the calls answered 200 over the time the script measured
    (the code exchanges end before wrk's duration does), and the requests wrk sent."""
    env = {"BASIC": "Basic " + base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode(),
           "REDIRECT": REDIRECT, "NTHREADS": str(a.token_conns), "GRANT": grant}
    for name, text in (("CODES", codes), ("TOKENS", tokens)):
        if text is not None:
            path = os.path.join(workdir, name.lower() + ".txt")
            with open(path, "w") as f:
                f.write(text)
            env[name] = path
    r = run_wrk(server.root + "/oauth/token", a.token_conns, a.token_conns, a.duration,
                os.path.join(HERE, "token.lua"), env)
    m = re.search(r"token_ok (\d+) elapsed_us (\d+)", r["raw"])
    if not m or int(m.group(2)) <= 0:
        raise RuntimeError(f"token.lua ({grant}): no result from wrk: {r['raw'][-500:]}")
    ok, elapsed = int(m.group(1)), int(m.group(2)) / 1e6
    return {"rps": ok / elapsed, "requests": r["requests"],
            "non2xx": r["non2xx"]}


# ---- report --------------------------------------------------------------------------------

ORDER = ["read-patient", "read-eob", "search-eob", "search-obs", "introspect", "token-code",
         "token-refresh", "nginx-static", "nginx-eob"]


def reference_for(name):
    """The nginx scenario a Portico scenario is compared with: the same body for the EOB read,
    the Patient body (the issue's reference limit) for everything else."""
    return "nginx-eob" if name == "read-eob" else "nginx-static"


def fmt(v, digits=0):
    if v is None:
        return "–"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def report(results, out):
    lines = []
    sizes = results["sizes"]
    m = results["meta"]
    lines.append(f"Portico benchmark ({m.get('backend', 'sqlite')}), {m['date']}, {m['machine']}; {m['runs']} runs per figure "
                 f"(median); peak: wrk -t{m['wrk_threads']} -c{m['conns']} -d{m['duration']}s; "
                 f"latency: {m['lat_conns']} connections paced to ~{m['rate']} req/s "
                 f"(token endpoint: {m['token_rate']} req/s); server --threads {m['threads']}; "
                 f"load average at start {m['loadavg_start']}, at end {m.get('loadavg_end', '?')}.")
    lines.append("")
    lines.append("| members | resources | import res/s | import CPU µs/res | DB MiB | "
                 "DB GiB per 1M res | import peak RSS MiB | server RSS idle MiB |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for s in sizes:
        i = s["import"]
        lines.append(f"| {s['members']:,} | {i['resources']:,} | {fmt(i['rate'])} | "
                     f"{fmt(i['cpu'] / i['resources'] * 1e6)} | {fmt(i['db_bytes'] / 2**20)} | "
                     f"{fmt(i['bytes_per_million'] / 2**30, 1)} | {fmt(i['rss_kb'] / 1024)} | "
                     f"{fmt(s['rss_idle_kb'] / 1024)} |")
    lines.append("")
    lines.append("| scenario | members | peak req/s | × nginx | server CPU µs/req | "
                 "p50 ms | p99 ms | at req/s | peak RSS MiB | errors |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for name in ORDER:
        for s in sizes:
            sc = s["scenarios"].get(name)
            if not sc:
                continue
            ng = s["scenarios"].get(reference_for(name), {}).get("rps")
            if name.startswith("nginx"):
                ng = s["scenarios"].get("nginx-static", {}).get("rps")
            ratio = sc["rps"] / ng if ng else None
            lines.append(f"| {name} | {s['members']:,} | {fmt(sc['rps'])} | {fmt(ratio, 2)} | "
                         f"{fmt(sc['cpu_us'], 1)} | {fmt(sc['p50'], 2)} | {fmt(sc['p99'], 2)} | "
                         f"{fmt(sc['lat_rps'])} | {fmt(sc['hwm_kb'] / 1024, 1)} | "
                         f"{sc['errors']} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    return text


def compare(sqlite_json, pg_json, out):
    """The two stores side by side, for the sizes measured on both."""
    with open(sqlite_json) as f:
        lite = {s["members"]: s for s in json.load(f)["sizes"]}
    with open(pg_json) as f:
        pg_results = json.load(f)
    pg = {s["members"]: s for s in pg_results["sizes"]}
    m = pg_results["meta"]
    lines = [f"SQLite and PostgreSQL side by side ({m['date']}, {m['machine']}; median of "
             f"{m['runs']} runs; PostgreSQL 15 on the same machine, fsync on).", "",
             "| members | resources | import res/s SQLite | import res/s PostgreSQL | "
             "DB GiB per 1M res SQLite | PostgreSQL |", "|---|---|---|---|---|---|"]
    both = sorted(set(lite) & set(pg))
    for n in both:
        a, b = lite[n]["import"], pg[n]["import"]
        lines.append(f"| {n:,} | {a['resources']:,} | {fmt(a['rate'])} | {fmt(b['rate'])} | "
                     f"{fmt(a['bytes_per_million'] / 2**30, 1)} | "
                     f"{fmt(b['bytes_per_million'] / 2**30, 1)} |")
    lines += ["", "| scenario | members | SQLite req/s | p50 ms | p99 ms | CPU µs/req | "
              "PostgreSQL req/s | p50 ms | p99 ms | CPU µs/req |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name in ORDER:
        if name.startswith("nginx"):
            continue
        for n in both:
            x = lite[n]["scenarios"].get(name)
            y = pg[n]["scenarios"].get(name)
            if not x or not y:
                continue
            lines.append(f"| {name} | {n:,} | {fmt(x['rps'])} | {fmt(x['p50'], 2)} | "
                         f"{fmt(x['p99'], 2)} | {fmt(x['cpu_us'], 1)} | {fmt(y['rps'])} | "
                         f"{fmt(y['p50'], 2)} | {fmt(y['p99'], 2)} | {fmt(y['cpu_us'], 1)} |")
    lines += ["", "CPU µs/req is the Portico server process only; PostgreSQL's own CPU is "
              "not in it."]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "compare.md"), "w") as f:
        f.write(text)
    return text


def plot(results, out):
    if not shutil.which("gnuplot"):
        return None
    sizes = results["sizes"]
    if any(n not in s["scenarios"] for s in sizes for n in ORDER):
        return None  # a partial run (--scenarios): nothing to plot
    dat = os.path.join(out, "plot.dat")
    names = [n for n in ORDER if not n.startswith("nginx")]
    with open(dat, "w") as f:
        f.write("# resources " + " ".join(f"{n}_rps {n}_p50 {n}_p99" for n in names) +
                " nginx_rps nginx_p50 nginx_p99\n")
        for s in sizes:
            row = [str(s["import"]["resources"])]
            for n in names:
                sc = s["scenarios"][n]
                row += [str(sc["rps"]), str(sc["p50"]), str(sc["p99"])]
            ngs = s["scenarios"]["nginx-static"]
            row += [str(ngs["rps"]), str(ngs["p50"]), str(ngs["p99"])]
            f.write(" ".join(row) + "\n")
    png = os.path.join(out, "performance.png")
    cols = {n: 2 + 3 * i for i, n in enumerate(names)}
    ng = 2 + 3 * len(names)
    rps = ", ".join(f"'{dat}' using 1:{c} with linespoints lw 2 lc {i + 1} title '{n}'"
                    for i, (n, c) in enumerate(cols.items()))
    lat_names = [n for n in cols if not n.startswith("token")]
    p50 = ", ".join(f"'{dat}' using 1:{cols[n] + 1} with linespoints lw 2 lc {i + 1} "
                    f"title '{n} p50'" for i, n in enumerate(lat_names))
    p99 = ", ".join(f"'{dat}' using 1:{cols[n] + 2} with linespoints dt 2 lw 2 lc {i + 1} "
                    f"title '{n} p99'" for i, n in enumerate(lat_names))
    ngl = (f"'{dat}' using 1:{ng + 1} with linespoints lw 3 lc rgb 'black' title 'nginx p50', "
           f"'{dat}' using 1:{ng + 2} with linespoints dt 2 lw 3 lc rgb 'black' "
           f"title 'nginx p99'")
    script = f"""set terminal pngcairo size 1200,520 font ',10'
set output '{png}'
set multiplot layout 1,2 title 'Portico on {results['meta']['machine']} ({results['meta']['date']})'
set logscale x
set xlabel 'resources in the database'
set key outside bottom center horizontal maxrows 3 font ',8'
set grid
set format x '%.0s%c'
set ylabel 'peak req/s (wrk -c{results['meta']['conns']}, median)'
set logscale y
plot {rps}, '{dat}' using 1:{ng} with linespoints lw 3 lc rgb 'black' title 'nginx static (limit)'
set ylabel 'latency ms, paced at about {results['meta']['rate']} req/s (p99 dashed)'
plot {p50}, {p99}, {ngl}
unset multiplot
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        try:
            script = script.replace("pngcairo", "png")
            subprocess.run(["gnuplot"], input=script, text=True, check=True,
                           capture_output=True)
        except subprocess.CalledProcessError:
            log("gnuplot failed: " + e.stderr)
            return None
    return png


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="1000 10000 100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scenarios", default="",
                    help="only these scenarios (space-separated names, e.g. \"token-code "
                         "introspect\"); default all")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk measurement")
    ap.add_argument("--conns", type=int, default=32, help="wrk connections for peak throughput")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="server I/O threads")
    ap.add_argument("--rate", type=int, default=5000, help="paced request rate for latency")
    ap.add_argument("--lat-conns", type=int, default=20, help="connections for the paced run")
    ap.add_argument("--token-rate", type=int, default=50, help="paced token requests/s")
    ap.add_argument("--codes", type=int, default=1000, help="codes exchanged per peak run")
    ap.add_argument("--paced-codes", type=int, default=60)
    ap.add_argument("--token-conns", type=int, default=4,
                    help="wrk threads, one connection each, for the token endpoint's peak")
    ap.add_argument("--py-threads", type=int, default=4,
                    help="Python client threads for the paced token-endpoint latency")
    ap.add_argument("--chunk", type=int, default=20000, help="resources per import file")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--data", help="where generated data is cached (default OUT/data)")
    ap.add_argument("--compare", nargs=2, metavar=("SQLITE_JSON", "POSTGRESQL_JSON"),
                    help="only print OUT/compare.md: the two stores side by side")
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-url", default=os.environ.get("PORTICO_BENCH_PG", ""),
                    help="postgresql://user@host:port/db of a server on which the bench may "
                         "create and drop databases (--backend postgresql)")
    ap.add_argument("--report-only", action="store_true",
                    help="only remake results.md and the plot from OUT/results.json")
    ap.add_argument("--stop-timeout", type=float, default=3,
                    help="seconds a server may take to stop before it is killed")
    a = ap.parse_args()
    if a.backend == "postgresql" and not a.pg_url:
        ap.error("--backend postgresql needs --pg-url (or run bench/run.sh --backends postgresql)")
    a.out = os.path.abspath(a.out)
    a.bin = os.path.abspath(a.bin)
    os.makedirs(a.out, exist_ok=True)
    if a.compare:
        print(compare(a.compare[0], a.compare[1], a.out))
        return
    if a.report_only:
        with open(os.path.join(a.out, "results.json")) as f:
            results = json.load(f)
        print(report(results, a.out))
        print(f"plot: {plot(results, a.out)}")
        return
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    results = {"meta": {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores {cpu}, {mem:.0f} GiB, {platform.release()}",
        "runs": a.runs, "duration": a.duration, "conns": a.conns, "wrk_threads": a.wrk_threads,
        "threads": a.threads, "rate": a.rate, "lat_conns": a.lat_conns,
        "token_rate": a.token_rate, "backend": a.backend, "loadavg_start": open("/proc/loadavg").read().split()[0]},
        "sizes": []}
    nginx_holder = [None]
    try:
        for members in [int(s) for s in a.sizes.split()]:
            bench_size(a, members, nginx_holder, results)
    finally:
        if nginx_holder[0]:
            nginx_holder[0].stop()
    results["meta"]["loadavg_end"] = open("/proc/loadavg").read().split()[0]
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(report(results, a.out))
    png = plot(results, a.out)
    if png:
        print(f"plot: {png}")


if __name__ == "__main__":
    main()
