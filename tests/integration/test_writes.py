"""Data feeds: SMART Backend Services tokens with system/ write scopes create, update, delete
and post transactions; member apps can never write (issue 10)."""

import json
import os
import shutil
import tempfile
import threading
import unittest

from portico_test import (Server, add_backend_client, add_user, authorize, backend_token,
                          client_assertion, exchange, register_client, run, token_request)


class WritesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-writes-")
        cls.db = os.path.join(cls.dir, "w.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        cls.key = add_backend_client(cls.db, cls.dir, "feed", "system/*.cruds")
        _, cls.secret = register_client(cls.db, "app", "http://app.example/cb")
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1")
        cls.server = Server(cls.db)
        cls.token = backend_token(cls.server, cls.key, "system/*.cruds")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    def call(self, method, path, body=None, token=None, headers=None):
        h = {"Authorization": "Bearer " + (token or self.token),
             "Content-Type": "application/fhir+json"}
        h.update(headers or {})
        return self.server.request(method, path, body=json.dumps(body) if body is not None
                                   else None, headers=h)

    def test_client_credentials_rules(self):
        r = token_request(self.server, {
            "grant_type": "client_credentials", "scope": "patient/*.read",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(self.server, self.key)})
        self.assertEqual(r.json()["error"], "invalid_scope")
        r = token_request(self.server, {"grant_type": "client_credentials",
                                        "scope": "system/*.read"},
                          basic=("app", self.secret))
        self.assertEqual(r.json()["error"], "unauthorized_client")

    def test_create_update_if_match_delete(self):
        r = self.call("POST", "/fhir/Patient", {"resourceType": "Patient", "id": "ignored",
                                                "name": [{"family": "Feed"}]})
        self.assertEqual(r.status, 201, r.body)
        created = r.json()
        self.assertNotEqual(created["id"], "ignored")
        self.assertIn(f"/Patient/{created['id']}/_history/1", r.header("location"))
        pid = created["id"]
        body = {"resourceType": "Patient", "id": pid, "name": [{"family": "Feed2"}]}
        stale = self.call("PUT", f"/fhir/Patient/{pid}", body, headers={"If-Match": 'W/"7"'})
        self.assertEqual(stale.status, 412)
        ok = self.call("PUT", f"/fhir/Patient/{pid}", body, headers={"If-Match": 'W/"1"'})
        self.assertEqual(ok.status, 200, ok.body)
        self.assertEqual(ok.json()["meta"]["versionId"], "2")
        bad = self.call("PUT", f"/fhir/Patient/{pid}", {"resourceType": "Patient", "id": pid,
                                                        "birthDate": "not-a-date"})
        self.assertEqual(bad.status, 422)
        self.assertEqual(self.call("DELETE", f"/fhir/Patient/{pid}").status, 204)
        self.assertEqual(self.call("GET", f"/fhir/Patient/{pid}").status, 410)
        hist = self.call("GET", f"/fhir/Patient/{pid}/_history").json()
        self.assertEqual([e["request"]["method"] for e in hist["entry"]], ["DELETE", "PUT", "POST"])

    def test_granular_system_reads_of_deleted_and_hidden_resources(self):
        # A system token narrowed by a granular scope reads what its filter allows, gets 404 for
        # what it does not (as if absent), and 410 for what was deleted.
        cat = "http://terminology.hl7.org/CodeSystem/observation-category"

        def observation(category):
            r = self.call("POST", "/fhir/Observation", {
                "resourceType": "Observation", "status": "final",
                "category": [{"coding": [{"system": cat, "code": category}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
                "subject": {"reference": "Patient/demo-member-1"}})
            self.assertEqual(r.status, 201, r.body)
            return r.json()["id"]

        lab, vital, gone = observation("laboratory"), observation("vital-signs"), \
            observation("laboratory")
        self.assertEqual(self.call("DELETE", f"/fhir/Observation/{gone}").status, 204)
        narrow = backend_token(self.server, self.key,
                               f"system/Observation.rs?category={cat}|laboratory")
        r = self.call("GET", f"/fhir/Observation/{lab}", token=narrow)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["id"], lab)
        self.assertEqual(r.header("etag"), 'W/"1"')
        hidden = self.call("GET", f"/fhir/Observation/{vital}", token=narrow)
        self.assertEqual(hidden.status, 404, hidden.body)
        self.assertEqual(self.call("GET", f"/fhir/Observation/{gone}", token=narrow).status, 410)
        self.assertEqual(self.call("GET", "/fhir/Observation/never-written",
                                   token=narrow).status, 404)

    def test_conditional_update_on_identifier(self):
        body = {"resourceType": "Coverage", "status": "active",
                "identifier": [{"system": "urn:feed", "value": "C-1"}],
                "beneficiary": {"reference": "Patient/demo-member-1"},
                "payor": [{"reference": "Organization/demo-payer"}]}
        first = self.call("PUT", "/fhir/Coverage?identifier=urn:feed|C-1", body)
        self.assertEqual(first.status, 201, first.body)
        body["status"] = "cancelled"
        second = self.call("PUT", "/fhir/Coverage?identifier=urn:feed|C-1", body)
        self.assertEqual(second.status, 200, second.body)
        self.assertEqual(second.json()["id"], first.json()["id"])

    def test_concurrent_conditional_updates_create_one_resource(self):
        # Feeds retried in parallel: the condition is evaluated under the write lock, so the
        # first creates and every other one updates that same resource.
        def body(i):
            return {"resourceType": "Coverage", "status": "active",
                    "identifier": [{"system": "urn:feed", "value": "C-2"}],
                    "subscriberId": f"attempt-{i}",
                    "beneficiary": {"reference": "Patient/demo-member-1"},
                    "payor": [{"reference": "Organization/demo-payer"}]}
        results = [None] * 8

        def put(i):
            results[i] = self.call("PUT", "/fhir/Coverage?identifier=urn:feed|C-2", body(i))
        threads = [threading.Thread(target=put, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [200] * 7 + [201], [r.body for r in results])
        self.assertEqual(len({r.json()["id"] for r in results}), 1)
        found = self.call("GET", "/fhir/Coverage?identifier=urn:feed|C-2&_total=accurate").json()
        self.assertEqual(found["total"], 1)
        # One match, but the body names another id: refused, nothing written.
        other = dict(body(9), id="some-other-id")
        r = self.call("PUT", "/fhir/Coverage?identifier=urn:feed|C-2", other)
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(self.call("GET", "/fhir/Coverage/some-other-id").status, 404)

    def test_transaction_is_all_or_nothing(self):
        bad = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
             "resource": {"resourceType": "Patient", "name": [{"family": "T1"}]},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation", "id": "bad_id", "status": "final",
                          "code": {"text": "x"}},
             "request": {"method": "PUT", "url": "Observation/bad_id"}}]}
        r = self.call("POST", "/fhir", bad)
        self.assertEqual(r.status, 400)
        self.assertEqual(self.call("GET", "/fhir/Patient/11111111-1111-1111-1111-111111111111")
                         .status, 404)
        good = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
             "resource": {"resourceType": "Patient", "name": [{"family": "T2"}]},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation", "id": "feed-obs-1", "status": "final",
                          "code": {"text": "x"},
                          "subject": {"reference": "urn:uuid:22222222-2222-2222-2222-222222222222"}},
             "request": {"method": "PUT", "url": "Observation/feed-obs-1"}}]}
        r = self.call("POST", "/fhir", good)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["type"], "transaction-response")
        self.assertEqual([e["response"]["status"] for e in r.json()["entry"]],
                         ["201 Created", "201 Created"])
        obs = self.call("GET", "/fhir/Observation/feed-obs-1").json()
        self.assertEqual(obs["subject"]["reference"],
                         "Patient/22222222-2222-2222-2222-222222222222")

    def test_member_apps_and_read_only_tokens_cannot_write(self):
        result, verifier = authorize(self.server, "app", "http://app.example/cb",
                                     "launch/patient patient/*.cruds patient/*.write",
                                     "ava", "ava-password-1")
        member = exchange(self.server, result["code"], verifier, "app", self.secret,
                          "http://app.example/cb").json()["access_token"]
        reader = backend_token(self.server, self.key, "system/*.rs")
        body = {"resourceType": "Patient", "id": "demo-member-1", "name": [{"family": "X"}]}
        for token in (member, reader):
            for method, path, payload in [("PUT", "/fhir/Patient/demo-member-1", body),
                                          ("POST", "/fhir/Patient", body),
                                          ("DELETE", "/fhir/Patient/demo-member-1", None),
                                          ("POST", "/fhir", {"resourceType": "Bundle",
                                                             "type": "transaction",
                                                             "entry": []})]:
                r = self.call(method, path, payload, token=token)
                self.assertEqual(r.status, 403, f"{method} {path}: {r.body}")
                self.assertEqual(r.json()["resourceType"], "OperationOutcome")
        self.assertEqual(self.call("GET", "/fhir/Patient/demo-member-1").json()["meta"]
                         ["versionId"], "1")


if __name__ == "__main__":
    unittest.main()
