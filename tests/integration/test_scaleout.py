"""Scale-out on PostgreSQL, proven with real processes: several `portico serve` nodes share one
PostgreSQL database. A code issued via node A is exchanged at node B; a token from A reads at B;
a revocation at B stops the token at A at once; an import is visible on every node; a data feed's
create, update and delete at A are read at B at once; a signing-key rotation is honoured by all; a
node starts while the database is unreachable and becomes ready (per /readyz) when it is back.

Needs PORTICO_TEST_PG (a libpq URL; scripts/with-postgres.sh starts a throwaway server and sets
it). Skipped without it, except in CI (CI=true or PORTICO_REQUIRE_PG=1, as scripts/test.sh
sets), where a missing server is a failure.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from portico_test import (PostgresCluster, Server, add_backend_client, add_user, authorize,
                          backend_token, exchange, jwt_claims, psql, register_client, run,
                          token_request)

PG_URL = os.environ.get("PORTICO_TEST_PG", "")
PG_REQUIRED = (os.environ.get("CI") == "true" or os.environ.get("PORTICO_REQUIRE_PG") == "1")
REDIRECT = "http://app.example/callback"
SCOPE = ("launch/patient openid fhirUser offline_access patient/Patient.read patient/Coverage.rs "
         "patient/ExplanationOfBenefit.rs")


def with_database(url, db):
    p = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((p.scheme, p.netloc, "/" + db, p.query, p.fragment))


def drop_database_and_files(cls):
    """tearDownClass's end: the test class's database (cls.dbname) and directory (cls.tmp)."""
    if hasattr(cls, "dbname"):
        try:
            psql(with_database(PG_URL, "postgres"),
                 f"DROP DATABASE IF EXISTS {cls.dbname} WITH (FORCE)")
        except (subprocess.SubprocessError, OSError):
            pass
    if hasattr(cls, "tmp"):
        shutil.rmtree(cls.tmp, True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TcpProxy:
    """Forwards a local port to the PostgreSQL server; down() drops it (and every connection
    through it) to simulate an outage, up() brings it back on the same port."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.listener = None
        self.conns = []
        self.lock = threading.Lock()

    def up(self):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self.listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def down(self):
        ls, self.listener = self.listener, None
        if ls is not None:
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, ls):
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ScaleOutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not PG_URL:
            if PG_REQUIRED:
                raise AssertionError("PORTICO_TEST_PG is not set: CI must run the PostgreSQL "
                                     "scale-out test (scripts/with-postgres.sh)")
            raise unittest.SkipTest("PORTICO_TEST_PG is not set")
        cls.tmp = tempfile.mkdtemp(prefix="portico-scaleout-")
        cls.dbname = f"scaleout_{os.getpid()}"
        admin = with_database(PG_URL, "postgres")
        psql(admin, f"DROP DATABASE IF EXISTS {cls.dbname} WITH (FORCE)")
        psql(admin, f"CREATE DATABASE {cls.dbname}")
        cls.db = with_database(PG_URL, cls.dbname)
        out = run("migrate", "--db", cls.db).stdout
        assert "schema at version" in out, out
        demo = os.path.join(cls.tmp, "demo.ndjson")
        run("generate", "--members", "2", "--out", demo)
        run("import", "--db", cls.db, demo)
        _, cls.secret = register_client(cls.db, "app", REDIRECT)
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1")
        # Every node serves the same public base URL (as behind a load balancer): the first
        # node's address, so that the browser's redirects land on a real node.
        port_a = free_port()
        cls.public = f"http://127.0.0.1:{port_a}"
        common = ["--base-url", cls.public, "--db-pool-size", "4"]
        cls.a = Server(cls.db, common, listen=f"127.0.0.1:{port_a}")
        cls.b = Server(cls.db, common)
        cls.c = Server(cls.db, common)

    @classmethod
    def tearDownClass(cls):
        for name in ("a", "b", "c"):
            if hasattr(cls, name):
                getattr(cls, name).stop()
        drop_database_and_files(cls)

    def read(self, server, path, token):
        return server.request("GET", path, headers={"Authorization": "Bearer " + token})

    def login_at_a(self):
        result, verifier = authorize(self.a, "app", REDIRECT, SCOPE, "ava", "ava-password-1")
        self.assertIn("code", result, result)
        return result["code"], verifier

    def test_nodes_are_distinct_processes_on_one_database(self):
        ports = {s.port for s in (self.a, self.b, self.c)}
        self.assertEqual(len(ports), 3)
        for s in (self.a, self.b, self.c):
            self.assertEqual(s.get("/readyz").status, 200)

    def test_code_from_a_is_exchanged_at_b_and_tokens_travel(self):
        code, verifier = self.login_at_a()
        tok = exchange(self.b, code, verifier, "app", self.secret, REDIRECT)
        self.assertEqual(tok.status, 200, tok.body)
        # The code is single-use across nodes.
        again = exchange(self.c, code, verifier, "app", self.secret, REDIRECT)
        self.assertEqual(again.status, 400)
        # That reuse revoked the grant everywhere (code replay protection).
        self.assertEqual(self.read(self.a, "/fhir/Patient/demo-member-1",
                                   tok.json()["access_token"]).status, 401)
        # A token issued at A reads at B and C.
        code, verifier = self.login_at_a()
        tok = exchange(self.a, code, verifier, "app", self.secret, REDIRECT)
        self.assertEqual(tok.status, 200, tok.body)
        access = tok.json()["access_token"]
        for s in (self.a, self.b, self.c):
            r = self.read(s, "/fhir/Patient/demo-member-1", access)
            self.assertEqual(r.status, 200, r.body)
        # A refresh at C rotates the refresh token for every node.
        ref = token_request(self.c, {"grant_type": "refresh_token",
                                     "refresh_token": tok.json()["refresh_token"]},
                            basic=("app", self.secret))
        self.assertEqual(ref.status, 200, ref.body)
        old = token_request(self.b, {"grant_type": "refresh_token",
                                     "refresh_token": tok.json()["refresh_token"]},
                            basic=("app", self.secret))
        self.assertEqual(old.status, 400)

    def test_a_next_link_from_a_is_followed_at_b_and_c(self):
        # Behind a load balancer the pages of one search land on different nodes: the cursor
        # that node A signed must be good at B and C (no paging_secret is configured).
        code, verifier = self.login_at_a()
        access = exchange(self.a, code, verifier, "app", self.secret, REDIRECT).json()[
            "access_token"]
        first = self.read(self.a, "/fhir/ExplanationOfBenefit?patient=demo-member-1&_count=1",
                          access)
        self.assertEqual(first.status, 200, first.body)
        seen = [e["resource"]["id"] for e in first.json()["entry"]]
        link = next(x["url"] for x in first.json()["link"] if x["relation"] == "next")
        for node in (self.b, self.c):
            page = self.read(node, urllib.parse.urlsplit(link)._replace(
                scheme="", netloc="").geturl(), access)
            self.assertEqual(page.status, 200, page.body)
            ids = [e["resource"]["id"] for e in page.json()["entry"]]
            self.assertEqual(len(ids), 1)
            self.assertNotIn(ids[0], seen)
        # A cursor that was tampered with is still refused everywhere.
        bad = link.replace("_cursor=", "_cursor=x")
        self.assertEqual(self.read(self.b, urllib.parse.urlsplit(bad)._replace(
            scheme="", netloc="").geturl(), access).status, 400)

    def test_revocation_at_b_stops_the_token_at_a_at_once(self):
        code, verifier = self.login_at_a()
        tok = exchange(self.a, code, verifier, "app", self.secret, REDIRECT).json()
        access = tok["access_token"]
        self.assertEqual(self.read(self.a, "/fhir/Patient/demo-member-1", access).status, 200)
        rv = self.b.request("POST", "/oauth/revoke",
                            body=urllib.parse.urlencode({"token": tok["refresh_token"]}),
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "Authorization": rv_basic("app", self.secret)})
        self.assertEqual(rv.status, 200)
        # No wait: the very next request at A (which had verified and cached it) is refused.
        self.assertEqual(self.read(self.a, "/fhir/Patient/demo-member-1", access).status, 401)
        self.assertEqual(self.read(self.c, "/fhir/Patient/demo-member-1", access).status, 401)

    def test_import_is_visible_on_every_node(self):
        op = run("token", "--db", self.db, "--base-url", self.public).stdout.strip()
        path = os.path.join(self.tmp, "late.json")
        with open(path, "w") as f:
            json.dump({"resourceType": "Organization", "id": "late-org", "name": "Late Payer"}, f)
        for s in (self.a, self.b, self.c):
            self.assertEqual(self.read(s, "/fhir/Organization/late-org", op).status, 404)
        run("import", "--db", self.db, path)
        for s in (self.a, self.b, self.c):
            r = self.read(s, "/fhir/Organization/late-org", op)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["name"], "Late Payer")
            found = self.read(s, "/fhir/Organization?name=late", op).json()
            self.assertEqual([e["resource"]["id"] for e in found.get("entry", [])], ["late-org"])

    def test_a_transaction_posted_at_a_is_read_at_c_at_once(self):
        # A feed's bulk write (a transaction Bundle) through node A: both entries, with the ids
        # their urn:uuid fullUrls carry and the reference between them rewritten, are read at C.
        key = add_backend_client(self.db, self.tmp, "bulkfeed", "system/*.cruds")
        feed = backend_token(self.a, key, "system/*.cruds", client_id="bulkfeed")
        org = "3f1d2c4e-0000-4000-8000-00000000a001"
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": f"urn:uuid:{org}",
             "resource": {"resourceType": "Organization", "name": "Feed Clinic"},
             "request": {"method": "POST", "url": "Organization"}},
            {"resource": {"resourceType": "Practitioner", "id": "feed-prac-1",
                          "name": [{"family": "Feedwell"}]},
             "request": {"method": "PUT", "url": "Practitioner/feed-prac-1"}},
            {"resource": {"resourceType": "PractitionerRole", "id": "feed-role-1",
                          "practitioner": {"reference": "Practitioner/feed-prac-1"},
                          "organization": {"reference": f"urn:uuid:{org}"}},
             "request": {"method": "PUT", "url": "PractitionerRole/feed-role-1"}}]}
        r = self.a.request("POST", "/fhir", body=json.dumps(bundle),
                           headers={"Authorization": "Bearer " + feed,
                                    "Content-Type": "application/fhir+json"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([e["response"]["status"] for e in r.json()["entry"]],
                         ["201 Created"] * 3)
        reader = feed  # a token from A reads at C
        got = self.read(self.c, f"/fhir/Organization/{org}", reader)
        self.assertEqual(got.status, 200, got.body)
        self.assertEqual(got.json()["name"], "Feed Clinic")
        role = self.read(self.c, "/fhir/PractitionerRole/feed-role-1", reader)
        self.assertEqual(role.status, 200, role.body)
        self.assertEqual(role.json()["organization"]["reference"], f"Organization/{org}")
        found = self.read(self.c, "/fhir/PractitionerRole?practitioner=Practitioner/feed-prac-1"
                          "&_include=PractitionerRole:organization", reader).json()
        self.assertEqual(sorted(e["resource"]["id"] for e in found["entry"]),
                         sorted([org, "feed-role-1"]))

    def test_writes_at_a_are_read_at_b_at_once(self):
        key = add_backend_client(self.db, self.tmp, "feed", "system/*.cruds")
        feed = backend_token(self.a, key, "system/*.cruds")
        op = run("token", "--db", self.db, "--base-url", self.public).stdout.strip()
        code, verifier = self.login_at_a()
        member = exchange(self.a, code, verifier, "app", self.secret,
                          REDIRECT).json()["access_token"]

        def write(server, method, path, body=None, headers=None):
            h = {"Authorization": "Bearer " + feed, "Content-Type": "application/fhir+json"}
            h.update(headers or {})
            return server.request(method, path, body=json.dumps(body) if body is not None
                                  else None, headers=h)

        # A Coverage of ava's: in her compartment, so her member token reads it too.
        body = {"resourceType": "Coverage", "status": "active",
                "beneficiary": {"reference": "Patient/demo-member-1"},
                "payor": [{"reference": "Organization/demo-payer"}]}
        created = write(self.a, "POST", "/fhir/Coverage", body)
        self.assertEqual(created.status, 201, created.body)
        cid = created.json()["id"]
        path = f"/fhir/Coverage/{cid}"
        for token in (op, member):
            r = self.read(self.b, path, token)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["meta"]["versionId"], "1")
            self.assertEqual(r.json()["status"], "active")
            self.assertEqual(r.header("etag"), 'W/"1"')

        body["id"] = cid
        body["status"] = "cancelled"
        updated = write(self.a, "PUT", path, body, {"If-Match": 'W/"1"'})
        self.assertEqual(updated.status, 200, updated.body)
        self.assertEqual(updated.json()["meta"]["versionId"], "2")
        # B checks If-Match against the version A wrote: version 1 is stale there too.
        stale = write(self.b, "PUT", path, body, {"If-Match": 'W/"1"'})
        self.assertEqual(stale.status, 412, stale.body)
        for token in (op, member):
            r = self.read(self.b, path, token)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual((r.json()["meta"]["versionId"], r.json()["status"]),
                             ("2", "cancelled"))
            self.assertEqual(r.header("etag"), 'W/"2"')
        for version, status in (("1", "active"), ("2", "cancelled")):
            r = self.read(self.b, f"{path}/_history/{version}", op)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual((r.json()["meta"]["versionId"], r.json()["status"]),
                             (version, status))

        self.assertEqual(write(self.a, "DELETE", path).status, 204)
        gone = self.read(self.b, path, op)
        self.assertEqual(gone.status, 410, gone.body)
        self.assertEqual(gone.header("etag"), 'W/"3"')
        self.assertEqual(self.read(self.b, f"{path}/_history/3", op).status, 410)
        # A member token learns nothing of deleted resources: 404, as for one never written.
        self.assertEqual(self.read(self.b, path, member).status, 404)
        r = self.read(self.b, f"{path}/_history/1", op)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["status"], "active")
        hist = self.read(self.b, f"{path}/_history", op)
        self.assertEqual(hist.status, 200, hist.body)
        self.assertEqual([e["request"]["method"] for e in hist.json()["entry"]],
                         ["DELETE", "PUT", "POST"])
        found = self.read(self.b, f"/fhir/Coverage?patient=demo-member-1&_id={cid}", op).json()
        self.assertEqual(found.get("entry", []), [])

    def test_signing_key_rotation_is_honoured_by_all_nodes(self):
        code, verifier = self.login_at_a()
        before = exchange(self.a, code, verifier, "app", self.secret, REDIRECT).json()
        old_kid = header_kid(before["access_token"])
        run("keys", "rotate", "--db", self.db)
        # Nodes reload their keys at least every 5 s (and at once on an unknown kid).
        deadline = time.time() + 15
        new_kid = old_kid
        while time.time() < deadline and new_kid == old_kid:
            time.sleep(1)
            code, verifier = self.login_at_a()
            after = exchange(self.b, code, verifier, "app", self.secret, REDIRECT).json()
            new_kid = header_kid(after["access_token"])
        self.assertNotEqual(new_kid, old_kid)
        for s in (self.a, self.b, self.c):
            # B signed with the new key; the others publish it by their next reload (at most
            # 5 s later; a slow build, e.g. under ThreadSanitizer, can take a little longer).
            kids, until = [], time.time() + 15
            while new_kid not in kids and time.time() < until:
                kids = [k["kid"] for k in s.get("/oauth/jwks").json()["keys"]]
                if new_kid not in kids:
                    time.sleep(0.5)
            self.assertIn(new_kid, kids)
            self.assertIn(old_kid, kids)  # still published for tokens it signed
            self.assertEqual(self.read(s, "/fhir/Patient/demo-member-1",
                                       after["access_token"]).status, 200)
            self.assertEqual(self.read(s, "/fhir/Patient/demo-member-1",
                                       before["access_token"]).status, 200)
        self.assertEqual(jwt_claims(after["access_token"])["iss"], self.public)


