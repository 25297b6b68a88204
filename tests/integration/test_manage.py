"""Member app management (SMART management_endpoint): see and revoke connected apps."""

import json
import os
import re
import shutil
import tempfile
import time
import unittest

from portico_test import (Browser, Server, add_user, authorize, exchange, register_client, run,
                          token_request)

REDIRECT = "http://app.example/cb"
SCOPE = "launch/patient openid fhirUser offline_access patient/*.read"


class ManageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-manage-")
        cls.db = os.path.join(cls.dir, "m.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        _, cls.secret = register_client(cls.db, "app", REDIRECT)
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1",
                 represents=["demo-member-2"])
        add_user(cls.db, "max", "max-password-1", patient="demo-member-3")
        # demo-member-2's other parent: a delegate with no record of their own.
        add_user(cls.db, "noah", "noah-password-1", represents=["demo-member-2"])
        cls.server = Server(cls.db)
        # The page names each member as the member knows them: name and birth date.
        with open(demo) as f:
            child = next(r for r in map(json.loads, f)
                         if r["resourceType"] == "Patient" and r["id"] == "demo-member-2")
        cls.child_name = child["name"][0]["family"]
        cls.child_born = child["birthDate"]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    def grant(self, user, password, patient=None):
        result, verifier = authorize(self.server, "app", REDIRECT, SCOPE, user, password,
                                     patient=patient)
        return exchange(self.server, result["code"], verifier, "app", self.secret,
                        REDIRECT).json()

    def sign_in(self, user, password):
        b = Browser(self.server)
        status, _, page = b.open("GET", "/oauth/manage")
        self.assertEqual(status, 200)
        fields = dict(re.findall(r'name="(tx|csrf)" value="([^"]*)"', page))
        fields.update({"username": user, "password": password})
        status, headers, page = b.open("POST", "/oauth/manage/login", fields)
        self.assertEqual(status, 302, page)
        status, _, page = b.open("GET", headers["location"])
        self.assertEqual(status, 200)
        return b, page

    def test_discovery_names_the_endpoint(self):
        conf = self.server.get("/fhir/.well-known/smart-configuration").json()
        self.assertEqual(conf["management_endpoint"], self.server.root + "/oauth/manage")

    def test_member_sees_and_revokes_an_app(self):
        tokens = self.grant("ava", "ava-password-1", patient="demo-member-2")
        auth = {"Authorization": "Bearer " + tokens["access_token"]}
        self.assertEqual(self.server.get("/fhir/Patient/demo-member-2", auth).status, 200)
        b, page = self.sign_in("ava", "ava-password-1")
        self.assertIn("app app", page)               # the app's registered name
        self.assertIn(self.child_name, page)
        self.assertIn(self.child_born, page)
        self.assertIn("Revoke", page)
        # Access history arrives shortly (audit is written in batches).
        deadline = time.time() + 10
        while "read Patient status=200" not in page and time.time() < deadline:
            time.sleep(0.3)
            _, _, page = b.open("GET", "/oauth/manage")
        self.assertIn("read Patient status=200", page)
        csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)
        grant = re.search(r'name="grant" value="([^"]*)"', page).group(1)
        # Without the CSRF token nothing happens.
        status, _, _ = b.open("POST", "/oauth/manage/revoke", {"grant": grant})
        self.assertEqual(status, 400)
        self.assertEqual(self.server.get("/fhir/Patient/demo-member-2", auth).status, 200)
        status, _, _ = b.open("POST", "/oauth/manage/revoke", {"grant": grant, "csrf": csrf})
        self.assertEqual(status, 302)
        self.assertEqual(self.server.get("/fhir/Patient/demo-member-2", auth).status, 401)
        r = token_request(self.server, {"grant_type": "refresh_token",
                                        "refresh_token": tokens["refresh_token"]},
                          basic=("app", self.secret))
        self.assertEqual(r.json()["error"], "invalid_grant")

    def test_every_delegate_sees_and_revokes_the_apps_on_a_record_they_control(self):
        # Noah (the other parent) connects an app to the child's record; Ava, who also acts for
        # the child, sees it with its access history and can revoke it. Max sees none of it.
        tokens = self.grant("noah", "noah-password-1", patient="demo-member-2")
        auth = {"Authorization": "Bearer " + tokens["access_token"]}
        self.assertEqual(self.server.get("/fhir/Observation?patient=demo-member-2", auth).status,
                         200)
        _, noah_page = self.sign_in("noah", "noah-password-1")
        noahs = set(re.findall(r'name="grant" value="([^"]*)"', noah_page))
        self.assertTrue(noahs)
        b, page = self.sign_in("ava", "ava-password-1")
        deadline = time.time() + 10
        while "search Observation status=200" not in page and time.time() < deadline:
            time.sleep(0.3)
            _, _, page = b.open("GET", "/oauth/manage")
        self.assertIn("search Observation status=200", page)
        shown = set(re.findall(r'name="grant" value="([^"]*)"', page))
        self.assertTrue(noahs <= shown, (noahs, shown))
        _, max_page = self.sign_in("max", "max-password-1")
        self.assertFalse(noahs & set(re.findall(r'name="grant" value="([^"]*)"', max_page)))
        self.assertNotIn(self.child_born, max_page)
        csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)
        for grant in noahs:
            status, _, _ = b.open("POST", "/oauth/manage/revoke", {"grant": grant, "csrf": csrf})
            self.assertEqual(status, 302)
        self.assertEqual(self.server.get("/fhir/Patient/demo-member-2", auth).status, 401)

    def test_members_cannot_touch_each_others_grants(self):
        tokens = self.grant("max", "max-password-1")
        _, max_page = self.sign_in("max", "max-password-1")
        grant = re.search(r'name="grant" value="([^"]*)"', max_page).group(1)
        b, page = self.sign_in("ava", "ava-password-1")
        self.assertNotIn(grant, page)
        csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)
        status, _, _ = b.open("POST", "/oauth/manage/revoke", {"grant": grant, "csrf": csrf})
        self.assertEqual(status, 404)
        auth = {"Authorization": "Bearer " + tokens["access_token"]}
        self.assertEqual(self.server.get("/fhir/Patient/demo-member-3", auth).status, 200)

    def test_wrong_password_and_no_session(self):
        b = Browser(self.server)
        status, _, page = b.open("GET", "/oauth/manage")
        fields = dict(re.findall(r'name="(tx|csrf)" value="([^"]*)"', page))
        fields.update({"username": "ava", "password": "nope-nope"})
        status, _, page = b.open("POST", "/oauth/manage/login", fields)
        self.assertEqual(status, 401)
        status, _, _ = Browser(self.server).open("POST", "/oauth/manage/revoke",
                                                 {"grant": "x", "csrf": "y"})
        self.assertIn(status, (200, 400))  # the login form again, or refused; never a revoke


if __name__ == "__main__":
    unittest.main()
