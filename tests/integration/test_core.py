"""Resource server core: import of real data, read/vread/history, errors, limits (issue 2)."""

import glob
import json
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

from portico_test import (BIN, Server, TempDirTestCase, fixtures_dir, raw_http, run,
                          strip_meta)

# Files of ../shared/fixtures that are not valid FHIR R4 (see its README): placeholders in
# instant/dateTime fields and invalid base64.
INVALID_FIXTURES = {
    "carin-bb/cms-bfd-v2/coverageRead.json",
    "carin-bb/cms-bfd-v2/coverageSearchByPatientId.json",
    "carin-bb/cms-bfd-v2/eobByPatientIdAll.json",
    "carin-bb/cms-bfd-v2/eobReadCarrier.json",
    "carin-bb/cms-bfd-v2/eobReadInpatient.json",
    "carin-bb/cms-bfd-v2/eobReadOutpatient.json",
    "carin-bb/cms-bfd-v2/eobReadPde.json",
    "carin-bb/cms-bfd-v2/patientRead.json",
    "us-core/DiagnosticReport-cardiology-report.json",
    "synthea/inferno-reference-server/e91975f5-9445-c11f-cabf-c3c6dae161f2.json",
}


def expected_resources(path):
    """The resources a file should store, as {(type, id): resource}, applying the import rules:
    transaction urn:uuid references become Type/id."""
    with open(path) as f:
        doc = json.load(f)
    out = {}
    if doc.get("resourceType") != "Bundle" or doc.get("type") in ("document", "message"):
        out[(doc["resourceType"], doc["id"])] = doc
        return out
    urns = {}
    for e in doc.get("entry", []):
        r = e.get("resource")
        if r and e.get("fullUrl", "").startswith("urn:"):
            urns[e["fullUrl"]] = f"{r['resourceType']}/{r['id']}"

    def rewrite(v):
        if isinstance(v, dict):
            return {k: (urns.get(x, x) if k == "reference" and isinstance(x, str) else rewrite(x))
                    for k, x in v.items()}
        if isinstance(v, list):
            return [rewrite(x) for x in v]
        return v

    for e in doc.get("entry", []):
        r = e.get("resource")
        if not r or e.get("search", {}).get("mode") == "outcome":
            continue
        r = rewrite(r)
        out[(r["resourceType"], r["id"])] = r
    return out


