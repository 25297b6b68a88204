"""Operations view of the server: metrics, health, audit of member-data access, shutdown."""

import json
import os
import shutil
import signal
import sqlite3
import tempfile
import time
import unittest

from portico_test import Server, add_user, authorize, exchange, register_client, run

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
        self.assertNotIn("demo-member-1", m.body)  # no ids or PHI in metrics
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
