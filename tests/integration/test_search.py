"""FHIR search over the shared fixtures (issue 3): one case per requirements.md section H search,
plus modifiers, prefixes, composites, chains, includes, paging and errors.

Each expected id set is computed here, by a small independent oracle that reads the fixture files
directly (the same files the server imports) with the FHIR R4 search rules written out in Python;
nothing is recorded from the server. Every search runs as GET and as POST [type]/_search with the
token of a patient (the Patient Access API path), follows every `next` link, and must return
exactly the expected ids.
"""

import datetime
import glob
import os
import re
import shutil
import tempfile
import unicodedata
import unittest
import urllib.parse

from portico_test import (Server, add_user, authorize, exchange, fixtures_dir, register_client,
                          run)
from test_core import INVALID_FIXTURES, expected_resources

SYNTHEA = "7a7ac0a5-6bd2-4745-b2ea-6e768832d48e"  # cpcds Synthea member: EOBs, meds, allergies
SYNTHEA2 = "d831ec91-c7a3-4a61-9312-7ff0c4a32134"  # Inferno reference-server patient
USCORE = "example"  # US Core 3.1.1 examples
PDEX = "999"  # PDex member: EOB, Coverage, MedicationDispense
CARIN = "Patient1"  # CARIN BB: 4 EOBs closed under references
PATIENTS = [SYNTHEA, SYNTHEA2, USCORE, PDEX, CARIN, "ExamplePatient1"]

# ---- oracle: FHIR values --------------------------------------------------------------------

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
NEG_INF, POS_INF = -(2 ** 62), 2 ** 62
DATE_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
                     r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def date_range(text):
    """[lo, hi) in ms since the epoch that a FHIR date/dateTime/instant covers at its precision.
    No zone = UTC."""
    m = DATE_RE.match(text)
    assert m, text
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    offset = datetime.timedelta(0)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        offset = sign * datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    utc = datetime.timezone.utc

    def ms(dt):
        return int((dt - offset - EPOCH).total_seconds() * 1000)

    if mo is None:
        return ms(datetime.datetime(int(y), 1, 1, tzinfo=utc)), \
            ms(datetime.datetime(int(y) + 1, 1, 1, tzinfo=utc))
    if d is None:
        start = datetime.datetime(int(y), int(mo), 1, tzinfo=utc)
        nxt = datetime.datetime(int(y) + (int(mo) == 12), int(mo) % 12 + 1, 1, tzinfo=utc)
        return ms(start), ms(nxt)
    day = datetime.datetime(int(y), int(mo), int(d), tzinfo=utc)
    if hh is None:
        return ms(day), ms(day + datetime.timedelta(days=1))
    t = day + datetime.timedelta(hours=int(hh), minutes=int(mi))
    if ss is None:
        return ms(t), ms(t + datetime.timedelta(minutes=1))
    t += datetime.timedelta(seconds=int(ss))
    if frac:
        t += datetime.timedelta(microseconds=int(round(float(frac) * 1e6)))
        return ms(t), ms(t) + 1
    return ms(t), ms(t + datetime.timedelta(seconds=1))


def value_range(v):
    """The range of a date-like element: string, Period (open ends are infinite)."""
    if isinstance(v, str):
        return date_range(v)
    if isinstance(v, dict) and ("start" in v or "end" in v):
        lo = date_range(v["start"])[0] if "start" in v else NEG_INF
        hi = date_range(v["end"])[1] if "end" in v else POS_INF
        return lo, hi
    return None


def prefix_match(prefix, target, search):
    """R4 search.html#prefix, target and search ranges as [lo, hi)."""
    lo, hi = target
    vlo, vhi = search
    eq = lo >= vlo and hi <= vhi
    if prefix == "eq":
        return eq
    if prefix == "ne":
        return not eq
    if prefix == "gt":
        return hi > vhi
    if prefix == "lt":
        return lo < vlo
    if prefix == "ge":
        return hi > vhi or eq
    if prefix == "le":
        return lo < vlo or eq
    if prefix == "sa":
        return lo >= vhi
    if prefix == "eb":
        return hi <= vlo
    raise AssertionError(prefix)


def get_path(node, path):
    """Values reached by a dotted path, walking arrays implicitly."""
    items = [node]
    for step in path.split("."):
        nxt = []
        for it in items:
            if isinstance(it, list):
                it_list = it
            else:
                it_list = [it]
            for x in it_list:
                if isinstance(x, dict) and step in x:
                    v = x[step]
                    nxt.extend(v if isinstance(v, list) else [v])
        items = nxt
    return items


def codes(res, *paths):
    """(system, code) pairs of CodeableConcept/Coding/code/Identifier values."""
    out = set()
    for p in paths:
        for v in get_path(res, p):
            if isinstance(v, str):
                out.add((None, v))
            elif isinstance(v, dict):
                for c in v.get("coding", []):
                    out.add((c.get("system"), c.get("code")))
                if "code" in v and isinstance(v["code"], str):
                    out.add((v.get("system"), v["code"]))
                if "value" in v and isinstance(v["value"], str):
                    out.add((v.get("system"), v["value"]))
    return out


def has_code(res, paths, code, system=None):
    return any(c == code and (system is None or s == system) for s, c in codes(res, *paths))


def dates(res, *paths):
    return [r for p in paths for v in get_path(res, p) for r in [value_range(v)] if r]


def ref_ids(res, path, rtype):
    out = set()
    for v in get_path(res, path):
        ref = v.get("reference", "") if isinstance(v, dict) else ""
        parts = ref.split("/")
        if len(parts) >= 2 and parts[-2] == rtype:
            out.add(parts[-1])
    return out


def norm(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s)
                   if not unicodedata.combining(c)).lower()