class ImportFixturesTest(TempDirTestCase):
    """Loads every file of the shared fixtures and reads each resource back."""

    @classmethod
    def setUpClass(cls):
        cls.fixtures = fixtures_dir()

    def test_import_read_back_reimport(self):
        db = self.path("fixtures.db")
        proc = run("import", "--db", f"sqlite:{db}", self.fixtures, check=False)
        # The invalid files are rejected with their name; everything else loads.
        self.assertEqual(proc.returncode, 1, proc.stderr)
        for rel in INVALID_FIXTURES:
            self.assertIn(os.path.join(self.fixtures, rel) + ": not loaded", proc.stderr)
        self.assertIn(f"{len(INVALID_FIXTURES)} files failed", proc.stdout)
        self.assertIn("IGNORED_FIELD", proc.stderr)  # the reason is named
        self.assertRegex(proc.stderr, r"DiagnosticReport-cardiology-report\.json: entry -?\d*:? ?"
                         r"|DiagnosticReport-cardiology-report\.json: invalid")

        candidates = {}
        files = sorted(glob.glob(os.path.join(self.fixtures, "**", "*.json"), recursive=True))
        valid = [f for f in files if os.path.relpath(f, self.fixtures) not in INVALID_FIXTURES]
        self.assertGreaterEqual(len(valid), 150)
        for f in valid:
            for key, r in expected_resources(f).items():
                candidates.setdefault(key, []).append(strip_meta(r))

        server = Server(db)
        self.addCleanup(server.stop)
        server.operator_token()
        versions = {}
        for (rtype, rid), options in candidates.items():
            resp = server.get(f"/fhir/{rtype}/{rid}")
            self.assertEqual(resp.status, 200, f"{rtype}/{rid}: {resp.body[:300]}")
            self.assertTrue(resp.header("content-type").startswith("application/fhir+json"))
            got = resp.json()
            self.assertIn(strip_meta(got), options, f"{rtype}/{rid} content differs")
            vid = got["meta"]["versionId"]
            self.assertEqual(resp.header("etag"), f'W/"{vid}"')
            self.assertIsNotNone(resp.header("last-modified"))
            vread = server.get(f"/fhir/{rtype}/{rid}/_history/{vid}")
            self.assertEqual(vread.status, 200)
            self.assertEqual(vread.json(), got)
            versions[(rtype, rid)] = vid
        self.assertGreater(len(versions), 1900)

        # Re-importing the valid files changes nothing: no new versions.
        proc2 = run("import", "--db", f"sqlite:{db}", *valid, check=True)
        self.assertRegex(proc2.stdout, r" 0 created, 0 updated, \d+ unchanged")
        for (rtype, rid), vid in list(versions.items())[::50]:
            self.assertEqual(server.get(f"/fhir/{rtype}/{rid}").json()["meta"]["versionId"], vid)

    def test_transaction_urn_references_are_rewritten(self):
        db = self.path("synthea.db")
        path = os.path.join(self.fixtures, "synthea", "inferno-reference-server",
                            "d831ec91-c7a3-4a61-9312-7ff0c4a32134.json")
        run("import", "--db", f"sqlite:{db}", path)
        server = Server(db)
        self.addCleanup(server.stop)
        server.operator_token()
        with open(path) as f:
            bundle = json.load(f)
        enc = next(e["resource"] for e in bundle["entry"]
                   if e["resource"]["resourceType"] == "Encounter")
        got = server.get(f"/fhir/Encounter/{enc['id']}").json()
        self.assertRegex(got["subject"]["reference"], r"^Patient/[A-Za-z0-9\-.]+$")
        patient = server.get("/fhir/" + got["subject"]["reference"])
        self.assertEqual(patient.status, 200)


