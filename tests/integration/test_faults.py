"""Faults: the server survives hostile input and crashes without losing what it acknowledged
(issue 9)."""

import concurrent.futures
import json
import os
import shutil
import signal
import socket
import sqlite3
import tempfile
import unittest

from portico_test import Server, add_user, authorize, register_client, run, token_request

REDIRECT = "http://app.example/cb"
SCOPE = "launch/patient offline_access patient/*.read"


class FaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-faults-")
        cls.db = os.path.join(cls.dir, "f.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        _, cls.secret = register_client(cls.db, "app", REDIRECT)
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, True)

    def test_kill_during_token_issuance_loses_nothing_acknowledged(self):
        # The same address before and after the crash, so the issuer stays the same.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            listen = f"127.0.0.1:{probe.getsockname()[1]}"
        server = Server(self.db, listen=listen)
        codes = []
        for _ in range(12):
            result, verifier = authorize(server, "app", REDIRECT, SCOPE, "ava", "ava-password-1")
            codes.append((result["code"], verifier))

        def exchange(item):
            code, verifier = item
            try:
                r = token_request(server, {"grant_type": "authorization_code", "code": code,
                                           "code_verifier": verifier, "redirect_uri": REDIRECT},
                                  basic=("app", self.secret))
                return r.status, r.body
            except OSError:
                return None, None

        issued = []
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(exchange, c) for c in codes]
            for i, f in enumerate(concurrent.futures.as_completed(futures)):
                status, body = f.result()
                if status == 200:
                    issued.append(json.loads(body))
                if i == 5:
                    server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        server.stop()
        self.assertTrue(issued)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        con.close()
        # Every token the server answered 200 for still works after a restart.
        again = Server(self.db, listen=listen)
        self.addCleanup(again.stop)
        for t in issued:
            r = again.get("/fhir/Patient/demo-member-1",
                          {"Authorization": "Bearer " + t["access_token"]})
            self.assertEqual(r.status, 200)
            rr = token_request(again, {"grant_type": "refresh_token",
                                       "refresh_token": t["refresh_token"]},
                               basic=("app", self.secret))
            self.assertEqual(rr.status, 200, rr.body)

    def test_hostile_requests_get_clean_answers(self):
        server = Server(self.db)
        self.addCleanup(server.stop)
        token = server.operator_token()
        auth = {"Authorization": "Bearer " + token}
        # Deeply nested JSON in a $validate body.
        deep = "[" * 5000 + "]" * 5000
        r = server.request("POST", "/fhir/Patient/$validate", body=deep,
                           headers=dict(auth, **{"Content-Type": "application/fhir+json"}))
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["resourceType"], "OperationOutcome")
        # A huge _count is clamped, an include loop is capped.
        r = server.get("/fhir/Observation?_count=100000000", auth)
        self.assertEqual(r.status, 200)
        self.assertLessEqual(len(r.json().get("entry", [])), 200)
        r = server.get("/fhir/Patient?_revinclude:iterate=*:*&_include:iterate=*&_count=5", auth)
        self.assertIn(r.status, (200, 400))
        # A client that disconnects mid-response does not disturb the others.
        for _ in range(20):
            with socket.create_connection((server.host, server.port)) as s:
                s.sendall(("GET /fhir/Observation?_count=200 HTTP/1.1\r\nHost: x\r\n"
                           f"Authorization: Bearer {token}\r\n\r\n").encode())
                s.recv(10)
        # Garbage in every form.
        for path in ["/fhir/Patient?birthdate=notadate", "/fhir/Patient?_sort=nope",
                     "/fhir/Patient?name:bogus=x", "/fhir/Patient/%00", "/fhir/%ZZ"]:
            r = server.get(path, auth)
            self.assertIn(r.status, (400, 404), path)
        self.assertEqual(server.get("/healthz").status, 200)
        self.assertEqual(server.get("/fhir/Patient/demo-member-1", auth).status, 200)


if __name__ == "__main__":
    unittest.main()