def strings(res, path):
    """String values of an element (HumanName/Address parts included)."""
    out = []
    for v in get_path(res, path):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                if k in ("use", "system", "id", "type", "extension", "period"):
                    continue
                out.extend([x] if isinstance(x, str) else [y for y in x if isinstance(y, str)]
                           if isinstance(x, list) else [])
    return out


# Where each type names its patient (the `patient` search parameter).
PATIENT_FIELD = {
    "ExplanationOfBenefit": "patient", "AllergyIntolerance": "patient",
    "Immunization": "patient", "Device": "patient", "Coverage": "beneficiary",
}


def of_patient(res, pid):
    return pid in ref_ids(res, PATIENT_FIELD.get(res["resourceType"], "subject"), "Patient")


class Fixtures:
    """All resources of the valid fixture files, as the import stores them."""

    def __init__(self, root):
        self.by_key = {}
        files = sorted(glob.glob(os.path.join(root, "**", "*.json"), recursive=True))
        for f in files:
            if os.path.relpath(f, root) in INVALID_FIXTURES:
                continue
            self.by_key.update(expected_resources(f))

    def of_type(self, rtype):
        return [r for (t, _), r in self.by_key.items() if t == rtype]

    def ids(self, rtype, pred):
        return {r["id"] for r in self.of_type(rtype) if pred(r)}


# ---- the test -------------------------------------------------------------------------------

class SearchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-search-")
        root = fixtures_dir()
        db = os.path.join(cls.dir, "search.db")
        proc = run("import", "--db", f"sqlite:{db}", root, check=False)
        assert proc.returncode == 1 and f"{len(INVALID_FIXTURES)} files failed" in proc.stdout, \
            proc.stdout + proc.stderr
        cls.fx = Fixtures(root)
        _, cls.secret = register_client(db, "search-app")
        for p in PATIENTS:
            add_user(db, "u-" + p, "pw-search-0123456789", patient=p)
        cls.server = Server(db)
        cls.tokens = {}

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, True)

    def token(self, patient):
        if patient not in self.tokens:
            redirect = "http://app.example/cb"
            res, verifier = authorize(self.server, "search-app", redirect,
                                      "launch/patient openid fhirUser patient/*.read",
                                      "u-" + patient, "pw-search-0123456789")
            self.assertIn("code", res, res)
            t = exchange(self.server, res["code"], verifier, "search-app", self.secret, redirect)
            self.assertEqual(t.status, 200, t.body)
            self.tokens[patient] = t.json()["access_token"]
        return self.tokens[patient]

    def headers(self, patient, extra=None):
        h = {"Authorization": "Bearer " + self.token(patient)}
        h.update(extra or {})
        return h

    def fetch_all(self, patient, url, method="GET", body=None):
        """Follows next links; returns (match ids in order, include keys, bundles)."""
        ids, incs, bundles = [], set(), []
        headers = self.headers(patient)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        r = self.server.request(method, url, body=body, headers=headers)
        for _ in range(200):
            self.assertEqual(r.status, 200, f"{url}: {r.body[:400]}")
            b = r.json()
            bundles.append(b)
            for e in b.get("entry", []):
                mode = e["search"]["mode"]
                if mode == "match":
                    ids.append(e["resource"]["id"])
                elif mode == "include":
                    incs.add((e["resource"]["resourceType"], e["resource"]["id"]))
            nxt = [link["url"] for link in b["link"] if link["relation"] == "next"]
            if not nxt:
                return ids, incs, bundles
            r = self.server.request("GET", nxt[0], headers=self.headers(patient), raw_url=True)
        raise AssertionError("too many pages")

    def search(self, patient, rtype, query, expected, includes=None, count=None):
        """GET and POST must both return exactly `expected` (and `includes`)."""
        q = query + (f"&_count={count}" if count else "")
        got_get, inc_get, bundles = self.fetch_all(patient, f"/fhir/{rtype}?{q}")
        got_post, inc_post, _ = self.fetch_all(patient, f"/fhir/{rtype}/_search", "POST", q)
        label = f"{rtype}?{query} as {patient}"
        if os.environ.get("PORTICO_SEARCH_DEBUG"):
            print(len(expected), label)
        self.assertEqual(len(got_get), len(set(got_get)), f"duplicates: {label}")
        self.assertEqual(set(got_get), set(expected), label)
        self.assertEqual(sorted(got_post), sorted(got_get), f"POST differs: {label}")
        self.assertEqual(inc_post, inc_get, f"POST includes differ: {label}")
        if includes is not None:
            self.assertEqual(inc_get, set(includes), f"includes: {label}")
        if "_total=none" not in query:
            self.assertEqual(bundles[0].get("total"), len(expected), f"total: {label}")
        return got_get, inc_get, bundles

    def visible(self, pid, key):
        """Whether a patient token may see an included resource: the Patient itself, a Coverage
        naming the patient (the import keeps the last file of a duplicated id: pdex's
        Coverage1 belongs to Patient/1, not to CARIN's Patient1), or a shared resource (here
        always reached through the patient's own EOB)."""
        rtype, rid = key
        r = self.fx.by_key[key]
        if rtype == "Patient":
            return rid == pid
        if rtype == "Coverage":
            return any(pid in ref_ids(r, f, "Patient")
                       for f in ("beneficiary", "subscriber", "policyHolder", "payor"))
        return rtype in ("Organization", "Practitioner", "PractitionerRole", "Location",
                         "Medication")

    def mine(self, rtype, patient, pred=lambda r: True):
        return self.fx.ids(rtype, lambda r: of_patient(r, patient) and pred(r))

    # -- section H, resource by resource ---------------------------------------------------

    def test_patient(self):
        fx = self.fx
        p = fx.by_key[("Patient", SYNTHEA)]
        family = p["name"][0]["family"]
        ident = p["identifier"][1]
        self.search(SYNTHEA, "Patient", f"_id={SYNTHEA}", {SYNTHEA})
        self.search(SYNTHEA, "Patient", "identifier=" + urllib.parse.quote(
            f"{ident['system']}|{ident['value']}"), {SYNTHEA})
        self.search(SYNTHEA, "Patient", "identifier=" + urllib.parse.quote(ident["value"]),
                    {SYNTHEA})
        self.search(SYNTHEA, "Patient", "name=" + family[:3].upper(), {SYNTHEA})
        self.search(SYNTHEA, "Patient", f"birthdate={p['birthDate']}&name={family}", {SYNTHEA})
        self.search(SYNTHEA, "Patient", f"gender={p['gender']}&name={family}", {SYNTHEA})
        self.search(SYNTHEA, "Patient", f"birthdate={p['birthDate']}&family={family}", {SYNTHEA})
        self.search(SYNTHEA, "Patient", f"family={family}&gender={p['gender']}", {SYNTHEA})
        self.search(SYNTHEA, "Patient", "gender=" + ("male" if p["gender"] == "female"
                                                      else "female"), set())
        # The token reaches one patient: another member's id finds nothing.
        self.search(SYNTHEA, "Patient", f"_id={USCORE}", set())
        # :exact and :contains on the US Core example (name Amy V. Shaw).
        self.search(USCORE, "Patient", "family:exact=Shaw", {USCORE})
        self.search(USCORE, "Patient", "family:exact=shaw", set())
        self.search(USCORE, "Patient", "name:contains=ha", {USCORE})
        self.search(USCORE, "Patient", "name:contains=zz", set())

    def test_allergy_condition_device(self):
        for pid in (SYNTHEA, USCORE, PDEX):
            self.search(pid, "AllergyIntolerance", f"patient={pid}",
                        self.mine("AllergyIntolerance", pid))
            self.search(pid, "AllergyIntolerance", f"patient={pid}&clinical-status=active",
                        self.mine("AllergyIntolerance", pid,
                                  lambda r: has_code(r, ["clinicalStatus"], "active")))
            self.search(pid, "Device", f"patient={pid}", self.mine("Device", pid))
        dev = self.mine("Device", USCORE)
        some = self.fx.by_key[("Device", sorted(dev)[0])]
        (sys_, code) = sorted(codes(some, "type"), key=str)[0]
        self.search(USCORE, "Device", f"patient={USCORE}&type={sys_}|{code}",
                    self.mine("Device", USCORE, lambda r: has_code(r, ["type"], code, sys_)))
        pid = SYNTHEA2
        self.search(pid, "Condition", f"patient={pid}", self.mine("Condition", pid))
        for cat in ("problem-list-item", "encounter-diagnosis", "health-concern"):
            self.search(pid, "Condition", f"patient={pid}&category={cat}",
                        self.mine("Condition", pid, lambda r: has_code(r, ["category"], cat)))
        self.search(pid, "Condition", f"patient={pid}&clinical-status=active,recurrence",
                    self.mine("Condition", pid, lambda r: has_code(r, ["clinicalStatus"], "active")
                              or has_code(r, ["clinicalStatus"], "recurrence")))
        cond = sorted(self.mine("Condition", pid))[0]
        code = sorted(c for s, c in codes(self.fx.by_key[("Condition", cond)], "code")
                      if s == "http://snomed.info/sct")[0]
        self.search(pid, "Condition", f"patient=Patient/{pid}&code=http://snomed.info/sct|{code}",
                    self.mine("Condition", pid, lambda r: has_code(r, ["code"], code,
                                                                    "http://snomed.info/sct")))
        for prefix, value in (("ge", "2015-01-01"), ("lt", "2000"), ("gt", "2016-05"),
                              ("le", "2010-06-15")):
            rng = date_range(value)
            self.search(pid, "Condition", f"patient={pid}&onset-date={prefix}{value}",
                        self.mine("Condition", pid, lambda r: any(
                            prefix_match(prefix, d, rng)
                            for d in dates(r, "onsetDateTime", "onsetPeriod"))))

    def test_diagnostic_report_and_document_reference(self):
        for pid in (SYNTHEA2, USCORE):
            mine = lambda t, f=lambda r: True: self.mine(t, pid, f)  # noqa: E731
            self.search(pid, "DiagnosticReport", f"patient={pid}", mine("DiagnosticReport"))
            self.search(pid, "DiagnosticReport", f"patient={pid}&category=LAB",
                        mine("DiagnosticReport", lambda r: has_code(r, ["category"], "LAB")))
            self.search(pid, "DiagnosticReport",
                        f"patient={pid}&category=http://terminology.hl7.org/CodeSystem/v2-0074|LAB"
                        "&date=ge2010-01-01",
                        mine("DiagnosticReport", lambda r: has_code(
                            r, ["category"], "LAB", "http://terminology.hl7.org/CodeSystem/v2-0074")
                             and any(prefix_match("ge", d, date_range("2010-01-01"))
                                     for d in dates(r, "effectiveDateTime", "effectivePeriod"))))
            self.search(pid, "DiagnosticReport", f"patient={pid}&status=final,amended",
                        mine("DiagnosticReport", lambda r: r.get("status") in ("final", "amended")))
            self.search(pid, "DocumentReference", f"patient={pid}", mine("DocumentReference"))
            self.search(pid, "DocumentReference", f"patient={pid}&category=clinical-note",
                        mine("DocumentReference",
                             lambda r: has_code(r, ["category"], "clinical-note")))
            self.search(pid, "DocumentReference", f"patient={pid}&type=http://loinc.org|34117-2",
                        mine("DocumentReference",
                             lambda r: has_code(r, ["type"], "34117-2", "http://loinc.org")))
            self.search(pid, "DocumentReference", f"patient={pid}&status=current",
                        mine("DocumentReference", lambda r: r.get("status") == "current"))
            self.search(pid, "DocumentReference",
                        f"patient={pid}&category=clinical-note&date=lt2019-06",
                        mine("DocumentReference",
                             lambda r: has_code(r, ["category"], "clinical-note")
                             and any(prefix_match("lt", d, date_range("2019-06"))
                                     for d in dates(r, "date"))))
        dr = sorted(self.mine("DiagnosticReport", USCORE))[0]
        code = sorted(c for _, c in codes(self.fx.by_key[("DiagnosticReport", dr)], "code"))[0]
        self.search(USCORE, "DiagnosticReport", f"patient={USCORE}&code={code}",
                    self.mine("DiagnosticReport", USCORE, lambda r: has_code(r, ["code"], code)))
        doc = sorted(self.mine("DocumentReference", SYNTHEA2))[0]
        self.search(SYNTHEA2, "DocumentReference", f"_id={doc}", {doc})

    def test_encounter_immunization_procedure(self):
        pid = SYNTHEA2
        mine = lambda t, f=lambda r: True: self.mine(t, pid, f)  # noqa: E731
        enc = sorted(mine("Encounter"))
        self.search(pid, "Encounter", f"patient={pid}", set(enc))
        self.search(pid, "Encounter", f"_id={enc[0]}", {enc[0]})
        self.search(pid, "Encounter", f"date=ge2018-01-01&patient={pid}",
                    mine("Encounter", lambda r: any(prefix_match("ge", d, date_range("2018-01-01"))
                                                    for d in dates(r, "period"))))
        self.search(pid, "Encounter", f"class=AMB&patient={pid}",
                    mine("Encounter", lambda r: has_code(r, ["class"], "AMB")))
        self.search(pid, "Encounter", f"patient={pid}&status=finished",
                    mine("Encounter", lambda r: r.get("status") == "finished"))
        e0 = self.fx.by_key[("Encounter", enc[0])]
        tcode = sorted(c for _, c in codes(e0, "type"))[0]
        self.search(pid, "Encounter", f"patient={pid}&type={tcode}",
                    mine("Encounter", lambda r: has_code(r, ["type"], tcode)))
        if e0.get("identifier"):
            ident = e0["identifier"][0]["value"]
            self.search(pid, "Encounter", f"identifier={ident}",
                        mine("Encounter", lambda r: has_code(r, ["identifier"], ident)))
        for pid2 in (SYNTHEA, SYNTHEA2):
            self.search(pid2, "Immunization", f"patient={pid2}", self.mine("Immunization", pid2))
            self.search(pid2, "Immunization", f"patient={pid2}&date=lt2015",
                        self.mine("Immunization", pid2, lambda r: any(
                            prefix_match("lt", d, date_range("2015"))
                            for d in dates(r, "occurrenceDateTime"))))
            self.search(pid2, "Immunization", f"patient={pid2}&status=completed",
                        self.mine("Immunization", pid2, lambda r: r.get("status") == "completed"))
        self.search(pid, "Procedure", f"patient={pid}", mine("Procedure"))
        self.search(pid, "Procedure", f"patient={pid}&date=ge2017-03-01T00:00:00Z",
                    mine("Procedure", lambda r: any(
                        prefix_match("ge", d, date_range("2017-03-01T00:00:00Z"))
                        for d in dates(r, "performedDateTime", "performedPeriod"))))
        self.search(pid, "Procedure", f"patient={pid}&status=completed,in-progress",
                    mine("Procedure", lambda r: r.get("status") in ("completed", "in-progress")))

    def test_observation(self):
        pid = USCORE
        mine = lambda f=lambda r: True: self.mine("Observation", pid, f)  # noqa: E731
        odate = lambda r: dates(r, "effectiveDateTime", "effectivePeriod",  # noqa: E731
                                "effectiveInstant")
        for cat in ("laboratory", "vital-signs", "social-history"):
            self.search(pid, "Observation", f"patient={pid}&category={cat}",
                        mine(lambda r: has_code(r, ["category"], cat)))
        self.search(pid, "Observation", f"patient={pid}&code=http://loinc.org|8867-4",
                    mine(lambda r: has_code(r, ["code"], "8867-4", "http://loinc.org")))
        self.search(pid, "Observation", f"patient={pid}&code=8867-4,9279-1,8310-5",
                    mine(lambda r: any(has_code(r, ["code"], c)
                                       for c in ("8867-4", "9279-1", "8310-5"))))
        self.search(pid, "Observation", f"patient={pid}&category=vital-signs&status=final",
                    mine(lambda r: has_code(r, ["category"], "vital-signs")
                         and r.get("status") == "final"))
        # Every prefix on patient+category+date, incl. the +01:00 instant of satO2-fiO2
        # (2014-12-05T08:30:10Z) and the partial dates of the other examples.
        for prefix in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"):
            for value in ("2005-07-05", "2005", "1999-07", "2014-12-05T08:30:10Z",
                          "2014-12-05T09:30:10Z", "2014-12-05T09:30:10+01:00", "2014-12-05"):
                rng = date_range(value)
                q = f"patient={pid}&category=laboratory&date={prefix}{urllib.parse.quote(value)}"
                self.search(pid, "Observation", q, mine(
                    lambda r: has_code(r, ["category"], "laboratory")
                    and any(prefix_match(prefix, d, rng) for d in odate(r))))
        # ap: within about 10 % of the distance to now; 2005-07-05 is far from every other date.
        self.search(pid, "Observation", f"patient={pid}&date=ap2005-07-05",
                    mine(lambda r: any(d[0] < date_range("2007-01-01")[0] and
                                       d[1] > date_range("2003-12-31")[0] for d in odate(r))))
        self.search(pid, "Observation", f"patient={pid}&code=http://loinc.org|8867-4&date=1999",
                    mine(lambda r: has_code(r, ["code"], "8867-4") and any(
                        prefix_match("eq", d, date_range("1999")) for d in odate(r))))
        # Synthea: laboratory for a member with many observations, paged by 7.
        pid = SYNTHEA
        self.search(pid, "Observation", f"patient={pid}&category=laboratory",
                    self.mine("Observation", pid,
                              lambda r: has_code(r, ["category"], "laboratory")), count=7)

    def test_composites_and_quantities(self):
        pid = USCORE
        mine = lambda f: self.mine("Observation", pid, f)  # noqa: E731

        def qty(r, path, pred, code=None):
            return any(pred(v["value"]) and (code is None or v.get("code") == code)
                       for v in get_path(r, path) if isinstance(v, dict) and "value" in v)

        def comp(r, code, pred):
            return any(has_code(c, ["code"], code) and qty(c, "valueQuantity", pred)
                       for c in r.get("component", []))

        self.search(pid, "Observation", "code-value-quantity=http://loinc.org|8867-4$gt40",
                    mine(lambda r: has_code(r, ["code"], "8867-4")
                         and qty(r, "valueQuantity", lambda v: v > 40)))
        self.search(pid, "Observation", "code-value-quantity=8867-4$lt40", set())
        self.search(pid, "Observation",
                    "component-code-value-quantity=http://loinc.org|8480-6$gt100",
                    mine(lambda r: comp(r, "8480-6", lambda v: v > 100)))
        # The systolic and diastolic values must come from the same component.
        self.search(pid, "Observation", "component-code-value-quantity=8462-4$gt100",
                    mine(lambda r: comp(r, "8462-4", lambda v: v > 100)))
        self.search(pid, "Observation", "combo-code-value-quantity=8480-6$ge100,8867-4$ge40",
                    mine(lambda r: comp(r, "8480-6", lambda v: v >= 100) or (
                        has_code(r, ["code"], "8867-4") and qty(r, "valueQuantity",
                                                                lambda v: v >= 40))))
        self.search(pid, "Observation",
                    "value-quantity=lt100|http://unitsofmeasure.org|kg",
                    mine(lambda r: qty(r, "valueQuantity", lambda v: v < 100, "kg")))
        self.search(pid, "Observation", "value-quantity=ap44",
                    mine(lambda r: qty(r, "valueQuantity", lambda v: 39.6 <= v <= 48.4)))
        self.search(pid, "Observation", "code-value-concept=72166-2$" +
                    "http://snomed.info/sct|428041000124106",
                    mine(lambda r: has_code(r, ["code"], "72166-2") and has_code(
                        r, ["valueCodeableConcept"], "428041000124106")))

    def test_modifiers(self):
        pid = USCORE
        mine = lambda f: self.mine("Observation", pid, f)  # noqa: E731
        self.search(pid, "Observation", f"patient={pid}&category:not=laboratory",
                    mine(lambda r: not has_code(r, ["category"], "laboratory")))
        self.search(pid, "Observation", f"patient={pid}&value-quantity:missing=true",
                    mine(lambda r: "valueQuantity" not in r))
        self.search(pid, "Observation", f"patient={pid}&value-quantity:missing=false",
                    mine(lambda r: "valueQuantity" in r))
        # :missing is about the parameter's values: a Reference with only a display (the US Core
        # vital-sign examples: {"display": "GP Visit"}) has no searchable value.
        self.search(pid, "Observation", f"patient={pid}&encounter:missing=true",
                    mine(lambda r: "reference" not in r.get("encounter", {})))
        self.search(pid, "Observation", f"patient={pid}&encounter:missing=false",
                    mine(lambda r: "reference" in r.get("encounter", {})))
        self.search(pid, "Observation", f"patient={pid}&date:missing=true",
                    mine(lambda r: not any(k.startswith("effective") for k in r)))
        self.search(pid, "Observation", f"patient={pid}&code:text=heart",
                    mine(lambda r: norm(r["code"].get("text", "")).startswith("heart") or any(
                        norm(c.get("display", "")).startswith("heart")
                        for c in r["code"].get("coding", []) if not r["code"].get("text"))))
        self.search(pid, "Observation", f"patient={pid}&code=http://loinc.org|",
                    mine(lambda r: any(s == "http://loinc.org" for s, _ in codes(r, "code"))))
        self.search(pid, "Observation", f"patient={pid}&code=|8867-4", set())
        self.search(pid, "Observation", f"subject:Patient={pid}&code=8867-4",
                    mine(lambda r: has_code(r, ["code"], "8867-4")))
        self.search(pid, "Observation", f"subject={self.server.base}/Patient/{pid}&code=8867-4",
                    mine(lambda r: has_code(r, ["code"], "8867-4")))
        # :of-type on identifiers (Synthea patients carry an MR-typed identifier).
        p = self.fx.by_key[("Patient", SYNTHEA)]
        mr = next(i for i in p["identifier"]
                  if has_code(i, ["type"], "MR"))
        typ = next(c for c in mr["type"]["coding"] if c["code"] == "MR")
        self.search(SYNTHEA, "Patient", "identifier:of-type=" + urllib.parse.quote(
            f"{typ['system']}|MR|{mr['value']}"), {SYNTHEA})
        self.search(SYNTHEA, "Patient", "identifier:of-type=" + urllib.parse.quote(
            f"{typ['system']}|SS|{mr['value']}"), set())
        # _lastUpdated, _profile, _tag, _security
        self.search(pid, "Observation", f"patient={pid}&_lastUpdated=gt2000-01-01",
                    mine(lambda r: True))
        self.search(pid, "Observation", f"patient={pid}&_lastUpdated=lt2000-01-01", set())
        prof = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
        self.search(pid, "Observation", f"patient={pid}&_profile={prof}",
                    mine(lambda r: prof in r.get("meta", {}).get("profile", [])))
        self.search(pid, "Observation", f"patient={pid}&_tag=nothing-here", set())

    def test_medications_and_includes(self):
        pid = SYNTHEA
        mine = lambda t, f=lambda r: True: self.mine(t, pid, f)  # noqa: E731
        self.search(pid, "MedicationRequest", f"patient={pid}&intent=order",
                    mine("MedicationRequest", lambda r: r.get("intent") == "order"))
        self.search(pid, "MedicationRequest", f"patient={pid}&intent=order,plan&status=active",
                    mine("MedicationRequest", lambda r: r.get("intent") in ("order", "plan")
                         and r.get("status") == "active"))
        self.search(pid, "MedicationRequest",
                    f"patient={pid}&intent=order&authoredon=ge2015-01-01",
                    mine("MedicationRequest", lambda r: r.get("intent") == "order" and any(
                        prefix_match("ge", d, date_range("2015-01-01"))
                        for d in dates(r, "authoredOn"))))
        # _include=MedicationRequest:medication returns only referenced Medications.
        pid = USCORE
        mrs = self.mine("MedicationRequest", pid)
        meds = {("Medication", m) for r in mrs
                for m in ref_ids(self.fx.by_key[("MedicationRequest", r)],
                                 "medicationReference", "Medication")}
        self.search(pid, "MedicationRequest",
                    f"patient={pid}&intent=order&_include=MedicationRequest:medication",
                    self.mine("MedicationRequest", pid, lambda r: r.get("intent") == "order"),
                    includes={m for m in meds if any(
                        m[1] in ref_ids(self.fx.by_key[("MedicationRequest", r)],
                                        "medicationReference", "Medication")
                        for r in self.mine("MedicationRequest", pid,
                                           lambda r: r.get("intent") == "order"))})
        self.assertTrue(meds)
        # MedicationDispense (PDex) and Coverage (read only).
        self.search(PDEX, "MedicationDispense", f"patient={PDEX}",
                    self.mine("MedicationDispense", PDEX))
        self.search(PDEX, "MedicationDispense", f"patient={PDEX}&status=completed",
                    self.mine("MedicationDispense", PDEX, lambda r: r.get("status") == "completed"))

    def test_careplan_careteam_goal(self):
        pid = SYNTHEA2
        self.search(pid, "CarePlan", f"patient={pid}&category=assess-plan",
                    self.mine("CarePlan", pid, lambda r: has_code(r, ["category"], "assess-plan")))
        self.search(pid, "CarePlan", f"patient={pid}&category=assess-plan&status=active",
                    self.mine("CarePlan", pid, lambda r: has_code(r, ["category"], "assess-plan")
                              and r.get("status") == "active"))
        self.search(pid, "CareTeam", f"patient={pid}&status=active",
                    self.mine("CareTeam", pid, lambda r: r.get("status") == "active"))
        pid = "74f20731-a639-40e1-b8fb-d0d739d53caf"
        self.search(USCORE, "Goal", f"patient={USCORE}", self.mine("Goal", USCORE))
        self.search(USCORE, "Goal", f"patient={USCORE}&lifecycle-status=active",
                    self.mine("Goal", USCORE, lambda r: r.get("lifecycleStatus") == "active"))
        self.search(USCORE, "Goal", f"patient={USCORE}&target-date=ge2016",
                    self.mine("Goal", USCORE, lambda r: any(
                        prefix_match("ge", d, date_range("2016"))
                        for d in dates(r, "target.dueDate"))))

    def test_explanation_of_benefit(self):
        fx = self.fx
        for pid in (SYNTHEA, CARIN, "ExamplePatient1", PDEX):
            eobs = self.mine("ExplanationOfBenefit", pid)
            self.assertTrue(eobs, pid)
            self.search(pid, "ExplanationOfBenefit", f"patient={pid}", eobs)
            one = sorted(eobs)[0]
            self.search(pid, "ExplanationOfBenefit", f"_id={one}", {one})
            self.search(pid, "ExplanationOfBenefit", f"_id={one}&patient={pid}&_lastUpdated=gt2001",
                        {one})
            r = fx.by_key[("ExplanationOfBenefit", one)]
            (tsys, tcode) = sorted(codes(r, "type"), key=str)[0]
            self.search(pid, "ExplanationOfBenefit", f"patient={pid}&type={tsys}|{tcode}",
                        self.mine("ExplanationOfBenefit", pid,
                                  lambda x: has_code(x, ["type"], tcode, tsys)))
            if r.get("identifier"):
                ident = r["identifier"][0]
                self.search(pid, "ExplanationOfBenefit", "identifier=" + urllib.parse.quote(
                    f"{ident.get('system', '')}|{ident['value']}"),
                    self.mine("ExplanationOfBenefit", pid, lambda x: has_code(
                        x, ["identifier"], ident["value"], ident.get("system"))))
            for prefix, value in (("ge", "2019-01-01"), ("lt", "2018"), ("eq", "2017-05")):
                rng = date_range(value)
                self.search(pid, "ExplanationOfBenefit", f"service-date={prefix}{value}",
                            self.mine("ExplanationOfBenefit", pid, lambda x: any(
                                prefix_match(prefix, d, rng)
                                for d in dates(x, "billablePeriod", "item.servicedDate",
                                               "item.servicedPeriod"))))
        # Every _include target of section H, on the CARIN member.
        pid = CARIN
        eobs = self.mine("ExplanationOfBenefit", pid)
        targets = {
            "patient": [("patient", "Patient")],
            "provider": [("provider", None)],
            "care-team": [("careTeam.provider", None)],
            "coverage": [("insurance.coverage", "Coverage")],
            "insurer": [("insurer", "Organization")],
        }
        everything = set()
        for name, paths in targets.items():
            inc = set()
            for e in eobs:
                for path, rtype in paths:
                    for v in get_path(fx.by_key[("ExplanationOfBenefit", e)], path):
                        parts = v.get("reference", "").split("/")
                        if len(parts) == 2 and (rtype is None or parts[0] == rtype) and \
                                tuple(parts) in fx.by_key and self.visible(pid, tuple(parts)):
                            inc.add(tuple(parts))
            everything |= inc
            self.search(pid, "ExplanationOfBenefit",
                        f"patient={pid}&_include=ExplanationOfBenefit:{name}", eobs, includes=inc)
        self.assertGreaterEqual(len(everything), 3)
        got, incs, _ = self.search(pid, "ExplanationOfBenefit",
                                   f"patient={pid}&_include=ExplanationOfBenefit:*", eobs)
        self.assertTrue(everything <= incs, everything - incs)

    def test_provenance_revinclude(self):
        for pid in (SYNTHEA, SYNTHEA2):
            provs = self.mine("Provenance", pid, lambda r: True) | self.fx.ids(
                "Provenance", lambda r: any(pid in ref_ids(r, "target", "Patient") for _ in [0]))
            targets = {(t.split("/")[0], t.split("/")[1]) for p in provs
                       for t in [x.get("reference", "")
                                 for x in self.fx.by_key[("Provenance", p)]["target"]]
                       if t.count("/") == 1}
            pats = {t[1] for t in targets if t[0] == "Patient"}
            self.assertIn(pid, pats)
            _, incs, _ = self.search(pid, "Patient", f"_id={pid}&_revinclude=Provenance:target",
                                     {pid})
            expected = {("Provenance", p) for p in provs
                        if ("Patient", pid) in {(t.split("/")[0], t.split("/")[-1]) for t in
                                                [x.get("reference", "") for x in
                                                 self.fx.by_key[("Provenance", p)]["target"]]}}
            self.assertEqual(incs, expected)

    def test_chain_has_and_reference_identifier(self):
        pid = CARIN
        p = self.fx.by_key[("Patient", pid)]
        ident = p["identifier"][0]
        eobs = self.mine("ExplanationOfBenefit", pid)
        self.search(pid, "ExplanationOfBenefit",
                    "patient.identifier=" + urllib.parse.quote(ident["value"]), eobs)
        self.search(pid, "ExplanationOfBenefit",
                    "patient.identifier=" + urllib.parse.quote("urn:x|" + ident["value"]), set())
        fam = p["name"][0]["family"]
        self.search(pid, "ExplanationOfBenefit", f"patient:Patient.family={fam}", eobs)
        # _has: the patient that has an EOB of this type.
        tcode = sorted(c for _, c in codes(
            self.fx.by_key[("ExplanationOfBenefit", sorted(eobs)[0])], "type"))[0]
        self.search(pid, "Patient", f"_has:ExplanationOfBenefit:patient:type={tcode}", {pid})
        self.search(pid, "Patient", "_has:ExplanationOfBenefit:patient:type=no-such", set())
        # Reference :identifier matches Reference.identifier (logical references).
        with_ident = self.fx.ids("ExplanationOfBenefit", lambda r: of_patient(r, pid) and any(
            isinstance(v, dict) and "identifier" in v for v in get_path(r, "provider")))
        for e in sorted(with_ident)[:1]:
            v = next(x for x in get_path(self.fx.by_key[("ExplanationOfBenefit", e)], "provider")
                     if "identifier" in x)["identifier"]
            self.search(pid, "ExplanationOfBenefit", "provider:identifier=" + urllib.parse.quote(
                f"{v.get('system', '')}|{v['value']}"), self.fx.ids(
                "ExplanationOfBenefit", lambda r: of_patient(r, pid) and any(
                    isinstance(x, dict) and x.get("identifier", {}).get("value") == v["value"]
                    for x in get_path(r, "provider"))))

    def test_shared_types_need_a_reference_from_the_member(self):
        pid = CARIN
        refd = set()
        for (t, i), r in self.fx.by_key.items():
            if of_patient(r, pid) or (t == "Patient" and i == pid):
                for path in ("provider", "insurer", "careTeam.provider", "payor",
                             "managingOrganization", "generalPractitioner"):
                    for v in get_path(r, path):
                        parts = v.get("reference", "").split("/") if isinstance(v, dict) else []
                        if len(parts) == 2:
                            refd.add(tuple(parts))
        orgs = {i for t, i in refd if t == "Organization" and ("Organization", i) in self.fx.by_key}
        self.assertTrue(orgs)
        some = self.fx.by_key[("Organization", sorted(orgs)[0])]
        word = some["name"].split()[0]
        self.search(pid, "Organization", "name=" + urllib.parse.quote(word.lower()),
                    {o for o in orgs if any(norm(s).startswith(norm(word)) for s in
                                            [self.fx.by_key[("Organization", o)].get("name", "")]
                                            + self.fx.by_key[("Organization", o)].get("alias",
                                                                                      []))})

    # -- result parameters, paging, errors ---------------------------------------------------

    def test_paging_links_are_stable_and_signed(self):
        pid = SYNTHEA
        expected = self.mine("Observation", pid)
        url = f"/fhir/Observation?patient={pid}&_count=10"
        ids, _, bundles = self.fetch_all(pid, url)
        self.assertEqual(set(ids), expected)
        self.assertEqual(len(ids), len(expected))
        first = bundles[0]
        rels = {link["relation"] for link in first["link"]}
        self.assertEqual(rels, {"self", "first", "next"})
        self.assertEqual(next(link["url"] for link in first["link"]
                              if link["relation"] == "self"),
                         f"{self.server.base}/Observation?patient={pid}&_count=10")
        # Walk back from the last page with previous links: the same pages in reverse.
        last = bundles[-1]
        back = []
        b = last
        while True:
            prev = [link["url"] for link in b["link"] if link["relation"] == "previous"]
            if not prev:
                break
            r = self.server.request("GET", prev[0], headers=self.headers(pid), raw_url=True)
            self.assertEqual(r.status, 200, r.body)
            b = r.json()
            back.append([e["resource"]["id"] for e in b["entry"]])
        pages = [[e["resource"]["id"] for e in x.get("entry", [])] for x in bundles]
        self.assertEqual(back, pages[-2::-1])
        # A tampered cursor (or one moved to a wider query) is refused.
        nxt = next(link["url"] for link in first["link"] if link["relation"] == "next")
        tampered = nxt.replace("_cursor=n", "_cursor=n1")
        self.assertEqual(self.server.request("GET", tampered, headers=self.headers(pid),
                                             raw_url=True).status, 400)
        moved = nxt.replace(f"patient={pid}", "patient=example")
        self.assertEqual(self.server.request("GET", moved, headers=self.headers(pid),
                                             raw_url=True).status, 400)
        # _count is clamped to the configured maximum and shown clamped in self.
        r = self.server.get(f"/fhir/Observation?patient={pid}&_count=100000",
                            self.headers(pid)).json()
        self.assertRegex(next(link["url"] for link in r["link"] if link["relation"] == "self"),
                         r"_count=\d+$")
        self.assertLessEqual(len(r["entry"]), 1000)

    def test_sort_keyset(self):
        pid = SYNTHEA
        obs = [self.fx.by_key[("Observation", i)] for i in self.mine("Observation", pid)]

        def key(r):
            d = dates(r, "effectiveDateTime", "effectivePeriod")
            return max(x[1] for x in d) if d else None

        for q in ("_sort=-date", "_sort=date", "_sort=-date,_id", "_sort=code,-date"):
            ids, _, _ = self.fetch_all(pid, f"/fhir/Observation?patient={pid}&{q}&_count=13")
            self.assertEqual(len(ids), len(obs), q)
            self.assertEqual(set(ids), {r["id"] for r in obs}, q)
            post, _, _ = self.fetch_all(pid, "/fhir/Observation/_search", "POST",
                                        f"patient={pid}&{q}&_count=13")
            self.assertEqual(post, ids, q)
        ids, _, _ = self.fetch_all(pid, f"/fhir/Observation?patient={pid}&_sort=-date&_count=9")
        by_id = {r["id"]: r for r in obs}
        keys = [key(by_id[i]) for i in ids]
        self.assertEqual(keys, sorted(keys, reverse=True))
        ids, _, _ = self.fetch_all(pid, f"/fhir/Observation?patient={pid}&_sort=_id&_count=9")
        self.assertEqual(ids, sorted(ids))

    def test_summary_elements_total(self):
        pid = USCORE
        h = self.headers(pid)
        r = self.server.get(f"/fhir/Observation?patient={pid}&_summary=count", h).json()
        self.assertEqual(r["total"], len(self.mine("Observation", pid)))
        self.assertNotIn("entry", r)
        r = self.server.get(f"/fhir/Patient?_id={pid}&_summary=true", h).json()
        res = r["entry"][0]["resource"]
        self.assertIn("name", res)
        self.assertIn("birthDate", res)
        self.assertNotIn("text", res)
        self.assertIn("SUBSETTED", str(res["meta"]))
        r = self.server.get(f"/fhir/Observation?patient={pid}&code=8867-4&_elements=status,value",
                            h).json()
        res = r["entry"][0]["resource"]
        self.assertEqual(set(res) - {"resourceType", "id", "meta"}, {"status", "valueQuantity"})
        r = self.server.get(f"/fhir/Observation?patient={pid}&_total=none", h).json()
        self.assertNotIn("total", r)
        r = self.server.get(f"/fhir/Observation?patient={pid}&_total=estimate", h).json()
        self.assertEqual(r["total"], len(self.mine("Observation", pid)))
        r = self.server.get(f"/fhir/Observation?patient={pid}&_summary=data", h).json()
        self.assertNotIn("text", r["entry"][0]["resource"])

    def test_self_link_and_unknown_parameters(self):
        pid = USCORE
        h = self.headers(pid)
        r = self.server.get(f"/fhir/Observation?patient={pid}&foo=bar&code=8867-4&_format=json"
                            "&_include=Nope:x", h)
        self.assertEqual(r.status, 200)
        b = r.json()
        self_url = next(link["url"] for link in b["link"] if link["relation"] == "self")
        self.assertEqual(self_url, f"{self.server.base}/Observation?patient={pid}&code=8867-4")
        self.assertEqual(b["entry"][-1]["search"]["mode"], "outcome")
        self.assertEqual(b["entry"][-1]["resource"]["issue"][0]["severity"], "warning")
        r = self.server.get(f"/fhir/Observation?patient={pid}&foo=bar",
                            self.headers(pid, {"Prefer": "handling=strict"}))
        self.assertEqual(r.status, 400)
        self.assertIn("foo", r.json()["issue"][0]["diagnostics"])

    def test_errors_name_the_parameter(self):
        pid = USCORE
        for q, name in (("date=2020-13-45", "date"), ("date=xx2020", "date"),
                        ("code:exact=1", "code"), ("date:contains=2020", "date"),
                        ("value-quantity=abc", "value-quantity"),
                        ("code-value-quantity=8867-4", "code-value-quantity"),
                        ("_count=-1", "_count"), ("_sort=nope", "nope"),
                        ("patient.nope=1", "patient.nope"), ("_summary=maybe", "_summary"),
                        ("_total=some", "_total")):
            r = self.server.get(f"/fhir/Observation?patient={pid}&{q}", self.headers(pid))
            self.assertEqual(r.status, 400, q)
            oo = r.json()
            self.assertEqual(oo["resourceType"], "OperationOutcome", q)
            self.assertIn(name, oo["issue"][0]["diagnostics"], q)


if __name__ == "__main__":
    unittest.main()
