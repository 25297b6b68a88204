"""Profile conformance on import and $validate, demo data conformance, $member-match edge cases
(issue 6)."""

import json
import os
import re
import shutil
import tempfile
import unittest
import urllib.parse

from portico_test import (Server, TempDirTestCase, add_user, authorize, exchange, fixtures_dir,
                          register_client, run)
from test_core import INVALID_FIXTURES

REDIRECT = "http://app.example/cb"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
C4BB = "http://hl7.org/fhir/us/carin-bb/StructureDefinition/"

WARNING = re.compile(r"^warning: (?P<file>[^:]+): (entry (?P<entry>\d+): )?(?P<path>[A-Za-z]"
                     r"[A-Za-z0-9_.\[\]()]*): (?P<message>.+)$")


def references(value, out):
    """Appends every relative Type/id "reference" string found in `value` to `out`."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                if re.fullmatch(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}", v):
                    out.append(v)
            else:
                references(v, out)
    elif isinstance(value, list):
        for v in value:
            references(v, out)
    return out


def bad_condition(rid="bad-condition"):
    """A Condition that is valid R4 but breaks us-core-condition: no category and code, and a
    clinicalStatus outside the required value set."""
    return {"resourceType": "Condition", "id": rid,
            "meta": {"profile": [US_CORE + "us-core-condition"]},
            "clinicalStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": "dormant"}]},
            "subject": {"reference": "Patient/nobody-here"}}


class ImportProfileCheckTest(TempDirTestCase):
    def test_fixtures_warn_mode(self):
        fixtures = fixtures_dir()
        db = self.path("fx.db")
        proc = run("import", "--db", f"sqlite:{db}", "--profile-check", "warn", fixtures,
                   check=False)
        # Only the base-invalid files fail; profile findings are warnings.
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("10 files failed", proc.stdout)
        failed = set(re.findall(r"^error: (.+): not loaded", proc.stderr, re.M))
        self.assertEqual(failed, {os.path.join(fixtures, f) for f in INVALID_FIXTURES})
        self.assertNotIn("does not conform", proc.stderr)
        warnings = [l for l in proc.stderr.splitlines() if l.startswith("warning: ")
                    and not l.endswith("do not resolve")]
        self.assertTrue(warnings)
        for line in warnings:
            self.assertRegex(line, WARNING)
        # Profiles of other guides are named, not checked.
        self.assertIn("hrex-coverage is not one this server supports", proc.stderr)

    def test_fixtures_reject_mode_rejects_nothing_more(self):
        fixtures = fixtures_dir()
        db = self.path("fx.db")
        proc = run("import", "--db", f"sqlite:{db}", "--profile-check", "reject", fixtures,
                   check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("10 files failed", proc.stdout)

    def test_bad_resource_warn_reject_off(self):
        path = self.path("bad.ndjson")
        good = {"resourceType": "Patient", "id": "pat-ok"}
        with open(path, "w") as f:
            f.write(json.dumps(good) + "\n" + json.dumps(bad_condition()) + "\n")
        # reject: the file fails like a validation error and nothing of it is stored.
        db = self.path("reject.db")
        proc = run("import", "--db", f"sqlite:{db}", "--profile-check", "reject", path,
                   check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(f"error: {path}: entry 2: does not conform to its profile", proc.stderr)
        self.assertIn("Condition.code", proc.stderr)
        self.assertIn(f"error: {path}: not loaded", proc.stderr)
        self.assertIn("0 created", proc.stdout)
        # warn (the default): stored, with one warning line per problem, each with its path.
        db = self.path("warn.db")
        proc = run("import", "--db", f"sqlite:{db}", path, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("2 created", proc.stdout)
        found = {}
        for line in proc.stderr.splitlines():
            m = WARNING.match(line)
            if m:
                found[m.group("path")] = m.group("message")
                self.assertEqual(m.group("entry"), "2", line)
        for p in ["Condition.category", "Condition.code", "Condition.clinicalStatus",
                  "Condition.subject"]:
            self.assertIn(p, found, proc.stderr)
        self.assertIn("us-core-condition", found["Condition.code"])
        self.assertIn("dormant", found["Condition.clinicalStatus"])
        self.assertIn("Patient/nobody-here does not resolve", found["Condition.subject"])
        # A later import that supplies the target resolves the reference.
        target = self.path("target.json")
        with open(target, "w") as f:
            json.dump({"resourceType": "Patient", "id": "nobody-here"}, f)
        proc = run("import", "--db", f"sqlite:{db}", target, path, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("does not resolve", proc.stderr)
        # off: no profile or reference findings at all.
        proc = run("import", "--db", f"sqlite:{self.path('off.db')}", "--profile-check", "off",
                   path, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("warning:", proc.stderr)
        self.assertNotEqual(run("import", "--db", f"sqlite:{db}", "--profile-check", "maybe",
                                path, check=False).returncode, 0)


class DemoDataProfilesTest(unittest.TestCase):
    """The demo data conforms and is closed under references for the member's own token."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-profiles-")
        cls.db = os.path.join(cls.dir, "demo.db")
        cls.demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", cls.demo)
        cls.import_proc = run("import", "--db", f"sqlite:{cls.db}", "--profile-check", "reject",
                              cls.demo, check=False)
        _, cls.secret = register_client(cls.db, "app", REDIRECT)
        add_user(cls.db, "robert", "robert-password-1", patient="demo-member-1")
        cls.server = Server(cls.db)
        cls.system = cls.server.operator_token()
        cls.server.default_token = None
        result, verifier = authorize(cls.server, "app", REDIRECT,
                                     "launch/patient patient/*.read", "robert",
                                     "robert-password-1")
        cls.token = exchange(cls.server, result["code"], verifier, "app", cls.secret,
                             REDIRECT).json()["access_token"]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    def get(self, path, token=None):
        return self.server.get(path, {"Authorization": "Bearer " + (token or self.token)})

    def post(self, path, body, query=""):
        return self.server.request("POST", path + query, body=json.dumps(body), headers={
            "Authorization": "Bearer " + self.system, "Content-Type": "application/fhir+json"})

    def test_demo_data_imports_without_findings(self):
        self.assertEqual(self.import_proc.returncode, 0, self.import_proc.stderr)
        self.assertNotIn("warning:", self.import_proc.stderr)

    def everything(self):
        bundle = self.get("/fhir/Patient/demo-member-1/$everything?_count=50").json()
        resources = []
        while True:
            resources += [e["resource"] for e in bundle.get("entry", [])]
            nxt = [l["url"] for l in bundle["link"] if l["relation"] == "next"]
            if not nxt:
                return resources
            bundle = self.get(nxt[0].replace(self.server.root, "")).json()

    def test_everything_has_profiles_timestamps_and_resolvable_references(self):
        resources = self.everything()
        self.assertGreater(len(resources), 50)
        known = {}
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "data",
                               "server-resources.json")) as f:
            for r in json.load(f)["resources"]:
                known[r["type"]] = set(r["profiles"])
        missing = []
        refs = set()
        for r in resources:
            key = f"{r['resourceType']}/{r['id']}"
            meta = r.get("meta", {})
            self.assertTrue(meta.get("lastUpdated"), key)
            if not meta.get("profile"):
                missing.append(key)
            elif known.get(r["resourceType"]):
                self.assertTrue(set(p.split("|")[0] for p in meta["profile"]) &
                                known[r["resourceType"]], key)
            refs.update(references(r, []))
        self.assertEqual(missing, [], "resources without meta.profile")
        self.assertIn("Patient/demo-member-1", refs)
        self.assertTrue(any(r.startswith("Organization/") for r in refs))
        self.assertTrue(any(r.startswith("Practitioner/") for r in refs))
        unresolved = []
        for ref in sorted(refs):
            resp = self.get("/fhir/" + ref)
            if resp.status != 200:
                unresolved.append(f"{ref}: {resp.status}")
            else:
                body = resp.json()
                self.assertEqual(f"{body['resourceType']}/{body['id']}", ref)
        # Known gaps of the server (not of the data), reported with issue 6; each must stay
        # explained here, and every other reference must resolve.
        known = {
            # Endpoints are referenced only from shared Organization / PractitionerRole
            # resources; the store shows a member shared resources referenced directly from
            # their compartment (one hop), so the member's token cannot read them.
            "Endpoint/demo-endpoint-1: 404",
            # demo-coverage-2 (the child's Coverage) is in the parent's compartment as its
            # subscriber, but its beneficiary, the child's Patient, is not.
            "Patient/demo-member-2: 404",
        }
        self.assertEqual(set(unresolved) - known, set())

    def test_validate_reports_profile_issues(self):
        # A conforming demo resource: no errors, and the profile is named in the all-clear.
        cond = self.get("/fhir/Condition?patient=demo-member-1").json()["entry"][0]["resource"]
        r = self.post("/fhir/Condition/$validate", cond)
        self.assertEqual(r.status, 200, r.body)
        issues = r.json()["issue"]
        self.assertEqual([i["severity"] for i in issues], ["information"], issues)
        # Profile errors come with severity and expression.
        bad = bad_condition()
        bad["bogus"] = 1
        out = self.post("/fhir/Condition/$validate", bad).json()["issue"]
        by_path = {i["expression"][0]: i for i in out}
        self.assertEqual(by_path["Condition.bogus"]["code"], "structure")
        self.assertEqual(by_path["Condition.code"]["severity"], "error")
        self.assertEqual(by_path["Condition.code"]["code"], "processing")
        self.assertIn("Condition.category", by_path)
        self.assertIn("Condition.clinicalStatus", by_path)
        # An unknown meta.profile is a warning only.
        other = {"resourceType": "Patient", "meta": {"profile": ["http://example.org/sd/x"]}}
        out = self.post("/fhir/Patient/$validate", other).json()["issue"]
        self.assertEqual(out[0]["severity"], "information")
        self.assertEqual(out[1]["severity"], "warning")
        self.assertEqual(out[1]["expression"], ["Patient.meta.profile[0]"])
        # The profile can be chosen by parameter (query or Parameters) instead of meta.profile.
        plain = {"resourceType": "Patient", "name": [{"family": "Ok"}]}
        q = "?profile=" + urllib.parse.quote(US_CORE + "us-core-patient", safe="")
        out = self.post("/fhir/Patient/$validate", plain, q).json()["issue"]
        self.assertIn("Patient.gender", {i["expression"][0] for i in out if "expression" in i})
        params = {"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": plain},
            {"name": "profile", "valueCanonical": C4BB + "C4BB-Patient|1.0.0"}]}
        out = self.post("/fhir/Patient/$validate", params).json()["issue"]
        paths = {i["expression"][0] for i in out if "expression" in i}
        self.assertTrue({"Patient.gender", "Patient.identifier", "Patient.meta"} <= paths,
                        out)
        r = self.post("/fhir/Patient/$validate", plain, "?profile=http%3A%2F%2Fexample.org%2Fx")
        self.assertEqual(r.status, 400)
        r = self.post("/fhir/Patient/$validate", plain,
                      "?profile=" + urllib.parse.quote(US_CORE + "us-core-condition", safe=""))
        self.assertEqual(r.status, 400)


