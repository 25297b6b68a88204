"""App registration (issue 10): operator accounts, the operator API and pages under /admin,
client status (suspend / activate) enforced everywhere at once, RFC 7591 dynamic registration,
and the registration fields of `portico client add`."""

import base64
import json
import os
import re
import shutil
import sqlite3
import tempfile
import unittest
import urllib.parse

from portico_test import (Browser, Server, add_user, authorize, db_arg, exchange, run,
                          token_request)

OPERATOR = ("olga", "olga-operator-password-1")
SCOPE = "launch/patient openid fhirUser offline_access patient/*.read"
REDIRECT = "http://localhost/cb"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def app_metadata(name="Blue Lantern", **extra):
    body = {
        "client_name": name,
        "redirect_uris": [REDIRECT],
        "client_uri": "https://bluelantern.example/",
        "policy_uri": "https://bluelantern.example/privacy",
        "tos_uri": "https://bluelantern.example/terms",
        "logo_uri": "https://bluelantern.example/logo.png",
        "contacts": ["dev@bluelantern.example"],
        "scope": SCOPE,
        "attestation": {"privacy_policy_published": True, "sells_data": False,
                        "secondary_use": False, "carin_code_of_conduct": True},
    }
    body.update(extra)
    return body


def add_operator(db, username, password):
    return run("operator", "add", "--db", db_arg(db), "--username", username,
               "--password-stdin", input=password + "\n")


class RegistrationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-registration-")
        cls.db = os.path.join(cls.dir, "r.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        add_operator(cls.db, *OPERATOR)
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1")
        cls.server = Server(cls.db, extra_args=["--access-log"])
        cls.secrets = []  # every secret and password seen, for the log checks

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    # -- helpers

    def api(self, method, path, body=None, auth=OPERATOR, content_type="application/json"):
        headers = {}
        if auth is not None:
            headers["Authorization"] = basic(*auth)
        if body is not None:
            headers["Content-Type"] = content_type
            if not isinstance(body, (str, bytes)):
                body = json.dumps(body)
        return self.server.request(method, "/admin/api/clients" + path, body=body,
                                   headers=headers)

    def create(self, **extra):
        r = self.api("POST", "", app_metadata(**extra))
        self.assertEqual(r.status, 201, r.body)
        created = r.json()
        if "client_secret" in created:
            self.secrets.append(created["client_secret"])
        return created

    def member_tokens(self, client_id, secret):
        result, verifier = authorize(self.server, client_id, REDIRECT, SCOPE, "ava",
                                     "ava-password-1")
        self.assertIn("code", result, result)
        r = exchange(self.server, result["code"], verifier, client_id, secret, REDIRECT)
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def fhir(self, token):
        return self.server.get("/fhir/Patient/demo-member-1",
                               {"Authorization": "Bearer " + token})

    def refresh(self, client_id, secret, refresh_token):
        return token_request(self.server, {"grant_type": "refresh_token",
                                           "refresh_token": refresh_token},
                             basic=(client_id, secret))

    def audit_events(self):
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return con.execute("SELECT event, client_id, username, detail FROM auth_audit"
                               ).fetchall()
        finally:
            con.close()

    # -- operator credential

    def test_api_refuses_anyone_but_an_operator(self):
        attempts = [
            None,                                      # no credentials
            ("olga", "wrong-password-123"),            # wrong password
            ("nobody", "olga-operator-password-1"),    # unknown operator
            ("ava", "ava-password-1"),                 # a member is not an operator
        ]
        for auth in attempts:
            r = self.api("GET", "", auth=auth)
            self.assertEqual(r.status, 401, (auth, r.body))
            self.assertTrue(r.header("www-authenticate").startswith("Basic "), auth)
            self.assertEqual(r.header("content-type"), "application/json")
            self.assertNotIn("clients", r.json())
        for header in ("Basic !!!notbase64", "Bearer abc", "Basic " +
                       base64.b64encode(b"no-colon").decode()):
            r = self.server.request("GET", "/admin/api/clients",
                                    headers={"Authorization": header})
            self.assertEqual(r.status, 401, header)
        # Nothing was created by a refused POST.
        before = self.api("GET", "").json()["clients"]
        r = self.api("POST", "", app_metadata("Sneaky"), auth=("olga", "wrong-password-123"))
        self.assertEqual(r.status, 401)
        self.assertEqual(len(self.api("GET", "").json()["clients"]), len(before))
        events = [e[0] for e in self.audit_events()]
        self.assertIn("operator.login.failed", events)

    def test_operator_lockout_and_unlock(self):
        add_operator(self.db, "locky", "locky-operator-password")
        for _ in range(5):
            self.assertEqual(self.api("GET", "", auth=("locky", "bad-password-000")).status, 401)
        # Locked: even the right password is refused now.
        r = self.api("GET", "", auth=("locky", "locky-operator-password"))
        self.assertEqual(r.status, 401)
        self.assertIn("locked", r.json()["error_description"])
        self.assertIn("locky\tlocked", run("operator", "list", "--db", db_arg(self.db)).stdout)
        # Setting the password again unlocks.
        add_operator(self.db, "locky", "locky-operator-password-2")
        self.assertEqual(self.api("GET", "", auth=("locky", "locky-operator-password-2")).status,
                         200)
        run("operator", "remove", "--db", db_arg(self.db), "locky")
        self.assertEqual(self.api("GET", "", auth=("locky", "locky-operator-password-2")).status,
                         401)
        self.assertEqual(run("operator", "remove", "--db", db_arg(self.db), "locky",
                             check=False).returncode, 1)

    def test_operator_cli_rejects_weak_input(self):
        r = run("operator", "add", "--db", db_arg(self.db), "--username", "shorty",
                "--password-stdin", input="short\n", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("shorty", run("operator", "list", "--db", db_arg(self.db)).stdout)

    # -- the API's life cycle of a client

    def test_create_list_get_update_suspend_activate_remove(self):
        created = self.create(name="Lifecycle App")
        cid = created["client_id"]
        secret = created["client_secret"]
        self.assertGreaterEqual(len(secret), 40)
        self.assertEqual(created["client_secret_expires_at"], 0)
        self.assertEqual(created["token_endpoint_auth_method"], "client_secret_basic")
        self.assertEqual(created["status"], "active")
        self.assertEqual(created["registered_by"], "operator:olga")
        self.assertEqual(created["policy_uri"], "https://bluelantern.example/privacy")
        self.assertEqual(created["contacts"], ["dev@bluelantern.example"])
        self.assertEqual(created["attestation"]["sells_data"], False)
        self.assertIsInstance(created["client_id_issued_at"], int)

        listed = self.api("GET", "")
        self.assertEqual(listed.status, 200)
        self.assertNotIn('"client_secret"', listed.body)
        self.assertNotIn(secret, listed.body)
        mine = [c for c in listed.json()["clients"] if c["client_id"] == cid]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["client_name"], "Lifecycle App")

        one = self.api("GET", "/" + cid)
        self.assertEqual(one.status, 200)
        self.assertNotIn(secret, one.body)
        self.assertEqual(one.json()["tos_uri"], "https://bluelantern.example/terms")

        patched = self.api("PATCH", "/" + cid, {"policy_uri": "https://bluelantern.example/p2"})
        self.assertEqual(patched.status, 200, patched.body)
        self.assertEqual(patched.json()["policy_uri"], "https://bluelantern.example/p2")
        self.assertEqual(patched.json()["tos_uri"], "https://bluelantern.example/terms")
        # The secret still works after an update (it is not regenerated).
        replaced = self.api("PUT", "/" + cid, {"client_name": "Lifecycle App 2",
                                               "redirect_uris": [REDIRECT], "scope": SCOPE})
        self.assertEqual(replaced.status, 200, replaced.body)
        self.assertEqual(replaced.json()["client_name"], "Lifecycle App 2")
        self.assertNotIn("policy_uri", replaced.json())
        bad = self.api("PATCH", "/" + cid, {"token_endpoint_auth_method": "none"})
        self.assertEqual(bad.status, 400)
        self.assertEqual(bad.json()["error"], "invalid_client_metadata")

        s = self.api("POST", "/" + cid + "/suspend")
        self.assertEqual(s.status, 200, s.body)
        self.assertEqual(s.json()["status"], "suspended")
        self.assertEqual(self.api("GET", "/" + cid).json()["status"], "suspended")
        self.assertEqual(self.api("GET", "/" + cid + "/suspend").status, 405)
        a = self.api("POST", "/" + cid + "/activate")
        self.assertEqual(a.json()["status"], "active")

        self.assertEqual(self.api("DELETE", "/" + cid).status, 204)
        self.assertEqual(self.api("GET", "/" + cid).status, 404)
        self.assertEqual(self.api("GET", "/" + cid).json()["error"], "not_found")
        self.assertEqual(self.api("POST", "/" + cid + "/activate").status, 404)
        events = [(e[0], e[1], e[2]) for e in self.audit_events()]
        for event in ("operator.client.created", "operator.client.updated",
                      "operator.client.suspended", "operator.client.activated",
                      "operator.client.removed"):
            self.assertIn((event, cid, "olga"), events)

    def test_validation_errors_are_rfc7591_json(self):
        cases = [
            (app_metadata(redirect_uris=["http://app.example/cb"]), "invalid_redirect_uri"),
            (app_metadata(redirect_uris=["https://app.example/cb#frag"]), "invalid_redirect_uri"),
            (app_metadata(redirect_uris=["not a uri"]), "invalid_redirect_uri"),
            (app_metadata(redirect_uris=[]), "invalid_redirect_uri"),
            (app_metadata(policy_uri="javascript:alert(1)"), "invalid_client_metadata"),
            (app_metadata(logo_uri="http://cdn.example/logo.png"), "invalid_client_metadata"),
            (app_metadata(contacts=["not-an-email"]), "invalid_client_metadata"),
            (app_metadata(scope="patient/*.read bogus-scope/x"), "invalid_client_metadata"),
            (app_metadata(attestation={"sells_data": "maybe"}), "invalid_client_metadata"),
            (app_metadata(token_endpoint_auth_method="tls_client_auth"),
             "invalid_client_metadata"),
            ({"redirect_uris": [REDIRECT]}, "invalid_client_metadata"),
            ("{not json", "invalid_client_metadata"),
            ("[]", "invalid_client_metadata"),
        ]
        before = len(self.api("GET", "").json()["clients"])
        for body, error in cases:
            r = self.api("POST", "", body)
            self.assertEqual(r.status, 400, (body, r.body))
            self.assertEqual(r.header("content-type"), "application/json")
            self.assertEqual(r.json()["error"], error, body)
            self.assertTrue(r.json()["error_description"])
        r = self.api("POST", "", "client_name=x", content_type="application/x-www-form-urlencoded")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"], "invalid_client_metadata")
        self.assertEqual(len(self.api("GET", "").json()["clients"]), before)
        self.assertEqual(self.api("DELETE", "").status, 405)

    # -- suspension is enforced everywhere at once

    def test_suspension_stops_tokens_refresh_and_authorize_at_once(self):
        created = self.create(name="Suspend Me")
        cid, secret = created["client_id"], created["client_secret"]
        tokens = self.member_tokens(cid, secret)
        self.assertEqual(self.fhir(tokens["access_token"]).status, 200)

        self.assertEqual(self.api("POST", "/" + cid + "/suspend").status, 200)
        # The access token already issued stops at once on the FHIR API.
        self.assertEqual(self.fhir(tokens["access_token"]).status, 401)
        # The refresh token cannot be used: the client cannot authenticate.
        r = self.refresh(cid, secret, tokens["refresh_token"])
        self.assertEqual(r.status, 401, r.body)
        self.assertEqual(r.json()["error"], "invalid_client")
        # Introspection says inactive.
        r = self.server.request(
            "POST", "/oauth/introspect",
            body=urllib.parse.urlencode({"token": tokens["access_token"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "Bearer " + tokens["access_token"]})
        self.assertEqual(r.status, 200, r.body)
        self.assertFalse(r.json()["active"])
        # /authorize answers an error page, never a redirect to the app.
        result, _ = authorize(self.server, cid, REDIRECT, SCOPE, "ava", "ava-password-1")
        self.assertNotIn("code", result)
        self.assertEqual(result.get("page_status"), 403, result)
        self.assertIn("suspended", result["page"])

        # Reactivating restores the grant (it was not revoked): token and refresh work again.
        self.assertEqual(self.api("POST", "/" + cid + "/activate").status, 200)
        self.assertEqual(self.fhir(tokens["access_token"]).status, 200)
        r = self.refresh(cid, secret, tokens["refresh_token"])
        self.assertEqual(r.status, 200, r.body)
        fresh = r.json()

        # The CLI does the same.
        run("client", "suspend", "--db", db_arg(self.db), cid)
        self.assertEqual(self.fhir(fresh["access_token"]).status, 401)
        run("client", "activate", "--db", db_arg(self.db), "--client-id", cid)
        self.assertEqual(self.fhir(fresh["access_token"]).status, 200)

        # Removing revokes for good.
        self.assertEqual(self.api("DELETE", "/" + cid).status, 204)
        self.assertEqual(self.fhir(fresh["access_token"]).status, 401)
        r = self.refresh(cid, secret, fresh["refresh_token"])
        self.assertEqual(r.json()["error"], "invalid_client")

    # -- the pages

    def test_admin_pages_login_csrf_headers_and_escaping(self):
        hostile = self.create(name="<script>alert(1)</script>")
        b = Browser(self.server)
        status, headers, page = b.open("GET", "/admin")
        self.assertEqual(status, 200)
        csp = headers["content-security-policy"]
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertIn("default-src 'none'", csp)
        self.assertEqual(headers["x-frame-options"], "DENY")
        self.assertEqual(headers["cache-control"], "no-store")
        cookie = headers["set-cookie"]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertIn("Path=/admin", cookie)
        fields = dict(re.findall(r'name="(tx|csrf)" value="([^"]*)"', page))
        self.assertEqual(set(fields), {"tx", "csrf"})
        # Without the form's CSRF token the sign-in is refused.
        status, _, _ = b.open("POST", "/admin/login", {"tx": fields["tx"], "username": "olga",
                                                        "password": OPERATOR[1]})
        self.assertEqual(status, 400)
        status, _, page = b.open("GET", "/admin")
        fields = dict(re.findall(r'name="(tx|csrf)" value="([^"]*)"', page))
        status, _, page = b.open("POST", "/admin/login", {**fields, "username": "olga",
                                                          "password": "wrong-password-123"})
        self.assertEqual(status, 401)
        self.assertIn("not right", page)
        fields = dict(re.findall(r'name="(tx|csrf)" value="([^"]*)"', page))
        status, headers, _ = b.open("POST", "/admin/login", {**fields, "username": "olga",
                                                             "password": OPERATOR[1]})
        self.assertEqual(status, 303)
        self.assertIn("SameSite=Strict", headers["set-cookie"])
        status, _, page = b.open("GET", "/admin")
        self.assertEqual(status, 200)
        self.assertIn("Registered apps", page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", page)
        self.assertNotIn("<script>", page)
        csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)
        cid = hostile["client_id"]
        # A cross-site post without the token changes nothing.
        status, _, _ = b.open("POST", f"/admin/clients/{cid}/suspend", {})
        self.assertEqual(status, 400)
        self.assertEqual(self.api("GET", "/" + cid).json()["status"], "active")
        status, _, _ = b.open("POST", f"/admin/clients/{cid}/suspend", {"csrf": csrf})
        self.assertEqual(status, 303)
        self.assertEqual(self.api("GET", "/" + cid).json()["status"], "suspended")
        status, _, page = b.open("GET", f"/admin/clients/{cid}")
        self.assertIn("suspended", page)
        self.assertIn("The app sells members", page)  # attestation questions are shown
        status, _, _ = b.open("POST", f"/admin/clients/{cid}/remove", {"csrf": csrf})
        self.assertEqual(status, 303)
        self.assertEqual(self.api("GET", "/" + cid).status, 404)
        # Another browser without the session sees only the sign-in form.
        status, _, page = Browser(self.server).open("GET", f"/admin/clients/{cid}")
        self.assertIn('name="password"', page)
        status, _, _ = b.open("POST", "/admin/logout", {"csrf": csrf})
        self.assertEqual(status, 303)
        status, _, page = b.open("GET", "/admin")
        self.assertIn('name="password"', page)

    # -- the CLI

    def test_cli_registration_fields_list_and_status(self):
        r = run("client", "add", "--db", db_arg(self.db), "--client-id", "cli-app",
                "--redirect-uri", "http://app.example/cb", "--name", "CLI App", "--public",
                "--client-uri", "https://cli.example/", "--policy-uri",
                "https://cli.example/privacy", "--tos-uri", "https://cli.example/terms",
                "--contact", "a@cli.example", "--contact", "b@cli.example",
                "--attest", "sells_data=no", "--attest", "privacy_policy_published=yes")
        self.assertIn("active", r.stdout)
        got = self.api("GET", "/cli-app").json()
        self.assertEqual(got["registered_by"], "cli")
        self.assertEqual(got["contacts"], ["a@cli.example", "b@cli.example"])
        self.assertEqual(got["attestation"], {"privacy_policy_published": True,
                                              "sells_data": False})
        self.assertEqual(got["policy_uri"], "https://cli.example/privacy")
        run("client", "add", "--db", db_arg(self.db), "--client-id", "cli-pending",
            "--redirect-uri", "https://app.example/cb", "--public", "--pending")
        listing = run("client", "list", "--db", db_arg(self.db)).stdout
        self.assertRegex(listing, r"(?m)^cli-app\t.*\tactive$")
        self.assertRegex(listing, r"(?m)^cli-pending\t.*\tpending$")
        run("client", "activate", "--db", db_arg(self.db), "cli-pending")
        self.assertRegex(run("client", "list", "--db", db_arg(self.db)).stdout,
                         r"(?m)^cli-pending\t.*\tactive$")
        run("client", "suspend", "--db", db_arg(self.db), "cli-pending")
        self.assertRegex(run("client", "list", "--db", db_arg(self.db)).stdout,
                         r"(?m)^cli-pending\t.*\tsuspended$")
        for bad in (["--policy-uri", "ftp://x.example/p"], ["--contact", "nope"],
                    ["--attest", "sells_data=maybe"], ["--attest", "unknown=yes"]):
            r = run("client", "add", "--db", db_arg(self.db), "--client-id", "cli-bad",
                    "--redirect-uri", "https://app.example/cb", "--public", *bad, check=False)
            self.assertEqual(r.returncode, 1, bad)
        self.assertNotIn("cli-bad", run("client", "list", "--db", db_arg(self.db)).stdout)
        r = run("client", "suspend", "--db", db_arg(self.db), "no-such-client", check=False)
        self.assertEqual(r.returncode, 1)
        # An id that begins with '-' (an operator's choice; generated ids never do) is still
        # reachable with the --client-id=ID form.
        run("client", "add", "--db", db_arg(self.db), "--client-id=-dash-app",
            "--redirect-uri", "https://app.example/cb", "--public")
        run("client", "suspend", "--db", db_arg(self.db), "--client-id=-dash-app")
        self.assertRegex(run("client", "list", "--db", db_arg(self.db)).stdout,
                         r"(?m)^-dash-app\t.*\tsuspended$")

    def test_generated_client_ids_work_as_cli_arguments(self):
        # Ids the server generates must be usable as the positional ID of the CLI.
        for _ in range(40):
            r = self.api("POST", "", app_metadata())
            self.assertEqual(r.status, 201, r.body)
            cid = r.json()["client_id"]
            self.assertRegex(cid, r"^[A-Za-z0-9][A-Za-z0-9_-]+$")
            run("client", "suspend", "--db", db_arg(self.db), cid)
            self.assertEqual(self.api("GET", "/" + cid).json()["status"], "suspended")

    # -- dynamic registration is off by default

    def test_dynamic_registration_is_off_by_default(self):
        r = self.server.request("POST", "/oauth/register", body=json.dumps(app_metadata()),
                                headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 404)
        for doc in ("/.well-known/openid-configuration", "/.well-known/smart-configuration",
                    "/fhir/.well-known/smart-configuration"):
            self.assertNotIn("registration_endpoint", self.server.get(doc).json(), doc)

    # -- runs last (zz): nothing secret in the logs or the audit trail

    def test_zz_no_secret_in_logs_or_audit(self):
        self.create(name="Log Check")
        self.assertTrue(self.secrets)
        logs = "".join(self.server.stderr_lines)
        self.assertIn('"status"', logs)  # the access log is on and written
        audit = json.dumps(self.audit_events())
        for secret in self.secrets + [OPERATOR[1], "ava-password-1"]:
            self.assertNotIn(secret, logs)
            self.assertNotIn(secret, audit)
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            stored = json.dumps(con.execute("SELECT * FROM auth_client").fetchall())
            ops = json.dumps(con.execute("SELECT * FROM auth_operator").fetchall())
        finally:
            con.close()
        for secret in self.secrets:
            self.assertNotIn(secret, stored)
        self.assertNotIn(OPERATOR[1], ops)
        self.assertIn("$argon2id$", ops)


class DynamicRegistrationTest(unittest.TestCase):
    """review and open modes, each on its own server."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-dynreg-")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "1", "--out", demo)
        cls.review_db = os.path.join(cls.dir, "review.db")
        cls.open_db = os.path.join(cls.dir, "open.db")
        for db in (cls.review_db, cls.open_db):
            run("import", "--db", f"sqlite:{db}", demo)
            add_operator(db, *OPERATOR)
            add_user(db, "ava", "ava-password-1", patient="demo-member-1")
        cls.review = Server(cls.review_db, extra_args=["--dynamic-registration", "review"],
                            config="rate_limit_register_per_ip = 100\n")
        cls.open = Server(cls.open_db, config='dynamic_registration = "open"\n'
                                              "rate_limit_register_per_ip = 0.01\n")

    @classmethod
    def tearDownClass(cls):
        cls.review.stop()
        cls.open.stop()
        shutil.rmtree(cls.dir, True)

    def register(self, server, body):
        return server.request("POST", "/oauth/register", body=json.dumps(body),
                              headers={"Content-Type": "application/json"})

    def test_review_mode_registers_pending_until_an_operator_activates(self):
        for doc in ("/.well-known/openid-configuration", "/.well-known/smart-configuration"):
            conf = self.review.get(doc).json()
            self.assertEqual(conf["registration_endpoint"], self.review.root + "/oauth/register")
        r = self.register(self.review, app_metadata("Waiting App"))
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.header("cache-control"), "no-store")
        reg = r.json()
        for key in ("client_id", "client_id_issued_at", "client_secret", "redirect_uris",
                    "client_name", "policy_uri", "attestation"):
            self.assertIn(key, reg)
        self.assertEqual(reg["status"], "pending")
        self.assertEqual(reg["registered_by"], "dynamic")
        cid, secret = reg["client_id"], reg["client_secret"]
        # Pending: no authorization, no token endpoint.
        result, _ = authorize(self.review, cid, REDIRECT, SCOPE, "ava", "ava-password-1")
        self.assertEqual(result.get("page_status"), 403, result)
        r = token_request(self.review, {"grant_type": "authorization_code", "code": "x",
                                        "redirect_uri": REDIRECT}, basic=(cid, secret))
        self.assertEqual(r.json()["error"], "invalid_client")
        # An operator approves it.
        r = self.review.request("POST", f"/admin/api/clients/{cid}/activate",
                                headers={"Authorization": basic(*OPERATOR)})
        self.assertEqual(r.json()["status"], "active")
        result, verifier = authorize(self.review, cid, REDIRECT, SCOPE, "ava", "ava-password-1")
        self.assertIn("code", result, result)
        r = exchange(self.review, result["code"], verifier, cid, secret, REDIRECT)
        self.assertEqual(r.status, 200, r.body)

    def test_dynamic_registration_validates_and_refuses_backend_access(self):
        for body, error in [
            (app_metadata(redirect_uris=["http://evil.example/cb"]), "invalid_redirect_uri"),
            (app_metadata(scope="system/*.cruds"), "invalid_client_metadata"),
            (app_metadata(token_endpoint_auth_method="private_key_jwt",
                          jwks_uri="https://app.example/jwks",
                          grant_types=["client_credentials"]), "invalid_client_metadata"),
            (app_metadata(contacts=["x"]), "invalid_client_metadata"),
        ]:
            r = self.register(self.review, body)
            self.assertEqual(r.status, 400, body)
            self.assertEqual(r.json()["error"], error, body)
        r = self.review.request("POST", "/oauth/register", body="client_name=x",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.json()["error"], "invalid_client_metadata")
        self.assertEqual(self.review.get("/oauth/register").status, 405)

    def test_open_mode_is_active_at_once_and_rate_limited(self):
        r = self.register(self.open, app_metadata("Public Open App",
                                                  token_endpoint_auth_method="none"))
        self.assertEqual(r.status, 201, r.body)
        reg = r.json()
        self.assertEqual(reg["status"], "active")
        self.assertNotIn("client_secret", reg)  # a public client has none
        result, verifier = authorize(self.open, reg["client_id"], REDIRECT, SCOPE, "ava",
                                     "ava-password-1")
        self.assertIn("code", result, result)
        # Burst of 5, then one every 100 s: the sixth and later are throttled.
        statuses = [self.register(self.open, app_metadata(f"Flood {i}")).status
                    for i in range(6)]
        self.assertIn(429, statuses)
        self.assertLessEqual(statuses.count(201), 4)


if __name__ == "__main__":
    unittest.main()
