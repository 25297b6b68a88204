"""Limits on what one browser, app or member can pile up in the authorization server (issue 9):
authorization requests in progress per browser session and per client, unused codes per member,
and live grants per (member, app), where a new grant supersedes the oldest."""

import concurrent.futures
import os
import shutil
import sqlite3
import tempfile
import unittest
import urllib.parse

from portico_test import (Browser, Server, add_user, authorize, exchange, pkce_pair,
                          register_client, run, token_request)

REDIRECT = "http://app.example/cb"
SCOPE = "launch/patient offline_access patient/*.read"
CONFIG = """max_auth_requests_per_session = 3
max_auth_requests_per_client = 6
max_codes_per_user = 3
max_grants_per_user_client = 2
code_seconds = 600
"""


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-limits-")
        cls.db = os.path.join(cls.dir, "l.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        cls.secrets = {}
        for client in ("session-app", "client-app", "other-app", "code-app", "grant-app",
                       "hammer-app"):
            _, cls.secrets[client] = register_client(cls.db, client, REDIRECT)
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1")
        add_user(cls.db, "ben", "ben-password-1", patient="demo-member-2")
        add_user(cls.db, "cal", "cal-password-1", patient="demo-member-3")
        cls.server = Server(cls.db, config=CONFIG)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    def start(self, browser, client):
        """GET /authorize only (the sign-in stays in progress). Returns ("login", tx) when the
        request was stored, or ("error", error code) when the app was sent back an error."""
        _, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client, "redirect_uri": REDIRECT,
                  "scope": SCOPE, "state": "s", "aud": self.server.base,
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        status, headers, _ = browser.open("GET",
                                          "/oauth/authorize?" + urllib.parse.urlencode(params))
        self.assertEqual(status, 302)
        loc = headers["location"]
        query = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
        if loc.startswith(REDIRECT):
            return "error", query["error"][0]
        return "login", query["tx"][0]

    def audit_events(self, event):
        con = sqlite3.connect(self.db)
        try:
            return con.execute("SELECT client_id, username, detail FROM auth_audit "
                               "WHERE event = ?", (event,)).fetchall()
        finally:
            con.close()

    def test_requests_in_progress_per_browser_session(self):
        browser = Browser(self.server)
        started = [self.start(browser, "session-app") for _ in range(3)]
        self.assertEqual([kind for kind, _ in started], ["login"] * 3)
        self.assertEqual(self.start(browser, "session-app"), ("error", "temporarily_unavailable"))
        # The three in progress still work: one of them finishes the sign-in.
        status, _, page = browser.open("GET", "/oauth/login?tx=" + started[0][1])
        self.assertEqual(status, 200)
        self.assertIn('name="password"', page)
        # Another browser is not affected.
        self.assertEqual(self.start(Browser(self.server), "session-app")[0], "login")
        self.assertTrue(any(c == "session-app" for c, _, _ in
                            self.audit_events("authorize.limited")))

    def test_requests_in_progress_per_client(self):
        for _ in range(6):
            self.assertEqual(self.start(Browser(self.server), "client-app")[0], "login")
        late = Browser(self.server)
        self.assertEqual(self.start(late, "client-app"), ("error", "temporarily_unavailable"))
        # The limit is per client: the same browser can still sign in to another app.
        self.assertEqual(self.start(late, "other-app")[0], "login")

    def test_unused_codes_per_member(self):
        codes = []
        for _ in range(3):
            result, verifier = authorize(self.server, "code-app", REDIRECT, SCOPE, "ben",
                                         "ben-password-1")
            self.assertIn("code", result, result)
            codes.append((result["code"], verifier))
        result, _ = authorize(self.server, "code-app", REDIRECT, SCOPE, "ben", "ben-password-1")
        self.assertEqual(result.get("error"), "temporarily_unavailable", result)
        self.assertNotIn("code", result)
        # Another member is not affected.
        result, _ = authorize(self.server, "code-app", REDIRECT, SCOPE, "cal", "cal-password-1")
        self.assertIn("code", result, result)
        # Exchanging a code frees its place; the codes issued before the refusal still work.
        r = exchange(self.server, codes[0][0], codes[0][1], "code-app",
                     self.secrets["code-app"], REDIRECT)
        self.assertEqual(r.status, 200, r.body)
        result, _ = authorize(self.server, "code-app", REDIRECT, SCOPE, "ben", "ben-password-1")
        self.assertIn("code", result, result)
        r = exchange(self.server, codes[1][0], codes[1][1], "code-app",
                     self.secrets["code-app"], REDIRECT)
        self.assertEqual(r.status, 200, r.body)

    def launch(self, client, user="ava", password="ava-password-1"):
        result, verifier = authorize(self.server, client, REDIRECT, SCOPE, user, password)
        self.assertIn("code", result, result)
        r = exchange(self.server, result["code"], verifier, client, self.secrets[client],
                     REDIRECT)
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def test_new_grant_supersedes_the_oldest(self):
        other = self.launch("other-app")
        tokens = [self.launch("grant-app") for _ in range(3)]

        def read(t):
            return self.server.get("/fhir/Patient/demo-member-1",
                                   {"Authorization": "Bearer " + t["access_token"]}).status

        def refresh(t):
            return token_request(self.server, {"grant_type": "refresh_token",
                                               "refresh_token": t["refresh_token"]},
                                 basic=("grant-app", self.secrets["grant-app"]))

        # Only the newest two grants of ava for grant-app are live.
        self.assertEqual(read(tokens[0]), 401)
        r = refresh(tokens[0])
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json()["error"], "invalid_grant")
        for t in tokens[1:]:
            self.assertEqual(read(t), 200)
            self.assertEqual(refresh(t).status, 200)
        # Grants for another app are not touched.
        self.assertEqual(read(other), 200)
        self.assertTrue(any(c == "grant-app" and u == "ava" for c, u, _ in
                            self.audit_events("grant.superseded")))
        # The member's list of connected apps shows no more than the limit for grant-app.
        con = sqlite3.connect(self.db)
        try:
            live = con.execute("SELECT COUNT(*) FROM auth_grant WHERE username = 'ava' AND "
                               "client_id = 'grant-app' AND revoked = 0").fetchone()[0]
        finally:
            con.close()
        self.assertEqual(live, 2)

    def test_concurrent_starts_in_one_session_stay_within_the_limit(self):
        browser = Browser(self.server)
        self.assertEqual(self.start(browser, "hammer-app")[0], "login")  # sets the cookie
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: self.start(browser, "hammer-app"), range(16)))
        kinds = [kind for kind, _ in results]
        self.assertEqual(kinds.count("login"), 2, results)  # 3 in all with the first
        self.assertEqual(kinds.count("error"), 14)
        self.assertEqual(self.server.get("/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