class BrokenInputTest(TempDirTestCase):
    """Bad files are reported with file, entry and reason, and leave the store unchanged."""

    def write(self, name, content):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return p

    def count(self, db):
        con = sqlite3.connect(db)
        try:
            return con.execute("SELECT COUNT(*) FROM resource").fetchone()[0], \
                con.execute("SELECT COUNT(*) FROM resource_version").fetchone()[0]
        finally:
            con.close()

    def test_each_kind_of_bad_input(self):
        db = self.path("broken.db")
        good = self.write("good.json", {"resourceType": "Patient", "id": "p1",
                                        "name": [{"family": "Good"}]})
        run("import", "--db", f"sqlite:{db}", good)
        before = self.count(db)
        cases = {
            "notjson.json": ('{"resourceType": "Patient", "id": ', "invalid JSON"),
            "nort.json": ({"id": "x"}, "no resourceType"),
            "unknown.json": ({"resourceType": "Spaceship", "id": "x"}, "unknown resourceType"),
            "badid.json": ({"resourceType": "Patient", "id": "bad id!"}, "not a valid FHIR id"),
            "entry.json": ({"resourceType": "Bundle", "type": "collection", "entry": [
                {"resource": {"resourceType": "Patient", "id": "ok1"}},
                {"resource": {"resourceType": "Patient", "id": "ok2"}},
                {"resource": {"resourceType": "Observation", "id": "o_1"}}]},
                "entry 2: id"),
            "badfield.json": ({"resourceType": "Patient", "id": "p9", "birthDate": "yesterday"},
                              "birthDate"),
        }
        for name, (content, reason) in cases.items():
            path = self.write(name, content)
            proc = run("import", "--db", f"sqlite:{db}", path, check=False)
            self.assertEqual(proc.returncode, 1, f"{name}: {proc.stdout} {proc.stderr}")
            self.assertIn(path, proc.stderr)
            self.assertIn(reason, proc.stderr, name)
            self.assertEqual(self.count(db), before, f"{name} changed the store")
        # A mixed run loads the good file and still exits non-zero.
        other = self.write("good2.json", {"resourceType": "Patient", "id": "p2"})
        proc = run("import", "--db", f"sqlite:{db}", other, self.path("entry.json"), check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(self.count(db)[0], before[0] + 1)
        missing = run("import", "--db", f"sqlite:{db}", self.path("nope.json"), check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("no such file", missing.stderr)

    def test_ndjson_and_versions(self):
        db = self.path("nd.db")
        lines = [{"resourceType": "Patient", "id": f"n{i}", "active": True} for i in range(5)]
        p = self.write("a.ndjson", "\n".join(json.dumps(x) for x in lines) + "\n")
        out = run("import", "--db", f"sqlite:{db}", p).stdout
        self.assertIn("5 created", out)
        lines[2]["active"] = False
        p = self.write("a.ndjson", "\n".join(json.dumps(x) for x in lines) + "\n")
        out = run("import", "--db", f"sqlite:{db}", p).stdout
        self.assertIn("0 created, 1 updated, 4 unchanged", out)
        server = Server(db)
        self.addCleanup(server.stop)
        server.operator_token()
        r = server.get("/fhir/Patient/n2")
        self.assertEqual(r.json()["meta"]["versionId"], "2")
        self.assertFalse(r.json()["active"])
        v1 = server.get("/fhir/Patient/n2/_history/1").json()
        self.assertTrue(v1["active"])
        hist = server.get("/fhir/Patient/n2/_history").json()
        self.assertEqual(hist["type"], "history")
        self.assertEqual([e["resource"]["meta"]["versionId"] for e in hist["entry"]], ["2", "1"])
        self.assertEqual(server.get("/fhir/Patient/n2/_history/3").status, 404)
        self.assertEqual(server.get("/fhir/Patient/n2/_history/x").status, 400)
        th = server.get("/fhir/Patient/_history?_count=2").json()
        self.assertEqual(len(th["entry"]), 2)
        self.assertTrue(any(l["relation"] == "next" for l in th["link"]))


class RepeatedResourcesTest(TempDirTestCase):
    """A resource given more than once in one run is stored once: its last valid copy."""

    def ndjson(self, name, resources):
        p = self.path(name)
        with open(p, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in resources))
        return p

    def versions(self, db, rtype, rid):
        con = sqlite3.connect(db)
        try:
            row = con.execute("SELECT version, body FROM resource WHERE type = ? AND id = ?",
                              (rtype, rid)).fetchone()
        finally:
            con.close()
        return (row[0], json.loads(row[1])) if row else None

    def test_the_last_copy_wins_without_extra_versions(self):
        db = self.path("rep.db")
        a = self.ndjson("a.ndjson", [{"resourceType": "Patient", "id": "x", "gender": "male"},
                                     {"resourceType": "Patient", "id": "y", "gender": "male"}])
        b = self.ndjson("b.ndjson", [{"resourceType": "Patient", "id": "x", "gender": "female"}])
        out = run("import", "--db", f"sqlite:{db}", a, b).stdout
        self.assertIn("2 created, 0 updated, 0 unchanged, 0 deleted, 1 superseded", out)
        version, body = self.versions(db, "Patient", "x")
        self.assertEqual((version, body["gender"]), (1, "female"))
        # The same run again changes nothing.
        out = run("import", "--db", f"sqlite:{db}", a, b).stdout
        self.assertIn("0 created, 0 updated, 2 unchanged", out)

    def test_a_failing_file_does_not_hide_an_earlier_copy(self):
        db = self.path("rep-fail.db")
        a = self.ndjson("a.ndjson", [{"resourceType": "Patient", "id": "x", "gender": "male"}])
        # b holds a later copy of x, but a bad line fails the whole file.
        b = self.ndjson("b.ndjson", [{"resourceType": "Patient", "id": "x", "gender": "female"},
                                     {"resourceType": "Patient", "id": "z", "gender": 7}])
        proc = run("import", "--db", f"sqlite:{db}", a, b, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("1 created", proc.stdout)
        version, body = self.versions(db, "Patient", "x")
        self.assertEqual((version, body["gender"]), (1, "male"))
        self.assertIsNone(self.versions(db, "Patient", "z"))


class RestBehaviourTest(TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.dir = tempfile.mkdtemp(prefix="portico-rest-")
        db = os.path.join(cls.dir, "rest.db")
        src = os.path.join(cls.dir, "data.json")
        with open(os.path.join(cls.dir, "dec.json"), "w") as f:
            # Written by hand: Python's json module would print 1.50 as 1.5.
            f.write('{"resourceType":"Observation","id":"dec","status":"final",'
                    '"code":{"text":"x"},"valueQuantity":{"value":1.50}}')
        run("import", "--db", f"sqlite:{db}", os.path.join(cls.dir, "dec.json"))
        with open(src, "w") as f:
            json.dump({"resourceType": "Bundle", "type": "transaction", "entry": [
                {"resource": {"resourceType": "Patient", "id": "r1", "active": True,
                              "text": {"status": "generated",
                                       "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">"
                                              + "x" * 3000 + "</div>"},
                              "name": [{"family": "Reader", "given": ["Rita"]}],
                              "birthDate": "1980-02-03"},
                 "request": {"method": "PUT", "url": "Patient/r1"}},
                {"resource": {"resourceType": "Patient", "id": "gone"},
                 "request": {"method": "PUT", "url": "Patient/gone"}}]}, f)
        run("import", "--db", f"sqlite:{db}", src)
        with open(src, "w") as f:
            json.dump({"resourceType": "Bundle", "type": "transaction", "entry": [
                {"request": {"method": "DELETE", "url": "Patient/gone"}}]}, f)
        run("import", "--db", f"sqlite:{db}", src)
        cls.server = Server(db, config="header_timeout_seconds = 2\n")
        cls.server.operator_token()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        import shutil
        shutil.rmtree(cls.dir, True)

    def test_metadata(self):
        r = self.server.get("/fhir/metadata")
        self.assertEqual(r.status, 200)
        cs = r.json()
        self.assertEqual(cs["resourceType"], "CapabilityStatement")
        self.assertEqual(cs["fhirVersion"], "4.0.1")
        self.assertIn("application/fhir+json", cs["format"])
        types = {x["type"] for x in cs["rest"][0]["resource"]}
        for t in ["Patient", "AllergyIntolerance", "CarePlan", "CareTeam", "Condition", "Device",
                  "DiagnosticReport", "DocumentReference", "Goal", "Immunization",
                  "MedicationRequest", "Observation", "Procedure", "Encounter", "Organization",
                  "Practitioner", "Provenance", "Coverage", "ExplanationOfBenefit"]:
            self.assertIn(t, types)
        patient = next(x for x in cs["rest"][0]["resource"] if x["type"] == "Patient")
        names = {p["name"] for p in patient["searchParam"]}
        self.assertTrue({"_id", "identifier", "name", "birthdate", "gender"} <= names)

    def test_read_etag_and_conditional(self):
        r = self.server.get("/fhir/Patient/r1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("etag"), 'W/"1"')
        self.assertEqual(r.json()["id"], "r1")
        self.assertEqual(self.server.get("/fhir/Patient/r1",
                                         {"If-None-Match": 'W/"1"'}).status, 304)
        self.assertEqual(self.server.get("/fhir/Patient/r1",
                                         {"If-None-Match": 'W/"7"'}).status, 200)
        lm = r.header("last-modified")
        self.assertEqual(self.server.get("/fhir/Patient/r1",
                                         {"If-Modified-Since": lm}).status, 304)

    def test_decimal_precision_is_kept(self):
        r = self.server.get("/fhir/Observation/dec")
        self.assertIn('"value":1.50', r.body.replace(" ", ""))

    def test_errors_are_operation_outcomes(self):
        for path, status in [("/fhir/Patient/nope", 404), ("/fhir/Spaceship/1", 404),
                             ("/fhir/Patient/gone", 410), ("/fhir/Patient/bad$id", 400),
                             ("/fhir/Patient/r1/_history/9", 404)]:
            r = self.server.get(path)
            self.assertEqual(r.status, status, path)
            oo = r.json()
            self.assertEqual(oo["resourceType"], "OperationOutcome", path)
            self.assertTrue(oo["issue"][0]["diagnostics"], path)

    def test_writes_are_405(self):
        for method, path in [("POST", "/fhir/Patient"), ("PUT", "/fhir/Patient/r1"),
                             ("DELETE", "/fhir/Patient/r1"), ("PATCH", "/fhir/Patient/r1"),
                             ("POST", "/fhir")]:
            r = self.server.request(method, path, body="{}",
                                    headers={"Content-Type": "application/fhir+json"})
            # A read-only (system/*.read) token may not write: 403, or 405 for PATCH.
            self.assertIn(r.status, (403, 405), f"{method} {path}")
            self.assertEqual(r.json()["resourceType"], "OperationOutcome")
        self.assertEqual(self.server.get("/fhir/Patient/r1").json()["meta"]["versionId"], "1")

    def test_formats(self):
        self.assertEqual(self.server.get("/fhir/Patient/r1?_format=json").status, 200)
        self.assertEqual(self.server.get("/fhir/Patient/r1?_format=application/fhir%2Bjson")
                         .status, 200)
        self.assertEqual(self.server.get("/fhir/Patient/r1",
                                         {"Accept": "application/json"}).status, 200)
        self.assertEqual(self.server.get("/fhir/Patient/r1?_format=xml").status, 406)
        self.assertEqual(self.server.get("/fhir/Patient/r1",
                                         {"Accept": "application/fhir+xml"}).status, 406)
        r = self.server.get("/fhir/Patient/r1")
        self.assertEqual(r.header("content-type"), "application/fhir+json; charset=utf-8")

    def test_gzip(self):
        r = self.server.get("/fhir/Patient/r1", {"Accept-Encoding": "gzip"})
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(r.json()["id"], "r1")

    def test_summary_and_elements(self):
        r = self.server.get("/fhir/Patient/r1?_elements=birthDate").json()
        self.assertEqual(r["birthDate"], "1980-02-03")
        self.assertNotIn("name", r)
        self.assertIn("SUBSETTED", json.dumps(r["meta"]))
        r = self.server.get("/fhir/Patient/r1?_summary=text").json()
        self.assertIn("text", r)
        self.assertNotIn("name", r)
        r = self.server.get("/fhir/Patient/r1?_summary=data").json()
        self.assertNotIn("text", r)
        self.assertIn("name", r)

    def test_limits(self):
        big_header = b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + \
            b"\r\n\r\n"
        self.assertIn(b" 431 ", raw_http(self.server.host, self.server.port, big_header)[:20])
        long_url = b"GET /fhir/Patient?name=" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        self.assertIn(b" 414 ", raw_http(self.server.host, self.server.port, long_url)[:20])
        big_body = (b"POST /fhir/Patient/_search HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    b"999999999\r\n\r\n")
        self.assertIn(b" 413 ", raw_http(self.server.host, self.server.port, big_body)[:20])
        # A client that sends half a header and stalls is answered 408 and disconnected.
        slow = raw_http(self.server.host, self.server.port, b"GET /fhir/metadata HTTP/1.1\r\n")
        self.assertIn(b" 408 ", slow[:20])
        garbage = raw_http(self.server.host, self.server.port, b"\x00\x01 nonsense\r\n\r\n")
        self.assertIn(b" 400 ", garbage[:20])
        # The server is still healthy.
        self.assertEqual(self.server.get("/fhir/Patient/r1").status, 200)


class CrashDuringImportTest(TempDirTestCase):
    def test_kill_during_import_keeps_store_consistent(self):
        db = self.path("crash.db")
        data = self.path("data")
        os.makedirs(data)
        # 60 files of 200 resources each; each file is one transaction.
        for i in range(60):
            with open(os.path.join(data, f"f{i:03}.ndjson"), "w") as f:
                for j in range(200):
                    f.write(json.dumps({"resourceType": "Observation", "id": f"o-{i}-{j}",
                                        "status": "final", "code": {"text": "t"},
                                        "subject": {"reference": f"Patient/p{i}"}}) + "\n")
        proc = subprocess.Popen([BIN, "import", "--verbose", "--db", f"sqlite:{db}", data],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        reported = []
        for line in proc.stdout:
            m = re.match(r"loaded (\S+) ", line)
            if m:
                reported.append(os.path.basename(m.group(1)))
            if len(reported) >= 5:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        con = sqlite3.connect(db)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        for i in range(60):
            n = con.execute("SELECT COUNT(*) FROM resource WHERE id LIKE ?",
                            (f"o-{i}-%",)).fetchone()[0]
            self.assertIn(n, (0, 200), f"file {i} half-written")
            if f"f{i:03}.ndjson" in reported:
                self.assertEqual(n, 200, f"file {i} was reported loaded but is missing")
        con.close()
        # The store opens and serves; a re-import completes the rest.
        out = run("import", "--db", f"sqlite:{db}", data).stdout
        self.assertIn("0 updated", out)
        con = sqlite3.connect(db)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM resource").fetchone()[0], 12000)
        # A load this large into an empty store builds its search indexes at the end; the one
        # killed above left them to the next open. Either way every index is there now.
        small, whole = self.path("small.db"), self.path("whole.db")
        run("import", "--db", f"sqlite:{small}", os.path.join(data, "f000.ndjson"))
        run("import", "--db", f"sqlite:{whole}", data)
        names = "SELECT name FROM sqlite_schema WHERE type = 'index' ORDER BY name"
        expected = con.execute(names).fetchall()
        self.assertGreater(len(expected), 12)
        for other in (small, whole):
            c = sqlite3.connect(other)
            self.assertEqual(c.execute(names).fetchall(), expected, other)
            c.close()
        con.close()


class CliTest(unittest.TestCase):
    def test_help_is_complete(self):
        top = run("--help").stdout
        for cmd in ["serve", "import", "generate"]:
            self.assertIn(cmd, top)
        serve = run("serve", "--help").stdout
        for opt in ["--db", "--listen", "--base-url", "--config"]:
            self.assertIn(opt, serve)
        imp = run("import", "--help").stdout
        self.assertIn("--db", imp)
        self.assertNotEqual(run("serve", "--db", "mysql:x", check=False).returncode, 0)

    def test_a_config_file_with_a_mistake_is_refused_by_name(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "portico.toml")
            for text, why in (("listen = \"127.0.0.1:0\"\nacess_token_seconds = 60\n",
                               "2: unknown key 'acess_token_seconds'"),
                              ("[database]\npool_size = \"8\"\n",
                               "'database.pool_size' must be an integer")):
                with open(cfg, "w") as f:
                    f.write(text)
                r = run("serve", "--db", "sqlite:" + os.path.join(d, "x.db"), "--config", cfg,
                        check=False)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(why, r.stderr)
                self.assertFalse(os.path.exists(os.path.join(d, "x.db")))  # nothing started


if __name__ == "__main__":
    unittest.main()
