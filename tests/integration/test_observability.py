"""Operations view of the server: metrics, health, audit of member-data access, shutdown."""

import base64
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import tempfile
import threading
import time
import unittest

from portico_test import (Server, add_backend_client, add_user, authorize, backend_token,
                          exchange, register_client, run)

REDIRECT = "http://app.example/cb"


class ObservabilityTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="portico-obs-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "obs.db")
        demo = os.path.join(self.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{self.db}", demo)
        _, self.secret = register_client(self.db, "app", REDIRECT)
        add_user(self.db, "ava", "ava-password-1", patient="demo-member-1")
        self.server = Server(self.db)
        self.addCleanup(self.server.stop)

    def test_metrics_health_and_audit(self):
        self.assertEqual(self.server.get("/healthz").status, 200)
        self.assertEqual(self.server.get("/readyz").status, 200)
        result, verifier = authorize(self.server, "app", REDIRECT, "launch/patient patient/*.read",
                                     "ava", "ava-password-1")
        token = exchange(self.server, result["code"], verifier, "app", self.secret,
                         REDIRECT).json()["access_token"]
        auth = {"Authorization": "Bearer " + token}
        self.assertEqual(self.server.get("/fhir/Patient/demo-member-1", auth).status, 200)
        self.assertEqual(self.server.get("/fhir/Observation?patient=demo-member-1", auth).status,
                         200)
        self.assertEqual(self.server.get("/fhir/Patient/demo-member-1").status, 401)
        m = self.server.get("/metrics")
        self.assertEqual(m.status, 200)
        self.assertIn('portico_http_requests_total{route="fhir_read",status="200"} 1', m.body)
        self.assertIn('portico_http_requests_total{route="fhir_read",status="401"} 1', m.body)
        self.assertIn('route="fhir_search",status="200"', m.body)
        self.assertIn("portico_http_request_duration_seconds_bucket", m.body)
        self.assertIn("portico_tokens_issued_total 1", m.body)
        self.assertIn("portico_logins_failed_total 0", m.body)
        # The store's side: how long calls held the reader pool and the single writer, the
        # connections open and in use.
        for pool in ("sqlite_reader", "sqlite_writer"):
            held = re.search(r'portico_store_hold_seconds_count\{pool="%s"\} (\d+)' % pool, m.body)
            self.assertIsNotNone(held, pool)
            self.assertGreater(int(held.group(1)), 0, pool)
            self.assertIn('portico_store_wait_seconds_bucket{pool="%s",le="+Inf"}' % pool, m.body)
            self.assertRegex(m.body, r'portico_store_connections_open\{pool="%s"\} [1-9]' % pool)
            self.assertIn('portico_store_connections_in_use{pool="%s"}' % pool, m.body)
        self.assertIn('portico_store_connections_max{pool="sqlite_writer"} 1', m.body)
        self.assertNotIn("demo-member-1", m.body)  # no ids or PHI in metrics
        result, _ = authorize(self.server, "app", REDIRECT, "launch/patient patient/*.read",
                              "ava", "not-her-password")
        self.assertNotIn("code", result)
        self.assertIn("portico_logins_failed_total 1", self.server.get("/metrics").body)
        # Audit rows arrive within a second or two (written in batches).
        deadline = time.time() + 10
        rows = []
        while time.time() < deadline:
            con = sqlite3.connect(self.db)
            rows = con.execute("SELECT client_id, username, patient_id, detail FROM auth_audit "
                               "WHERE event = 'fhir.access'").fetchall()
            con.close()
            if len(rows) >= 2:
                break
            time.sleep(0.2)
        self.assertGreaterEqual(len(rows), 2)
        self.assertIn(("app", "ava", "demo-member-1", "read Patient status=200"), rows)
        self.assertTrue(all(token not in " ".join(map(str, r)) for r in rows))

    def test_metrics_token_guards_the_metrics(self):
        server = Server(self.db, config='metrics_token = "scrape-secret-1234567890"\n')
        self.addCleanup(server.stop)
        self.assertEqual(server.get("/metrics").status, 401)
        wrong = server.get("/metrics", {"Authorization": "Bearer scrape-secret-123456789X"})
        self.assertEqual(wrong.status, 401)
        self.assertNotIn("portico_http_requests_total", wrong.body)
        ok = server.get("/metrics", {"Authorization": "Bearer scrape-secret-1234567890"})
        self.assertEqual(ok.status, 200)
        self.assertIn("portico_http_requests_total", ok.body)
        self.assertEqual(server.get("/healthz").status, 200)  # probes stay open

    def test_logs_are_json_lines_with_request_ids_and_no_phi(self):
        server = Server(self.db, extra_args=["--access-log"])
        self.addCleanup(server.stop)
        result, verifier = authorize(server, "app", REDIRECT, "launch/patient patient/*.read",
                                     "ava", "ava-password-1")
        token = exchange(server, result["code"], verifier, "app", self.secret,
                         REDIRECT).json()["access_token"]
        r = server.get("/fhir/Observation?patient=demo-member-1&code=8480-6",
                       {"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 200)
        request_id = {k.lower(): v for k, v in r.headers.items()}.get("x-request-id")
        self.assertTrue(request_id)
        deadline = time.time() + 10
        lines = []
        while time.time() < deadline:
            lines = [json.loads(line) for line in list(server.stderr_lines) if line.strip()]
            if any(e.get("request_id") == request_id for e in lines):
                break
            time.sleep(0.1)
        # Every line is one JSON object with a time, a level and an event.
        for e in lines:
            self.assertRegex(e["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(e["level"], ("info", "warn", "error"))
            self.assertTrue(e["event"])
        self.assertIn("server.started", [e["event"] for e in lines])
        mine = [e for e in lines if e.get("request_id") == request_id]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["event"], "http.request")
        self.assertEqual(mine[0]["route"], "fhir_search")
        self.assertEqual(mine[0]["status"], 200)
        self.assertEqual(mine[0]["method"], "GET")
        self.assertIsInstance(mine[0]["duration_us"], int)
        text = "".join(server.stderr_lines)
        for secret in (token, self.secret, "demo-member-1", "8480-6", "ava-password-1"):
            self.assertNotIn(secret, text)

    def test_developer_guide_is_served(self):
        r = self.server.get("/developers")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/html"))
        self.assertIn(self.server.root + "/oauth/token", r.body)
        self.assertIn("<h2>Registering an app</h2>", r.body)

    def test_sigterm_drains_and_exits_cleanly(self):
        self.server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.server.proc.wait(timeout=20), 0)

    def test_sigterm_finishes_a_request_in_its_handler(self):
        key = add_backend_client(self.db, self.dir)
        token = backend_token(self.server, key, "system/*.cruds")
        # The test holds SQLite's write lock, so the server's write waits inside its handler
        # (busy timeout 30 s) until the test lets go.
        lock = sqlite3.connect(self.db, isolation_level=None, timeout=30)
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        outcome = {}

        def create():
            try:
                outcome["response"] = self.server.request(
                    "POST", "/fhir/Organization",
                    body=json.dumps({"resourceType": "Organization", "name": "Drained Payer"}),
                    headers={"Authorization": "Bearer " + token,
                             "Content-Type": "application/fhir+json"})
            except Exception as e:  # reported by the assertions below
                outcome["error"] = e

        writer = threading.Thread(target=create, daemon=True)
        writer.start()
        # /metrics counts itself and every request in a handler: 2 means the write is in one.
        self.assertEqual(wait_for_in_flight(self.server, 2), 2)
        self.server.proc.send_signal(signal.SIGTERM)
        self.assertIn(new_connection_after_sigterm(self.server), ("refused", "503"))
        self.assertIsNone(self.server.proc.poll(), "the server exited with a request in flight")
        lock.execute("ROLLBACK")
        writer.join(timeout=60)
        self.assertNotIn("error", outcome)
        r = outcome["response"]
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["name"], "Drained Payer")
        self.assertEqual(r.header("connection"), "close")
        self.assertEqual(self.server.proc.wait(timeout=20), 0)
        con = sqlite3.connect(self.db)
        self.addCleanup(con.close)
        stored = con.execute("SELECT id, version FROM resource WHERE type = 'Organization' AND "
                             "id = ?", (r.json()["id"],)).fetchall()
        self.assertEqual(stored, [(r.json()["id"], 1)])

    def test_sigterm_finishes_a_request_whose_body_is_still_arriving(self):
        token = self.server.operator_token()
        body = b"_id=demo-member-1"
        with socket.create_connection((self.server.host, self.server.port), timeout=30) as conn:
            conn.sendall(("POST /fhir/Patient/_search HTTP/1.1\r\nHost: portico\r\n"
                          f"Authorization: Bearer {token}\r\n"
                          "Content-Type: application/x-www-form-urlencoded\r\n"
                          f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n"
                          "Connection: close\r\n\r\n").encode())
            # 100 Continue: the server has read the header and waits for the body.
            self.assertEqual(recv_until(conn, b"\r\n\r\n"), b"HTTP/1.1 100 Continue\r\n\r\n")
            self.server.proc.send_signal(signal.SIGTERM)
            self.assertIn(new_connection_after_sigterm(self.server), ("refused", "503"))
            conn.sendall(body)
            status, headers, payload = read_response(conn)
        self.assertEqual(status, 200, f"{len(payload)} bytes: {payload[:500]!r}")
        self.assertEqual(int(headers["content-length"]), len(payload))
        bundle = json.loads(payload)
        self.assertEqual([e["resource"]["id"] for e in bundle["entry"]], ["demo-member-1"])
        self.assertEqual(self.server.proc.wait(timeout=20), 0)

    def test_sigterm_finishes_sending_a_large_response(self):
        # A resource larger than the kernel's largest TCP send buffer plus the client's receive
        # buffer: while the client does not read, the server cannot have written all of it.
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            send_buffer_max = int(f.read().split()[2])
        data = base64.b64encode(os.urandom((send_buffer_max + (2 << 20)) * 3 // 4)).decode()
        path = os.path.join(self.dir, "large.json")
        with open(path, "w") as f:
            json.dump({"resourceType": "Binary", "id": "large", "contentType":
                       "application/octet-stream", "data": data}, f)
        run("import", "--db", f"sqlite:{self.db}", path)
        token = self.server.operator_token()
        with socket.socket() as conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            conn.settimeout(30)
            conn.connect((self.server.host, self.server.port))
            conn.sendall(("GET /fhir/Binary/large HTTP/1.1\r\nHost: portico\r\n"
                          "Accept: application/fhir+json\r\n"
                          f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n")
                         .encode())
            head = recv_until(conn, b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
            self.server.proc.send_signal(signal.SIGTERM)
            self.assertIn(new_connection_after_sigterm(self.server), ("refused", "503"))
            status, headers, payload = read_response(conn, head)
        self.assertEqual(status, 200)
        self.assertEqual(len(payload), int(headers["content-length"]))
        self.assertEqual(json.loads(payload)["data"], data)
        self.assertEqual(self.server.proc.wait(timeout=20), 0)


def wait_for_in_flight(server, count, timeout=30):
    """Polls /metrics until portico_http_in_flight (which counts that request too) is `count`;
    returns the last value seen."""
    deadline = time.time() + timeout
    seen = None
    while time.time() < deadline:
        for line in server.get("/metrics").body.splitlines():
            if line.startswith("portico_http_in_flight "):
                seen = int(line.split()[1])
        if seen == count:
            break
        time.sleep(0.02)
    return seen


def new_connection_after_sigterm(server, timeout=10):
    """What a new connection meets once the server has acted on SIGTERM: "refused", or "503".
    Until then (the signal is handled asynchronously) connections are served as usual, so this
    tries again; "served" means it never stopped serving new connections."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((server.host, server.port), timeout=10) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: portico\r\nConnection: close\r\n\r\n")
                status, _, _ = read_response(s)
        except ConnectionRefusedError:
            return "refused"
        except ConnectionError:
            status = None  # accepted just before the listener closed, then dropped
        if status == 503:
            return "503"
        time.sleep(0.01)
    return "served"


def recv_until(conn, marker):
    data = b""
    while marker not in data:
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def read_response(conn, head=b""):
    """Reads an HTTP/1.1 response to the end of the connection: (status, headers, body), or
    (None, {}, the bytes received) when no complete header arrived."""
    data = head
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    header, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None, {}, data
    lines = header.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


class RateLimitTest(unittest.TestCase):
    def test_limits_answer_429_with_retry_after(self):
        d = tempfile.mkdtemp(prefix="portico-rl-")
        self.addCleanup(shutil.rmtree, d, True)
        db = os.path.join(d, "rl.db")
        server = Server(db, config="rate_limit_fhir_per_ip = 5\nrate_limit_token_per_ip = 3\n")
        self.addCleanup(server.stop)
        statuses = [server.get("/fhir/metadata").status for _ in range(40)]
        self.assertIn(200, statuses)
        self.assertIn(429, statuses)
        r = next(server.get("/fhir/metadata") for _ in range(20))
        limited = [server.get("/fhir/metadata") for _ in range(20)]
        throttled = [x for x in limited if x.status == 429]
        self.assertTrue(throttled)
        self.assertGreaterEqual(int(throttled[0].header("retry-after")), 1)
        self.assertEqual(throttled[0].json()["resourceType"], "OperationOutcome")
        tokens = [server.request("POST", "/oauth/token", body="grant_type=x",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
                  .status for _ in range(20)]
        self.assertIn(429, tokens)
        # Other endpoints are not throttled by the FHIR limit.
        self.assertEqual(server.get("/healthz").status, 200)
        del r


if __name__ == "__main__":
    unittest.main()