def rv_basic(client_id, secret):
    import base64
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def header_kid(token):
    import base64
    head = token.split(".")[0]
    head += "=" * (-len(head) % 4)
    return json.loads(base64.urlsafe_b64decode(head))["kid"]


class ReadReplicaTest(unittest.TestCase):
    """A real streaming replica behind --db-read-url: a primary of this test's own (so that no
    other test's databases or tablespaces change under the base backup) and a hot standby made
    from it with pg_basebackup. The standby's replay is paused to make replication lag that does
    not end by itself: the node that wrote reads its own write from the primary; a node that did
    not write reads the replica and sees the write once the replica has replayed it
    (docs/scaling.md, section 4)."""

    @classmethod
    def setUpClass(cls):
        if not PG_URL:
            if PG_REQUIRED:
                raise AssertionError("PORTICO_TEST_PG is not set: CI must run the read replica "
                                     "test (scripts/with-postgres.sh)")
            raise unittest.SkipTest("PORTICO_TEST_PG is not set")
        cls.tmp = PostgresCluster.make_dir("portico-replica-")
        cls.clusters = []
        primary = PostgresCluster(os.path.join(cls.tmp, "primary")).start()
        cls.clusters.append(primary)
        cls.db = primary.url()
        run("migrate", "--db", cls.db)
        demo = os.path.join(cls.tmp, "demo.ndjson")
        run("generate", "--members", "1", "--out", demo)
        run("import", "--db", cls.db, demo)
        cls.key = add_backend_client(cls.db, cls.tmp)
        standby = primary.base_backup(os.path.join(cls.tmp, "standby")).start()
        cls.clusters.append(standby)
        cls.replica = standby.url()
        assert psql(cls.replica, "SELECT pg_is_in_recovery()") == "t"
        common = ["--db-read-url", cls.replica, "--db-pool-size", "4"]
        cls.writer = Server(cls.db, common)
        cls.other = Server(cls.db, common)

    @classmethod
    def tearDownClass(cls):
        for name in ("writer", "other"):
            if hasattr(cls, name):
                getattr(cls, name).stop()
        for cluster in reversed(getattr(cls, "clusters", [])):
            cluster.stop()
        if hasattr(cls, "tmp"):
            shutil.rmtree(cls.tmp, True)

    def call(self, server, method, path, body=None):
        headers = {"Authorization": "Bearer " + backend_token(server, self.key, "system/*.cruds")}
        if body is not None:
            headers["Content-Type"] = "application/fhir+json"
            body = json.dumps(body)
        return server.request(method, path, body=body, headers=headers)

    def wait_for_replica(self, sql, want):
        deadline = time.time() + 30
        got = None
        while time.time() < deadline:
            got = psql(self.replica, sql)
            if got == want:
                break
            time.sleep(0.1)
        return got

    def test_reads_go_to_the_replica_and_writers_read_their_writes(self):
        # Reads are served by the replica: its sessions carry the read pool's name.
        self.assertEqual(self.call(self.other, "GET", "/fhir/Patient/demo-member-1").status, 200)
        self.assertNotEqual(psql(self.replica, "SELECT count(*) FROM pg_stat_activity WHERE "
                                               "application_name = 'portico-read'"), "0")
        psql(self.replica, "SELECT pg_wal_replay_pause()")
        try:
            self.assertEqual(self.wait_for_replica("SELECT pg_get_wal_replay_pause_state()",
                                                   "paused"), "paused")
            org = {"resourceType": "Organization", "id": "replica-org", "name": "Lagging Payer"}
            created = self.call(self.writer, "PUT", "/fhir/Organization/replica-org", org)
            self.assertEqual(created.status, 201, created.body)
            # The replica really lags: it has not got the row.
            self.assertEqual(psql(self.replica, "SELECT count(*) FROM resource WHERE id = "
                                                "'replica-org'"), "0")
            # The node that wrote reads its own write (from the primary, until the replica has
            # replayed past it).
            mine = self.call(self.writer, "GET", "/fhir/Organization/replica-org")
            self.assertEqual(mine.status, 200, mine.body)
            self.assertEqual(mine.json()["name"], "Lagging Payer")
            # A node that did not write reads the replica, which does not have it yet.
            self.assertEqual(self.call(self.other, "GET", "/fhir/Organization/replica-org")
                             .status, 404)
        finally:
            psql(self.replica, "SELECT pg_wal_replay_resume()")
        self.assertEqual(self.wait_for_replica(
            "SELECT count(*) FROM resource WHERE id = 'replica-org'", "1"), "1")
        theirs = self.call(self.other, "GET", "/fhir/Organization/replica-org")
        self.assertEqual(theirs.status, 200, theirs.body)
        self.assertEqual(theirs.json()["name"], "Lagging Payer")


