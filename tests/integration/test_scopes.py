"""Issue 5: the scope matrix. Each v1 and v2 scope form against each interaction, granular
scopes (v2 `?param=value`) on search, read and includes, and types a token may not read.

Rules checked (docs/api.md, "Access rules"):
  r = read, vread, instance history; s = search (GET and POST _search). Type and system history
  are refused (403) for patient tokens whatever the scope. create/update/patch/delete answer
  403/405 whatever the scope. A type not granted answers 403 insufficient_scope. Several granular
  scopes on one type are a union; a plain scope on the type overrides them; a granular scope
  filters searches exactly and hides (404) resources that do not match it, includes too.
"""

import json
import shutil
import tempfile
import unittest

from test_isolation import A, LAB, World, bundle_resources

LAB_ID = "demo-obs-1-lab-glucose"
VITAL_ID = "demo-obs-1-bp"
COND_ID = "demo-condition-1-hypertension"
VITALS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
BASE_SCOPES = "launch/patient openid "


def more_resources():
    """A preliminary lab result (for conjunctions) and a report whose result is a vital sign
    (so a lab-only token meets a hidden result through an include and a chain)."""
    return [
        {"resourceType": "Observation", "id": "iso-a-lab-prelim", "status": "preliminary",
         "category": [{"coding": [{"system": LAB.split("|")[0], "code": "laboratory"}]}],
         "code": {"coding": [{"system": "http://loinc.org", "code": "2951-2"}]},
         "subject": {"reference": f"Patient/{A}"}},
        {"resourceType": "DiagnosticReport", "id": "iso-dr-vitals", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "34566-0"}]},
         "subject": {"reference": f"Patient/{A}"},
         "result": [{"reference": f"Observation/{VITAL_ID}"},
                    {"reference": f"Observation/{LAB_ID}"}]},
    ]


def categories(resource):
    return {c.get("code") for cat in resource.get("category", []) for c in cat.get("coding", [])}


# (scope, read, search, Condition read, Condition search) for Observation; Condition is "another
# type". Type history and writes are refused for every row.
MATRIX = [
    # v1
    ("patient/Observation.read", True, True, False, False),
    ("patient/Observation.*", True, True, False, False),
    ("patient/Observation.write", False, False, False, False),
    ("patient/*.read", True, True, True, True),
    ("patient/*.*", True, True, True, True),
    ("patient/*.write", False, False, False, False),
    ("user/Observation.read", True, True, False, False),
    ("user/*.read", True, True, True, True),
    ("patient/Condition.read", False, False, True, True),
    ("patient/Observation.read patient/Condition.rs", True, True, True, True),
    # v2
    ("patient/Observation.r", True, False, False, False),
    ("patient/Observation.s", False, True, False, False),
    ("patient/Observation.rs", True, True, False, False),
    ("patient/Observation.cruds", True, True, False, False),
    ("patient/Observation.cud", False, False, False, False),
    ("patient/Observation.c", False, False, False, False),
    ("patient/Observation.r patient/Observation.s", True, True, False, False),
    ("patient/Observation.r user/Observation.s", True, True, False, False),
    ("patient/*.rs", True, True, True, True),
    ("patient/*.r", True, False, True, False),
    ("patient/*.s", False, True, False, True),
    ("patient/*.cruds", True, True, True, True),
    ("user/Observation.rs", True, True, False, False),
    ("user/*.rs", True, True, True, True),
    ("patient/Condition.s patient/Observation.r", True, False, False, True),
    # system/ scopes do not apply to a token with a patient context.
    ("system/Observation.rs", False, False, False, False),
    ("system/*.rs", False, False, False, False),
    # A constraint the server cannot evaluate grants nothing (never read loosely).
    ("patient/Observation.rs?no-such-param=x", False, False, False, False),
    # No resource scope at all.
    ("fhirUser", False, False, False, False),
]


class ScopesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-scopes-")
        cls.w = World(cls.dir, more_resources())
        obs = [r for r in cls.w.demo + more_resources()
               if r["resourceType"] == "Observation" and r["subject"]["reference"] ==
               f"Patient/{A}"]
        cls.all_obs = {r["id"] for r in obs}
        cls.lab = {r["id"] for r in obs if "laboratory" in categories(r)}
        cls.vital = {r["id"] for r in obs if "vital-signs" in categories(r)}
        cls.lab_final = {r["id"] for r in obs if "laboratory" in categories(r) and
                         r["status"] == "final"}
        cls.obs_body = json.dumps(cls.w.by_key[("Observation", LAB_ID)])
        assert LAB_ID in cls.lab and VITAL_ID in cls.vital and len(cls.all_obs) > len(
            cls.lab | cls.vital) and cls.lab_final < cls.lab

    @classmethod
    def tearDownClass(cls):
        cls.w.stop()
        shutil.rmtree(cls.dir, True)

    def token(self, scope):
        return self.w.token("alice", BASE_SCOPES + scope)

    def call(self, token, method, path, body=None, content_type=None):
        headers = {"Content-Type": content_type} if content_type else None
        return self.w.call(token, method, path, body=body, headers=headers)

    def ids(self, resp, rtype="Observation"):
        self.assertEqual(resp.status, 200, resp.body[:300])
        return {r["id"] for r in bundle_resources(resp) if r["resourceType"] == rtype}

    def search_all(self, token, query):
        """Every id of every page of an Observation search."""
        out = []
        path = f"/fhir/Observation?{query}"
        while path:
            r = self.call(token, "GET", path)
            self.assertEqual(r.status, 200, r.body[:300])
            out += [x["id"] for x in bundle_resources(r)]
            nxt = [l["url"] for l in r.json()["link"] if l["relation"] == "next"]
            path = nxt[0][len(self.w.server.root):] if nxt else None
        self.assertEqual(len(out), len(set(out)), "a resource on two pages")
        return set(out)

    def assert_forbidden(self, r, label):
        self.assertEqual(r.status, 403, f"{label}: {r.status} {r.body[:200]}")
        self.assertEqual(r.json()["resourceType"], "OperationOutcome", label)
        self.assertIn('error="insufficient_scope"', r.header("www-authenticate") or "", label)

    # -- the matrix

    def test_matrix(self):
        for scope, read, search, other_read, other_search in MATRIX:
            with self.subTest(scope=scope):
                tok = self.token(scope)
                checks = [
                    ("read", "GET", f"/fhir/Observation/{LAB_ID}", None, read),
                    ("vread", "GET", f"/fhir/Observation/{LAB_ID}/_history/1", None, read),
                    ("history", "GET", f"/fhir/Observation/{LAB_ID}/_history", None, read),
                    ("search", "GET", f"/fhir/Observation?patient={A}", None, search),
                    ("search all", "GET", "/fhir/Observation", None, search),
                    ("POST search", "POST", "/fhir/Observation/_search", f"patient={A}", search),
                    ("other read", "GET", f"/fhir/Condition/{COND_ID}", None, other_read),
                    ("other search", "GET", f"/fhir/Condition?patient={A}", None, other_search),
                ]
                for name, method, path, body, allowed in checks:
                    ct = "application/x-www-form-urlencoded" if body else None
                    r = self.call(tok, method, path, body, ct)
                    label = f"{scope}: {name}"
                    if not allowed:
                        self.assert_forbidden(r, label)
                        continue
                    self.assertEqual(r.status, 200, f"{label}: {r.body[:200]}")
                    if "search" in name:
                        rtype = "Condition" if "other" in name else "Observation"
                        got = self.ids(r, rtype)
                        self.assertTrue(got, label)
                        if rtype == "Observation":
                            self.assertLessEqual(got, self.all_obs, label)
                for name, path in [("type history", "/fhir/Observation/_history"),
                                   ("system history", "/fhir/_history")]:
                    r = self.call(tok, "GET", path)
                    self.assertEqual(r.status, 403, f"{scope}: {name}")
                    self.assertEqual(r.json()["resourceType"], "OperationOutcome")
                for method, path in [("POST", "/fhir/Observation"),
                                     ("PUT", f"/fhir/Observation/{LAB_ID}"),
                                     ("PATCH", f"/fhir/Observation/{LAB_ID}"),
                                     ("DELETE", f"/fhir/Observation/{LAB_ID}"),
                                     ("POST", "/fhir")]:
                    r = self.call(tok, method, path, self.obs_body, "application/fhir+json")
                    self.assertIn(r.status, (403, 405), f"{scope}: {method} {path}")
                    self.assertEqual(r.json()["resourceType"], "OperationOutcome")
        self.assertEqual(self.call(self.token("patient/*.read"), "GET",
                                   f"/fhir/Observation/{LAB_ID}").json()["meta"]["versionId"], "1")

    def test_v1_read_equals_v2_rs(self):
        v1 = self.token("patient/Observation.read")
        v2 = self.token("patient/Observation.rs")
        self.assertEqual(self.search_all(v1, "_count=7"), self.all_obs)
        self.assertEqual(self.search_all(v2, "_count=7"), self.all_obs)

    # -- granular scopes

    def check_granular(self, scope, visible, label):
        """Search (GET, POST, paged, counted) returns exactly `visible`; reads of the others
        answer 404."""
        tok = self.token(scope)
        self.assertEqual(self.search_all(tok, "_count=3"), visible, label)
        self.assertEqual(self.search_all(tok, f"patient={A}"), visible, label)
        r = self.call(tok, "POST", "/fhir/Observation/_search", f"patient={A}&_count=500",
                      "application/x-www-form-urlencoded")
        self.assertEqual(self.ids(r), visible, label)
        r = self.call(tok, "GET", "/fhir/Observation?_summary=count")
        self.assertEqual(r.json()["total"], len(visible), label)
        for i in sorted(self.all_obs):
            for suffix in ["", "/_history/1", "/_history"]:
                r = self.call(tok, "GET", f"/fhir/Observation/{i}{suffix}")
                self.assertEqual(r.status, 200 if i in visible else 404,
                                 f"{label}: {i}{suffix}")
            r = self.call(tok, "GET", f"/fhir/Observation?_id={i}")
            self.assertEqual(self.ids(r), {i} & visible, f"{label}: _id={i}")
        return tok

    def test_granular_category_filters_search_and_read(self):
        tok = self.check_granular(f"patient/Observation.rs?category={LAB}", self.lab, "lab")
        self.assertEqual(self.ids(self.call(tok, "GET", f"/fhir/Observation?category={VITALS}")),
                         set())
        self.assertEqual(self.ids(self.call(tok, "GET", "/fhir/Observation?code=85354-9")),
                         set())

    def test_granular_code_only_value(self):
        self.check_granular("patient/Observation.rs?category=laboratory", self.lab, "code only")

    def test_granular_scopes_are_a_union(self):
        self.check_granular(f"patient/Observation.rs?category={LAB} "
                            f"patient/Observation.rs?category={VITALS}",
                            self.lab | self.vital, "union")

    def test_plain_scope_overrides_granular(self):
        self.check_granular(f"patient/Observation.rs?category={LAB} patient/Observation.rs",
                            self.all_obs, "plain")

    def test_granular_conjunction(self):
        self.check_granular(f"patient/Observation.rs?category={LAB}&status=final",
                            self.lab_final, "conjunction")

    def test_granular_search_plain_read(self):
        tok = self.token(f"patient/Observation.s?category={LAB} patient/Observation.r")
        self.assertEqual(self.search_all(tok, ""), self.lab)
        self.assertEqual(self.call(tok, "GET", f"/fhir/Observation/{VITAL_ID}").status, 200)

    def test_granular_read_only(self):
        tok = self.token(f"patient/Observation.r?category={LAB}")
        self.assert_forbidden(self.call(tok, "GET", "/fhir/Observation"), "search")
        self.assertEqual(self.call(tok, "GET", f"/fhir/Observation/{LAB_ID}").status, 200)
        self.assertEqual(self.call(tok, "GET", f"/fhir/Observation/{VITAL_ID}").status, 404)

    def test_granular_scope_applies_to_includes(self):
        # KNOWN LEAK, search-engine side (owner: search helper). AccessScope::granular is applied
        # only to the match query in SqliteStore::Search (src/store/sqlite/sqlite_store.cc, the
        # `for (const auto& g : scope.granular)` loop in build_where). The include and revinclude
        # fetches of the same function, and the chain and _has subqueries of
        # SqlBuilder::Condition (src/store/sql/search_sql.cc), restrict only by
        # SqlBuilder::Scope(), which ignores `granular`. So a lab-only token gets the hidden vital
        # signs as included resources. Fix: make SqlBuilder::Scope() (or every caller) add the
        # granular alternatives of `type` (as build_where does) wherever it restricts a type.
        tok = self.token(f"patient/Patient.rs patient/DiagnosticReport.rs "
                         f"patient/Observation.rs?category={LAB}")
        for q in [f"Patient?_id={A}&_revinclude=Observation:patient",
                  f"Patient?_id={A}&_revinclude=Observation:subject&_revinclude=*",
                  "DiagnosticReport?_id=iso-dr-vitals&_include=DiagnosticReport:result",
                  "DiagnosticReport?_include=*&_count=500",
                  f"Patient?_id={A}&_revinclude=DiagnosticReport:patient"
                  f"&_include:iterate=DiagnosticReport:result"]:
            with self.subTest(q=q):
                got = self.ids(self.call(tok, "GET", "/fhir/" + q))
                self.assertTrue(got, q)
                self.assertEqual(got - self.lab, set(), f"{q}: hidden Observations included")

    def test_granular_scope_applies_to_chains_and_has(self):
        # KNOWN LEAK, same cause as test_granular_scope_applies_to_includes: chain and _has
        # subqueries test hidden (non-matching) Observations, so their existence shows.
        tok = self.token(f"patient/Patient.rs patient/DiagnosticReport.rs "
                         f"patient/Observation.rs?category={LAB}")
        for q, rtype in [(f"Patient?_has:Observation:patient:category={VITALS}", "Patient"),
                         ("Patient?_has:Observation:patient:code=85354-9", "Patient"),
                         (f"DiagnosticReport?result:Observation.category={VITALS}",
                          "DiagnosticReport"),
                         ("DiagnosticReport?result:Observation._id=" + VITAL_ID,
                          "DiagnosticReport")]:
            with self.subTest(q=q):
                self.assertEqual(self.ids(self.call(tok, "GET", "/fhir/" + q), rtype), set(), q)
        # The controls: the same questions about visible results do answer.
        r = self.call(tok, "GET", f"/fhir/Patient?_has:Observation:patient:category={LAB}")
        self.assertEqual(self.ids(r, "Patient"), {A})

    # -- types the token may not read

    def test_includes_of_types_not_granted_are_left_out(self):
        tok = self.token("patient/Observation.rs patient/DiagnosticReport.rs")
        for q in ["DiagnosticReport?_include=*&_include:iterate=*",
                  "Observation?_include=Observation:subject&_include=Observation:encounter"
                  "&_revinclude=Provenance:target&_revinclude=*",
                  "DiagnosticReport?_include=DiagnosticReport:result&_include:iterate=*"
                  "&_revinclude:iterate=*"]:
            r = self.call(tok, "GET", "/fhir/" + q)
            self.assertEqual(r.status, 200, r.body[:200])
            types = {x["resourceType"] for x in bundle_resources(r)}
            self.assertTrue(types, q)
            self.assertLessEqual(types, {"Observation", "DiagnosticReport"}, q)
        eob = self.token("patient/ExplanationOfBenefit.read")
        r = self.call(eob, "GET", "/fhir/ExplanationOfBenefit?_include=*&_include:iterate=*"
                                  "&_revinclude=*")
        self.assertEqual({x["resourceType"] for x in bundle_resources(r)},
                         {"ExplanationOfBenefit"})

    def test_type_not_granted_is_403(self):
        tok = self.token("patient/Observation.rs")
        for path in ["/fhir/Patient", f"/fhir/Patient/{A}", "/fhir/Coverage",
                     f"/fhir/ExplanationOfBenefit?patient={A}", "/fhir/Organization/demo-payer",
                     f"/fhir/Patient/{A}/_history/1"]:
            self.assert_forbidden(self.call(tok, "GET", path), path)
        r = self.call(tok, "POST", "/fhir/Coverage/_search", f"patient={A}",
                      "application/x-www-form-urlencoded")
        self.assert_forbidden(r, "POST Coverage/_search")

    def test_own_fhir_user_needs_the_fhir_user_scope(self):
        without = self.token("patient/Observation.rs")
        self.assert_forbidden(self.call(without, "GET", f"/fhir/Patient/{A}"), "no fhirUser")
        with_scope = self.token("fhirUser patient/Observation.rs")
        self.assertEqual(self.call(with_scope, "GET", f"/fhir/Patient/{A}").status, 200)
        self.assertEqual(self.call(with_scope, "GET", f"/fhir/Patient/{A}/_history/1").status,
                         200)
        # fhirUser is about the one resource: no search, no other patient.
        self.assert_forbidden(self.call(with_scope, "GET", "/fhir/Patient"), "Patient search")
        self.assert_forbidden(self.call(with_scope, "GET", "/fhir/Patient/iso-member-b"),
                              "other patient")


if __name__ == "__main__":
    unittest.main()