class MemberMatchEdgeCasesTest(unittest.TestCase):
    """$member-match: multiple matches and malformed input (one match / no match are in
    test_operations.py)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-mm-")
        cls.db = os.path.join(cls.dir, "mm.db")
        twins = []
        for n in (1, 2):
            twins.append({"resourceType": "Patient", "id": f"twin-{n}",
                          "identifier": [{"system": "urn:example:member", "value": f"T{n}"}],
                          "name": [{"family": "Doe", "given": ["Sam"]}], "gender": "other",
                          "birthDate": "1990-05-06"})
            twins.append({"resourceType": "Coverage", "id": f"twin-cov-{n}", "status": "active",
                          "identifier": [{"system": "urn:example:plan", "value": "SHARED-1"}],
                          "beneficiary": {"reference": f"Patient/twin-{n}"},
                          "payor": [{"display": "Plan"}]})
        path = os.path.join(cls.dir, "twins.ndjson")
        with open(path, "w") as f:
            f.write("\n".join(json.dumps(r) for r in twins) + "\n")
        run("import", "--db", f"sqlite:{cls.db}", path)
        cls.server = Server(cls.db)
        cls.system = cls.server.operator_token()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    def post(self, body, raw=False, content_type="application/fhir+json"):
        return self.server.request("POST", "/fhir/Patient/$member-match",
                                   body=body if raw else json.dumps(body), headers={
                                       "Authorization": "Bearer " + self.system,
                                       "Content-Type": content_type})

    def params(self, patient=None, old=None, new=None):
        patient = patient or {"resourceType": "Patient", "name": [{"family": "Doe",
                                                                   "given": ["Sam"]}],
                              "gender": "other", "birthDate": "1990-05-06"}
        old = old or {"resourceType": "Coverage", "status": "active",
                      "identifier": [{"system": "urn:example:plan", "value": "SHARED-1"}],
                      "beneficiary": {"reference": "Patient/1"}, "payor": [{"display": "Old"}]}
        new = new or {"resourceType": "Coverage", "status": "active",
                      "beneficiary": {"reference": "Patient/1"}, "payor": [{"display": "New"}]}
        return {"resourceType": "Parameters", "parameter": [
            {"name": "MemberPatient", "resource": patient},
            {"name": "OldCoverage", "resource": old},
            {"name": "NewCoverage", "resource": new}]}

    def test_multiple_match(self):
        r = self.post(self.params())
        self.assertEqual(r.status, 422, r.body)
        out = r.json()
        self.assertEqual(out["resourceType"], "OperationOutcome")
        self.assertEqual(out["issue"][0]["code"], "multiple-matches")

    def test_multiple_match_without_coverage_identifier(self):
        p = self.params()
        # Without a usable coverage identifier the demographics alone still match both.
        p["parameter"][1]["resource"].pop("identifier")
        self.assertEqual(self.post(p).json()["issue"][0]["code"], "multiple-matches")

    def test_no_match(self):
        p = self.params(patient={"resourceType": "Patient", "name": [{"family": "Doe"}],
                                 "gender": "other", "birthDate": "1991-05-06"})
        r = self.post(p)
        self.assertEqual(r.status, 422, r.body)
        self.assertNotEqual(r.json()["issue"][0]["code"], "multiple-matches")

    def test_malformed_input(self):
        cases = {
            "not json": ("{not json", True, "application/fhir+json"),
            "not fhir json": ("<Parameters/>", True, "application/xml"),
            "not Parameters": ({"resourceType": "Patient"}, False, "application/fhir+json"),
            "no parameter": ({"resourceType": "Parameters"}, False, "application/fhir+json"),
        }
        for name, (body, raw, ct) in cases.items():
            r = self.post(body, raw=raw, content_type=ct)
            self.assertIn(r.status, (400, 415), f"{name}: {r.status} {r.body}")
            self.assertEqual(r.json()["resourceType"], "OperationOutcome", name)
        p = self.params()
        p["parameter"][0]["resource"] = {"resourceType": "Coverage"}  # MemberPatient not a Patient
        self.assertEqual(self.post(p).status, 400)
        p = self.params()
        p["parameter"].append(p["parameter"][0])  # repeated parameter
        self.assertEqual(self.post(p).status, 400)
        p = self.params()
        p["parameter"].append({"name": "Unknown", "valueString": "x"})
        self.assertEqual(self.post(p).status, 400)
        p = self.params()
        del p["parameter"][1]  # OldCoverage missing
        self.assertEqual(self.post(p).status, 400)


if __name__ == "__main__":
    unittest.main()