class DatabaseOutageTest(unittest.TestCase):
    """A node reaches PostgreSQL through a proxy that the test takes down and up again."""

    def setUp(self):
        if not PG_URL:
            if PG_REQUIRED:
                raise AssertionError("PORTICO_TEST_PG is not set")
            raise unittest.SkipTest("PORTICO_TEST_PG is not set")
        self.dbname = f"outage_{os.getpid()}"
        admin = with_database(PG_URL, "postgres")
        psql(admin, f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
        psql(admin, f"CREATE DATABASE {self.dbname}")
        self.addCleanup(psql, admin, f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
        p = urllib.parse.urlsplit(PG_URL)
        self.proxy = TcpProxy(p.hostname, p.port or 5432)
        self.addCleanup(self.proxy.down)
        netloc = f"{p.username}@127.0.0.1:{self.proxy.port}" if p.username else \
            f"127.0.0.1:{self.proxy.port}"
        self.db = urllib.parse.urlunsplit((p.scheme, netloc, "/" + self.dbname, p.query, ""))

    def test_starts_while_the_database_is_down_and_follows_its_availability(self):
        # Down at start: the node listens and says it is not ready, instead of exiting.
        server = Server(self.db)
        self.addCleanup(server.stop)
        self.assertEqual(server.get("/healthz").status, 200)
        waiting = server.get("/readyz")
        self.assertEqual(waiting.status, 503, waiting.body)
        self.assertEqual(waiting.header("retry-after"), "1")
        self.assertEqual(server.get("/fhir/metadata").status, 503)
        self.proxy.up()
        deadline = time.time() + 60
        status = 0
        while time.time() < deadline and status != 200:
            status = server.get("/readyz").status
            time.sleep(0.2)
        self.assertEqual(status, 200, "the node did not become ready once the database was back")
        # An outage while serving: not ready, and back to ready without a restart.
        self.proxy.down()
        r = server.get("/readyz")
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(server.get("/healthz").status, 200)
        self.proxy.up()
        deadline = time.time() + 30
        status = 0
        while time.time() < deadline and status != 200:
            status = server.get("/readyz").status
            time.sleep(0.2)
        self.assertEqual(status, 200)
        op = run("token", "--db", self.db, "--base-url", server.public_root).stdout.strip()
        r = server.request("GET", "/fhir/Patient?_count=1",
                           headers={"Authorization": "Bearer " + op})
        self.assertEqual(r.status, 200, r.body)


if __name__ == "__main__":
    unittest.main()
