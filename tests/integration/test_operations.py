"""Operations: $member-match (HRex 0.2.0), $everything, $docref, $validate (issue 6)."""

import json
import os
import shutil
import tempfile
import unittest

from portico_test import Server, add_user, authorize, exchange, register_client, run

REDIRECT = "http://app.example/cb"


def parameters(patient, old_cov, new_cov=None, extra=None):
    p = [{"name": "MemberPatient", "resource": patient},
         {"name": "OldCoverage", "resource": old_cov}]
    if new_cov is not False:
        p.append({"name": "NewCoverage", "resource": new_cov or {
            "resourceType": "Coverage", "status": "active",
            "beneficiary": {"reference": "Patient/1"}, "payor": [{"display": "New Plan"}]}})
    if extra:
        p.append(extra)
    return {"resourceType": "Parameters", "parameter": p}


class OperationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-ops-")
        cls.db = os.path.join(cls.dir, "ops.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "5", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        _, cls.secret = register_client(cls.db, "app", REDIRECT)
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1")
        cls.server = Server(cls.db)
        cls.system = cls.server.operator_token()
        cls.server.default_token = None
        result, verifier = authorize(cls.server, "app", REDIRECT,
                                     "launch/patient patient/*.read", "ava", "ava-password-1")
        cls.patient_token = exchange(cls.server, result["code"], verifier, "app", cls.secret,
                                     REDIRECT).json()["access_token"]
        cls.member = cls.get_as(cls.system, "/fhir/Patient/demo-member-1").json()
        cov = cls.get_as(cls.system, "/fhir/Coverage?beneficiary=demo-member-1").json()
        cls.coverage = cov["entry"][0]["resource"]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    @classmethod
    def get_as(cls, token, path):
        return cls.server.get(path, {"Authorization": "Bearer " + token})

    def post(self, path, body, token=None):
        return self.server.request("POST", path, body=json.dumps(body), headers={
            "Authorization": "Bearer " + (token or self.system),
            "Content-Type": "application/fhir+json"})

    def demographics(self):
        m = self.member
        return {"resourceType": "Patient", "name": [{"family": m["name"][0]["family"],
                                                     "given": m["name"][0].get("given", [])}],
                "gender": m["gender"], "birthDate": m["birthDate"]}

    def test_member_match_one_match(self):
        old = {"resourceType": "Coverage", "status": "active",
               "identifier": self.coverage.get("identifier", []),
               "beneficiary": {"reference": "Patient/1"}, "payor": [{"display": "Old"}]}
        r = self.post("/fhir/Patient/$member-match", parameters(self.demographics(), old))
        self.assertEqual(r.status, 200, r.body)
        out = r.json()
        self.assertEqual(out["resourceType"], "Parameters")
        self.assertEqual(out["parameter"][0]["name"], "MemberIdentifier")
        ident = out["parameter"][0]["valueIdentifier"]
        member_ids = [i["value"] for i in self.member.get("identifier", [])]
        self.assertIn(ident["value"], member_ids)

    def test_member_match_no_match_and_bad_input(self):
        wrong = self.demographics()
        wrong["birthDate"] = "1901-01-01"
        old = {"resourceType": "Coverage", "status": "active",
               "identifier": self.coverage.get("identifier", []),
               "beneficiary": {"reference": "Patient/1"}, "payor": [{"display": "Old"}]}
        r = self.post("/fhir/Patient/$member-match", parameters(wrong, old))
        self.assertEqual(r.status, 422)
        self.assertEqual(r.json()["resourceType"], "OperationOutcome")
        r = self.post("/fhir/Patient/$member-match", parameters(self.demographics(), old,
                                                                 new_cov=False))
        self.assertEqual(r.status, 400)
        r = self.post("/fhir/Patient/$member-match", parameters(
            self.demographics(), old, extra={"name": "Consent", "resource": {}}))
        self.assertEqual(r.status, 400)
        # A member's own token may not match members.
        r = self.post("/fhir/Patient/$member-match", parameters(self.demographics(), old),
                      token=self.patient_token)
        self.assertEqual(r.status, 403)

    def test_everything_is_scoped_and_paged(self):
        r = self.get_as(self.patient_token, "/fhir/Patient/demo-member-1/$everything?_count=40")
        self.assertEqual(r.status, 200, r.body)
        seen = []
        bundle = r.json()
        pages = 0
        while True:
            pages += 1
            seen += [(e["resource"]["resourceType"], e["resource"]["id"])
                     for e in bundle.get("entry", [])]
            nxt = [l["url"] for l in bundle["link"] if l["relation"] == "next"]
            if not nxt:
                break
            bundle = self.get_as(self.patient_token,
                                 nxt[0].replace(self.server.root, "")).json()
        self.assertGreater(pages, 1)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertIn(("Patient", "demo-member-1"), seen)
        types = {t for t, _ in seen}
        for t in ["ExplanationOfBenefit", "Coverage", "Observation", "Condition", "Organization"]:
            self.assertIn(t, types)
        self.assertNotIn(("Patient", "demo-member-3"), seen)
        # Another member's $everything is not there for this token.
        self.assertEqual(self.get_as(self.patient_token,
                                     "/fhir/Patient/demo-member-3/$everything").status, 404)

    def test_docref(self):
        r = self.get_as(self.patient_token, "/fhir/DocumentReference/$docref?patient=demo-member-1")
        self.assertEqual(r.status, 200, r.body)
        docs = r.json().get("entry", [])
        self.assertTrue(docs)
        self.assertTrue(all(e["resource"]["resourceType"] == "DocumentReference" for e in docs))
        other = self.get_as(self.patient_token,
                            "/fhir/DocumentReference/$docref?patient=demo-member-3").json()
        self.assertEqual(other.get("entry", []), [])
        self.assertEqual(self.get_as(self.patient_token,
                                     "/fhir/DocumentReference/$docref").status, 400)

    def test_validate(self):
        good = {"resourceType": "Patient", "name": [{"family": "Ok"}], "birthDate": "2001-02-03"}
        r = self.post("/fhir/Patient/$validate", good)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["issue"][0]["severity"], "information")
        bad = {"resourceType": "Patient", "birthDate": "2001-13-03", "nonsense": 1}
        r = self.post("/fhir/Patient/$validate", bad).json()
        self.assertTrue(any(i["severity"] == "error" for i in r["issue"]))
        self.assertTrue(any("birthDate" in i["expression"][0] for i in r["issue"]))



class CapabilityOperationsTest(unittest.TestCase):
    def test_operations_are_declared(self):
        d = tempfile.mkdtemp(prefix="portico-cs-")
        self.addCleanup(shutil.rmtree, d, True)
        server = Server(os.path.join(d, "cs.db"))
        self.addCleanup(server.stop)
        cs = server.get("/fhir/metadata").json()
        res = {r["type"]: r for r in cs["rest"][0]["resource"]}
        ops = {o["name"] for o in res["Patient"].get("operation", [])}
        self.assertTrue({"member-match", "everything", "validate"} <= ops)
        self.assertIn("docref", {o["name"] for o in res["DocumentReference"]["operation"]})


if __name__ == "__main__":
    unittest.main()
