"""SMART App Launch authorization server: discovery, authorize, login, picker, consent, token,
refresh, introspection, revocation, userinfo, keys (issue 4)."""

import base64
import json
import os
import shutil
import tempfile
import time
import unittest
import urllib.parse

from portico_test import (Browser, Server, add_user, authorize, exchange, jws_verifies,
                          jwt_claims, register_client, run, token_request)

REDIRECT = "http://app.example/callback"
SCOPE = ("launch/patient openid fhirUser offline_access patient/Patient.read "
         "patient/ExplanationOfBenefit.read patient/Observation.rs patient/Coverage.rs")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-oauth-")
        cls.db = os.path.join(cls.dir, "oauth.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "4", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        _, cls.secret = register_client(cls.db, "app", REDIRECT)
        register_client(cls.db, "spa", REDIRECT, public=True)
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1",
                 represents=["demo-member-2"])
        add_user(cls.db, "max", "max-password-1", patient="demo-member-3")
        add_user(cls.db, "locky", "locky-password", patient="demo-member-4")
        cls.server = Server(cls.db, config="code_seconds = 2\n")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    # -- helpers

    def login_and_exchange(self, username="max", password="max-password-1", scope=SCOPE,
                           **kw):
        result, verifier = authorize(self.server, "app", REDIRECT, scope, username, password,
                                     **kw)
        self.assertIn("code", result, result)
        resp = exchange(self.server, result["code"], verifier, "app", self.secret, REDIRECT)
        self.assertEqual(resp.status, 200, resp.body)
        return resp.json(), resp

    def get(self, path, token):
        return self.server.get(path, {"Authorization": f"Bearer {token}"})

    # -- discovery

    def test_discovery_documents_agree(self):
        sc = self.server.get("/fhir/.well-known/smart-configuration")
        self.assertEqual(sc.status, 200)
        self.assertTrue(sc.header("content-type").startswith("application/json"))
        c = sc.json()
        for k in ["authorization_endpoint", "token_endpoint", "capabilities", "issuer",
                  "jwks_uri", "introspection_endpoint", "revocation_endpoint"]:
            self.assertIn(k, c)
        self.assertIn("S256", c["code_challenge_methods_supported"])
        self.assertNotIn("plain", c["code_challenge_methods_supported"])
        self.assertIn("authorization_code", c["grant_types_supported"])
        for cap in ["launch-standalone", "client-public", "client-confidential-symmetric",
                    "sso-openid-connect", "context-standalone-patient", "permission-offline",
                    "permission-patient", "permission-v1", "permission-v2", "authorize-post",
                    "client-confidential-asymmetric"]:
            self.assertIn(cap, c["capabilities"])
        oidc = self.server.get("/.well-known/openid-configuration").json()
        self.assertEqual(oidc["issuer"], c["issuer"])
        self.assertIn("RS256", oidc["id_token_signing_alg_values_supported"])
        jwks = self.server.get("/oauth/jwks").json()
        rsa = [k for k in jwks["keys"] if k["kty"] == "RSA"]
        self.assertTrue(rsa and all("kid" in k and "n" in k and "e" in k for k in rsa))
        self.assertEqual([k["alg"] for k in rsa], ["RS256"])
        # Access tokens have a P-256 key of their own.
        ec = [k for k in jwks["keys"] if k["kty"] == "EC"]
        self.assertEqual([(k["crv"], k["alg"], k["use"]) for k in ec], [("P-256", "ES256", "sig")])
        self.assertFalse(any("d" in k for k in jwks["keys"]))
        cs = self.server.get("/fhir/metadata").json()
        sec = cs["rest"][0]["security"]
        self.assertEqual(sec["service"][0]["coding"][0]["code"], "SMART-on-FHIR")
        uris = {e["url"]: e["valueUri"] for e in sec["extension"][0]["extension"]}
        self.assertEqual(uris["authorize"], c["authorization_endpoint"])
        self.assertEqual(uris["token"], c["token_endpoint"])
        self.assertEqual(uris["introspect"], c["introspection_endpoint"])
        self.assertEqual(uris["revoke"], c["revocation_endpoint"])

    # -- the happy path

    def test_member_launch_tokens_and_read(self):
        body, resp = self.login_and_exchange()
        self.assertEqual(resp.header("cache-control"), "no-store")
        self.assertEqual(resp.header("pragma"), "no-cache")
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["patient"], "demo-member-3")
        self.assertEqual(set(body["scope"].split()), set(SCOPE.split()))
        self.assertGreater(body["expires_in"], 60)
        self.assertLessEqual(body["expires_in"], 3600)
        self.assertIn("refresh_token", body)
        at = jwt_claims(body["access_token"])
        header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
        self.assertEqual((header["alg"], header["typ"]), ("ES256", "at+jwt"))
        self.assertIn("kid", header)
        # Both tokens verify, by openssl, with the keys the JWKS publishes: the access token
        # with the ES256 key, the ID token with the RS256 key SMART requires for it.
        jwks = self.server.get("/oauth/jwks").json()
        self.assertTrue(jws_verifies(body["access_token"], jwks))
        self.assertTrue(jws_verifies(body["id_token"], jwks))
        id_header = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[0] + "=="))
        self.assertEqual(id_header["alg"], "RS256")
        self.assertNotEqual(id_header["kid"], header["kid"])
        tampered = body["access_token"][:-6] + ("AAAAAA" if not body["access_token"].endswith(
            "AAAAAA") else "BBBBBB")
        self.assertFalse(jws_verifies(tampered, jwks))
        # An ID token is no access token, though the same server signed it.
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", body["id_token"]).status, 401)
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", body["access_token"]).status,
                         200)
        for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "patient"]:
            self.assertIn(claim, at)
        self.assertEqual(at["aud"], self.server.base)
        idt = jwt_claims(body["id_token"])
        self.assertEqual(idt["aud"], "app")
        self.assertEqual(idt["nonce"], "n-456")
        self.assertEqual(idt["iss"],
                         self.server.get("/.well-known/openid-configuration").json()["issuer"])
        self.assertTrue(idt["fhirUser"].endswith("/Patient/demo-member-3"))
        r = self.get("/fhir/Patient/demo-member-3", body["access_token"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["id"], "demo-member-3")
        # fhirUser resolves with the token.
        fu = self.server.get(idt["fhirUser"].replace(self.server.root, ""),
                             {"Authorization": "Bearer " + body["access_token"]})
        self.assertEqual(fu.status, 200)
        # Another member's record is not there for this token.
        self.assertEqual(self.get("/fhir/Patient/demo-member-1", body["access_token"]).status,
                         404)
        userinfo = self.get("/oauth/userinfo", body["access_token"]).json()
        self.assertEqual(userinfo["fhirUser"], idt["fhirUser"])

    def test_delegate_picks_a_member(self):
        body, _ = self.login_and_exchange("ava", "ava-password-1", patient="demo-member-2")
        self.assertEqual(body["patient"], "demo-member-2")
        self.assertEqual(self.get("/fhir/Patient/demo-member-2", body["access_token"]).status,
                         200)
        # The delegate's own record (their fhirUser) stays readable; other members' data is not.
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", body["access_token"]).status,
                         404)
        obs = self.get("/fhir/Observation?patient=demo-member-1", body["access_token"]).json()
        self.assertEqual(obs.get("entry", []), [])
        body2, _ = self.login_and_exchange("ava", "ava-password-1", patient="demo-member-1")
        self.assertEqual(body2["patient"], "demo-member-1")

    def test_picker_refuses_a_member_not_represented(self):
        b = Browser(self.server)
        result, _ = authorize(self.server, "app", REDIRECT, SCOPE, "ava", "ava-password-1",
                              patient="demo-member-3", browser=b)
        self.assertEqual(result.get("page_status"), 400)
        self.assertNotIn("code", result)

    def test_unticked_scope_is_not_granted(self):
        body, _ = self.login_and_exchange(untick=("patient/Coverage.rs", "offline_access"))
        granted = body["scope"].split()
        self.assertNotIn("patient/Coverage.rs", granted)
        self.assertNotIn("refresh_token", body)
        r = self.get("/fhir/Coverage?patient=demo-member-3", body["access_token"])
        self.assertEqual(r.status, 403)

    def test_deny(self):
        result, _ = authorize(self.server, "app", REDIRECT, SCOPE, "max", "max-password-1",
                              deny=True)
        self.assertEqual(result, {"error": "access_denied", "state": "st-123",
                                  "error_description": result.get("error_description")})
        self.assertNotIn("code", result)

    def test_consent_page_explains(self):
        b = Browser(self.server)
        params = {"response_type": "code", "client_id": "app", "redirect_uri": REDIRECT,
                  "scope": "patient/*.read offline_access", "state": "s", "aud": self.server.base,
                  "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                  "code_challenge_method": "S256"}
        status, headers, page = b.open("GET", "/oauth/authorize?" + urllib.parse.urlencode(params))
        self.assertEqual(status, 302)
        status, headers, page = b.open("GET", headers["location"])
        self.assertEqual(headers.get("x-frame-options"), "DENY")
        self.assertIn("frame-ancestors 'none'", headers.get("content-security-policy"))
        from portico_test import form_fields
        f = form_fields(page)
        f.update({"username": "max", "password": "max-password-1"})
        status, headers, page = b.open("POST", "/oauth/login", f)
        status, headers, page = b.open("GET", headers["location"])
        self.assertIn('name="scope" value="patient/*.read"', page)
        self.assertIn("future", page)       # wildcard warning
        self.assertIn("offline", page)      # long-lived access warning
        self.assertIn('name="decision" value="allow"', page)
        self.assertIn('name="decision" value="deny"', page)
        # A forged post without the CSRF token is refused.
        status, headers, page = b.open("POST", "/oauth/consent",
                                       {"tx": f["tx"], "decision": "allow"})
        self.assertEqual(status, 400)

    # -- authorize errors

    def test_unknown_client_and_bad_redirect_never_redirect(self):
        b = Browser(self.server)
        for client, redirect in [("nope", REDIRECT), ("app", "http://evil.example/cb"),
                                 ("app", REDIRECT + "/extra")]:
            params = {"response_type": "code", "client_id": client, "redirect_uri": redirect,
                      "scope": SCOPE, "state": "s", "aud": self.server.base}
            status, headers, page = b.open(
                "GET", "/oauth/authorize?" + urllib.parse.urlencode(params))
            self.assertEqual(status, 400, (client, redirect))
            self.assertNotIn("location", headers)

    def test_foreign_aud_gets_no_code(self):
        result, _ = authorize(self.server, "app", REDIRECT, SCOPE, "max", "max-password-1",
                              aud="https://evil.example/fhir")
        self.assertEqual(result.get("error"), "invalid_request")
        self.assertNotIn("code", result)
        self.assertEqual(result.get("state"), "st-123")

    def test_pkce_rules(self):
        # plain is refused
        result, _ = authorize(self.server, "app", REDIRECT, SCOPE, "max", "max-password-1",
                              extra={"code_challenge_method": "plain"})
        self.assertEqual(result.get("error"), "invalid_request")
        # public clients need PKCE
        result, _ = authorize(self.server, "spa", REDIRECT, SCOPE, "max", "max-password-1",
                              pkce=False)
        self.assertEqual(result.get("error"), "invalid_request")
        # missing, blank and wrong verifiers
        for verifier in [None, "", "x" * 50]:
            result, good = authorize(self.server, "app", REDIRECT, SCOPE, "max",
                                     "max-password-1")
            form = {"grant_type": "authorization_code", "code": result["code"],
                    "redirect_uri": REDIRECT}
            if verifier is not None:
                form["code_verifier"] = verifier
            r = token_request(self.server, form, basic=("app", self.secret))
            self.assertEqual(r.status, 400, verifier)
            self.assertEqual(r.json()["error"], "invalid_grant")
        # public client with PKCE works without a secret
        result, verifier = authorize(self.server, "spa", REDIRECT, SCOPE, "max",
                                     "max-password-1")
        r = exchange(self.server, result["code"], verifier, "spa", None, REDIRECT)
        self.assertEqual(r.status, 200, r.body)

    # -- token errors

    def test_code_reuse_revokes_and_code_expires(self):
        result, verifier = authorize(self.server, "app", REDIRECT, SCOPE, "max", "max-password-1")
        first = exchange(self.server, result["code"], verifier, "app", self.secret, REDIRECT)
        self.assertEqual(first.status, 200)
        token = first.json()["access_token"]
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", token).status, 200)
        again = exchange(self.server, result["code"], verifier, "app", self.secret, REDIRECT)
        self.assertEqual(again.status, 400)
        self.assertEqual(again.json()["error"], "invalid_grant")
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", token).status, 401)
        r = token_request(self.server, {"grant_type": "refresh_token",
                                        "refresh_token": first.json()["refresh_token"]},
                          basic=("app", self.secret))
        self.assertEqual(r.json()["error"], "invalid_grant")
        # A code older than its life (2 s in this server's config) is refused.
        result, verifier = authorize(self.server, "app", REDIRECT, SCOPE, "max", "max-password-1")
        time.sleep(2.5)
        late = exchange(self.server, result["code"], verifier, "app", self.secret, REDIRECT)
        self.assertEqual(late.json()["error"], "invalid_grant")

    def test_client_authentication(self):
        result, verifier = authorize(self.server, "app", REDIRECT, SCOPE, "max", "max-password-1")
        bad = exchange(self.server, result["code"], verifier, "app", "wrong-secret-xxxxxxxx",
                       REDIRECT)
        self.assertEqual(bad.status, 401)
        self.assertEqual(bad.json()["error"], "invalid_client")
        self.assertIn("Basic", bad.header("www-authenticate"))
        # client_secret_post works too
        r = token_request(self.server, {"grant_type": "authorization_code",
                                        "code": result["code"], "code_verifier": verifier,
                                        "redirect_uri": REDIRECT, "client_id": "app",
                                        "client_secret": self.secret})
        self.assertEqual(r.status, 200, r.body)
        r = token_request(self.server, {"grant_type": "password", "client_id": "app",
                                        "client_secret": self.secret})
        self.assertEqual(r.json()["error"], "unsupported_grant_type")

    def test_refresh_rotation_narrowing_and_revocation(self):
        body, _ = self.login_and_exchange()
        refresh = body["refresh_token"]
        r = token_request(self.server, {"grant_type": "refresh_token", "refresh_token": refresh,
                                        "scope": "patient/Patient.read offline_access"},
                          basic=("app", self.secret))
        self.assertEqual(r.status, 200, r.body)
        nb = r.json()
        self.assertEqual(nb["scope"].split(), ["patient/Patient.read", "offline_access"])
        self.assertNotEqual(nb["refresh_token"], refresh)
        self.assertEqual(self.get("/fhir/Observation?patient=demo-member-3",
                                  nb["access_token"]).status, 403)
        # the old refresh token is spent
        old = token_request(self.server, {"grant_type": "refresh_token", "refresh_token": refresh},
                            basic=("app", self.secret))
        self.assertEqual(old.json()["error"], "invalid_grant")
        # broader scope than granted
        wide = token_request(self.server, {"grant_type": "refresh_token",
                                           "refresh_token": nb["refresh_token"],
                                           "scope": "patient/*.read"},
                             basic=("app", self.secret))
        self.assertEqual(wide.json()["error"], "invalid_scope")
        # introspection, then revocation of the refresh token ends everything
        intro = self.server.request(
            "POST", "/oauth/introspect",
            body=urllib.parse.urlencode({"token": nb["access_token"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "Basic " + base64.b64encode(
                         f"app:{self.secret}".encode()).decode()}).json()
        self.assertTrue(intro["active"])
        self.assertEqual(intro["patient"], "demo-member-3")
        rv = self.server.request(
            "POST", "/oauth/revoke",
            body=urllib.parse.urlencode({"token": nb["refresh_token"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "Basic " + base64.b64encode(
                         f"app:{self.secret}".encode()).decode()})
        self.assertEqual(rv.status, 200)
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", nb["access_token"]).status, 401)
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", body["access_token"]).status,
                         401)
        after = token_request(self.server, {"grant_type": "refresh_token",
                                            "refresh_token": nb["refresh_token"]},
                              basic=("app", self.secret))
        self.assertEqual(after.json()["error"], "invalid_grant")
        intro = self.server.request(
            "POST", "/oauth/introspect",
            body=urllib.parse.urlencode({"token": nb["access_token"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "Basic " + base64.b64encode(
                         f"app:{self.secret}".encode()).decode()}).json()
        self.assertEqual(intro, {"active": False})

    def test_a_refresh_issues_a_new_id_token_for_the_same_user(self):
        body, _ = self.login_and_exchange()
        first = jwt_claims(body["id_token"])
        r = token_request(self.server, {"grant_type": "refresh_token",
                                        "refresh_token": body["refresh_token"]},
                          basic=("app", self.secret))
        self.assertEqual(r.status, 200, r.body)
        nb = r.json()
        jwks = self.server.get("/oauth/jwks").json()
        self.assertTrue(jws_verifies(nb["id_token"], jwks))
        idt = jwt_claims(nb["id_token"])
        for claim in ["iss", "sub", "aud", "fhirUser"]:
            self.assertEqual(idt[claim], first[claim], claim)
        self.assertNotIn("nonce", idt)  # the nonce belongs to the authorization request
        self.assertTrue(idt["fhirUser"].endswith("/Patient/demo-member-3"))
        at = jwt_claims(nb["access_token"])
        self.assertEqual((at["sub"], at["patient"]), ("max", "demo-member-3"))
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", nb["access_token"]).status, 200)

    def test_forged_tokens_are_refused(self):
        body, _ = self.login_and_exchange()
        token = body["access_token"]
        h, p, s = token.split(".")
        claims = jwt_claims(token)
        none_token = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + p + "."
        jwks = self.server.get("/oauth/jwks").json()
        import hashlib
        import hmac
        hs_header = b64url(json.dumps({"alg": "HS256", "typ": "JWT",
                                       "kid": jwks["keys"][0]["kid"]}).encode())
        key = json.dumps(jwks["keys"][0]).encode()
        hs_sig = b64url(hmac.new(key, f"{hs_header}.{p}".encode(), hashlib.sha256).digest())
        claims["patient"] = "demo-member-1"
        tampered = h + "." + b64url(json.dumps(claims).encode()) + "." + s
        for bad in [none_token, f"{hs_header}.{p}.{hs_sig}", tampered, token[:-10], "abc",
                    token + "x"]:
            r = self.get("/fhir/Patient/demo-member-3", bad)
            self.assertEqual(r.status, 401, bad[:40])
            self.assertIn('error="invalid_token"', r.header("www-authenticate"))
            self.assertEqual(r.json()["resourceType"], "OperationOutcome")
        self.assertEqual(self.server.get("/fhir/Patient/demo-member-3").status, 401)

    def test_lockout_after_failures(self):
        for _ in range(5):
            result, _ = authorize(self.server, "app", REDIRECT, SCOPE, "locky", "wrong-password")
            self.assertEqual(result.get("page_status"), 401)
        result, _ = authorize(self.server, "app", REDIRECT, SCOPE, "locky", "locky-password")
        self.assertEqual(result.get("page_status"), 429)
        self.assertIn("locked", result["page"])
        run("user", "set-password", "--db", f"sqlite:{self.db}", "--username", "locky",
            "--password-stdin", input="locky-password\n")
        result, _ = authorize(self.server, "app", REDIRECT, SCOPE, "locky", "locky-password")
        self.assertIn("code", result)

    def test_authorize_post(self):
        b = Browser(self.server)
        params = {"response_type": "code", "client_id": "app", "redirect_uri": REDIRECT,
                  "scope": SCOPE, "state": "s", "aud": self.server.base,
                  "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                  "code_challenge_method": "S256"}
        status, headers, _ = b.open("POST", "/oauth/authorize", params)
        self.assertEqual(status, 302)
        self.assertTrue(headers["location"].startswith(self.server.root + "/oauth/login?tx="))

    def test_user_removal_and_delegation_end(self):
        add_user(self.db, "temp", "temp-password-1", represents=["demo-member-4"],
                 fhir_user="RelatedPerson/demo-relatedperson-1")
        body, _ = self.login_and_exchange("temp", "temp-password-1")
        self.assertEqual(body["patient"], "demo-member-4")
        self.assertEqual(self.get("/fhir/Patient/demo-member-4", body["access_token"]).status,
                         200)
        # The delegate relationship ends: live tokens stop, refresh fails.
        add_user(self.db, "temp", "temp-password-1", represents=["demo-member-3"])
        self.assertEqual(self.get("/fhir/Patient/demo-member-4", body["access_token"]).status,
                         401)
        r = token_request(self.server, {"grant_type": "refresh_token",
                                        "refresh_token": body["refresh_token"]},
                          basic=("app", self.secret))
        self.assertEqual(r.json()["error"], "invalid_grant")
        run("user", "remove", "--db", f"sqlite:{self.db}", "--username", "temp")
        result, _ = authorize(self.server, "app", REDIRECT, SCOPE, "temp", "temp-password-1")
        self.assertEqual(result.get("page_status"), 401)

    def test_key_rotation_keeps_old_tokens(self):
        body, _ = self.login_and_exchange()
        old_kid = json.loads(base64.urlsafe_b64decode(
            body["access_token"].split(".")[0] + "=="))["kid"]
        out = run("keys", "rotate", "--db", f"sqlite:{self.db}").stdout
        self.assertIn("new signing keys", out)
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", body["access_token"]).status,
                         200)
        # Nodes pick up the new key within seconds; the old one stays published.
        deadline = time.time() + 15
        kids = set()
        while time.time() < deadline and len(kids) < 4:
            kids = {k["kid"] for k in self.server.get("/oauth/jwks").json()["keys"]}
            time.sleep(0.2)
        self.assertIn(old_kid, kids)
        self.assertEqual(len(kids), 4)  # the old and the new key of each kind
        body2, _ = self.login_and_exchange()
        new_kid = json.loads(base64.urlsafe_b64decode(
            body2["access_token"].split(".")[0] + "=="))["kid"]
        self.assertNotEqual(new_kid, old_kid)
        self.assertEqual(self.get("/fhir/Patient/demo-member-3", body2["access_token"]).status,
                         200)


class AdminCliTest(unittest.TestCase):
    def test_client_and_user_commands(self):
        d = tempfile.mkdtemp(prefix="portico-admin-")
        self.addCleanup(shutil.rmtree, d, True)
        db = os.path.join(d, "a.db")
        out = run("client", "add", "--db", f"sqlite:{db}", "--client-id", "gen",
                  "--redirect-uri", "https://x.example/cb").stdout
        self.assertIn("client_secret:", out)
        listing = run("client", "list", "--db", f"sqlite:{db}").stdout
        self.assertIn("gen", listing)
        self.assertNotIn(out.split("client_secret: ")[1].split()[0], listing)
        run("client", "remove", "--db", f"sqlite:{db}", "--client-id", "gen")
        self.assertNotIn("gen", run("client", "list", "--db", f"sqlite:{db}").stdout)
        add_user(db, "u1", "password-1", patient="p1", represents=["p2", "p3"])
        users = run("user", "list", "--db", f"sqlite:{db}").stdout
        self.assertIn("u1", users)
        self.assertIn("p2,p3", users)
        self.assertNotIn("password-1", users)
        bad = run("user", "add", "--db", f"sqlite:{db}", "--username", "x", "--password-stdin",
                  input="short\n", check=False)
        self.assertNotEqual(bad.returncode, 0)
        help_text = run("client", "add", "--help").stdout
        for opt in ["--client-id", "--redirect-uri", "--secret-stdin", "--public", "--jwks-url",
                    "--jwks-file", "--scope", "--name"]:
            self.assertIn(opt, help_text)


if __name__ == "__main__":
    unittest.main()


class PrivateKeyJwtTest(unittest.TestCase):
    """Confidential asymmetric clients authenticate with a signed client assertion."""

    @classmethod
    def setUpClass(cls):
        import subprocess
        cls.dir = tempfile.mkdtemp(prefix="portico-pkjwt-")
        cls.db = os.path.join(cls.dir, "pk.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        cls.key = os.path.join(cls.dir, "client.pem")
        subprocess.run(["openssl", "genrsa", "-out", cls.key, "2048"], check=True,
                       capture_output=True)
        modulus = subprocess.run(["openssl", "rsa", "-in", cls.key, "-noout", "-modulus"],
                                 check=True, capture_output=True, text=True).stdout
        n = bytes.fromhex(modulus.strip().split("=", 1)[1])
        jwks = {"keys": [{"kty": "RSA", "kid": "client-key-1", "alg": "RS384", "use": "sig",
                          "n": b64url(n), "e": "AQAB"}]}
        jwks_file = os.path.join(cls.dir, "jwks.json")
        with open(jwks_file, "w") as f:
            json.dump(jwks, f)
        run("client", "add", "--db", f"sqlite:{cls.db}", "--client-id", "asym",
            "--redirect-uri", REDIRECT, "--jwks-file", jwks_file)
        add_user(cls.db, "max", "max-password-1", patient="demo-member-3")
        cls.server = Server(cls.db)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    def assertion(self, **overrides):
        import subprocess
        claims = {"iss": "asym", "sub": "asym", "aud": self.server.root + "/oauth/token",
                  "exp": int(time.time()) + 120, "jti": base64.b16encode(os.urandom(8)).decode()}
        claims.update(overrides)
        header = b64url(json.dumps({"alg": "RS384", "kid": "client-key-1",
                                    "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha384", "-sign", self.key],
                             input=f"{header}.{body}".encode(), check=True,
                             capture_output=True).stdout
        return f"{header}.{body}.{b64url(sig)}"

    def exchange(self, assertion):
        result, verifier = authorize(self.server, "asym", REDIRECT, SCOPE, "max",
                                     "max-password-1")
        self.assertIn("code", result)
        return token_request(self.server, {
            "grant_type": "authorization_code", "code": result["code"],
            "code_verifier": verifier, "redirect_uri": REDIRECT,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion})

    def test_valid_assertion(self):
        r = self.exchange(self.assertion())
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["patient"], "demo-member-3")

    def test_bad_assertions(self):
        for bad in [self.assertion(aud="https://elsewhere.example/token"),
                    self.assertion(exp=int(time.time()) - 600),
                    self.assertion(exp=int(time.time()) + 3600),
                    self.assertion(sub="someone-else"),
                    self.assertion()[:-8] + "AAAAAAAA"]:
            r = self.exchange(bad)
            self.assertEqual(r.status, 401, r.body)
            self.assertEqual(r.json()["error"], "invalid_client")
        once = self.assertion()
        self.assertEqual(self.exchange(once).status, 200)
        replay = self.exchange(once)
        self.assertEqual(replay.status, 401)


class JwksUrlTest(PrivateKeyJwtTest):
    """The same client, registered with --jwks-url: keys are fetched from the client's server."""

    @classmethod
    def setUpClass(cls):
        import functools
        import http.server
        import threading
        super().setUpClass()
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=cls.dir)
        handler.log_message = lambda *a, **k: None
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{cls.httpd.server_address[1]}/jwks.json"
        run("client", "remove", "--db", f"sqlite:{cls.db}", "--client-id", "asym")
        run("client", "add", "--db", f"sqlite:{cls.db}", "--client-id", "asym",
            "--redirect-uri", REDIRECT, "--jwks-url", url)

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        super().tearDownClass()
