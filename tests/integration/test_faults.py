"""Faults: the server survives hostile input and crashes without losing what it acknowledged
(issue 9)."""

import concurrent.futures
import json
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

from portico_test import (BIN, PostgresCluster, Server, add_user, authorize, psql,
                          register_client, run, token_request)

REDIRECT = "http://app.example/cb"
SCOPE = "launch/patient offline_access patient/*.read"


def assert_reads_go_on(test, server, member):
    """With writes failing, the member's reads and searches and the health check still answer."""
    for _ in range(20):
        test.assertEqual(server.get("/fhir/Patient/demo-member-1", member).status, 200)
        r = server.get("/fhir/ExplanationOfBenefit?patient=demo-member-1&_count=5", member)
        test.assertEqual(r.status, 200)
        test.assertTrue(r.json().get("entry"))
    test.assertEqual(server.get("/healthz").status, 200)
    test.assertIsNone(server.proc.poll(), "the server died")


def assert_logged_why(test, server, reason):
    """The operator finds a store.failed line in the log naming the reason."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in list(server.stderr_lines):
            if line.startswith("{"):
                event = json.loads(line)
                if event.get("event") == "store.failed" and reason in event.get("detail", ""):
                    test.assertEqual(event["level"], "error")
                    return
        time.sleep(0.1)
    test.fail(f"no store.failed log line mentioning {reason!r}")


def fill_filesystem(test, mount):
    """Writes a filler file until the filesystem at `mount` has no byte left; returns its path."""
    path = os.path.join(mount, "filler")
    with open(path, "wb", buffering=0) as f:
        chunk = b"\0" * 65536
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                test.assertEqual(e.errno, 28)  # ENOSPC
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    test.assertEqual(os.statvfs(mount).f_bavail, 0)
    return path


class FaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-faults-")
        cls.db = os.path.join(cls.dir, "f.db")
        demo = os.path.join(cls.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{cls.db}", demo)
        _, cls.secret = register_client(cls.db, "app", REDIRECT)
        add_user(cls.db, "ava", "ava-password-1", patient="demo-member-1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, True)

    def test_kill_during_token_issuance_loses_nothing_acknowledged(self):
        # The same address before and after the crash, so the issuer stays the same.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            listen = f"127.0.0.1:{probe.getsockname()[1]}"
        # Twelve grants for one member and app: none may be superseded here.
        config = "max_grants_per_user_client = 0\n"
        server = Server(self.db, listen=listen, config=config)
        codes = []
        for _ in range(12):
            result, verifier = authorize(server, "app", REDIRECT, SCOPE, "ava", "ava-password-1")
            codes.append((result["code"], verifier))

        def exchange(item):
            code, verifier = item
            try:
                r = token_request(server, {"grant_type": "authorization_code", "code": code,
                                           "code_verifier": verifier, "redirect_uri": REDIRECT},
                                  basic=("app", self.secret))
                return r.status, r.body
            except OSError:
                return None, None

        issued = []
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(exchange, c) for c in codes]
            for i, f in enumerate(concurrent.futures.as_completed(futures)):
                status, body = f.result()
                if status == 200:
                    issued.append(json.loads(body))
                if i == 5:
                    server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        server.stop()
        self.assertTrue(issued)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        con.close()
        # Every token the server answered 200 for still works after a restart.
        again = Server(self.db, listen=listen, config=config)
        self.addCleanup(again.stop)
        for t in issued:
            r = again.get("/fhir/Patient/demo-member-1",
                          {"Authorization": "Bearer " + t["access_token"]})
            self.assertEqual(r.status, 200)
            rr = token_request(again, {"grant_type": "refresh_token",
                                       "refresh_token": t["refresh_token"]},
                               basic=("app", self.secret))
            self.assertEqual(rr.status, 200, rr.body)

    def test_hostile_requests_get_clean_answers(self):
        server = Server(self.db)
        self.addCleanup(server.stop)
        token = server.operator_token()
        auth = {"Authorization": "Bearer " + token}
        # Deeply nested JSON in a $validate body.
        deep = "[" * 5000 + "]" * 5000
        r = server.request("POST", "/fhir/Patient/$validate", body=deep,
                           headers=dict(auth, **{"Content-Type": "application/fhir+json"}))
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["resourceType"], "OperationOutcome")
        # A huge _count is clamped, an include loop is capped.
        r = server.get("/fhir/Observation?_count=100000000", auth)
        self.assertEqual(r.status, 200)
        self.assertLessEqual(len(r.json().get("entry", [])), 200)
        r = server.get("/fhir/Patient?_revinclude:iterate=*:*&_include:iterate=*&_count=5", auth)
        self.assertIn(r.status, (200, 400))
        # A client that disconnects mid-response does not disturb the others.
        for _ in range(20):
            with socket.create_connection((server.host, server.port)) as s:
                s.sendall(("GET /fhir/Observation?_count=200 HTTP/1.1\r\nHost: x\r\n"
                           f"Authorization: Bearer {token}\r\n\r\n").encode())
                s.recv(10)
        # Garbage in every form.
        for path in ["/fhir/Patient?birthdate=notadate", "/fhir/Patient?_sort=nope",
                     "/fhir/Patient?name:bogus=x", "/fhir/Patient/%00", "/fhir/%ZZ"]:
            r = server.get(path, auth)
            self.assertIn(r.status, (400, 404), path)
        self.assertEqual(server.get("/healthz").status, 200)
        self.assertEqual(server.get("/fhir/Patient/demo-member-1", auth).status, 200)


def _limit_file_size(limit):
    """preexec_fn: a file size limit (RLIMIT_FSIZE) of `limit` bytes for the child. The hard limit
    stays where it was, so the test can lift the soft one again without privileges."""
    def apply():
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    return apply


class FullDiskScenario:
    """What both full-disk tests check, once the database's filesystem has no byte left: sign-in
    and token requests fail with temporarily_unavailable (503 at the token endpoint) and a
    store.failed log line gives `reason`; reads go on; once the filler is gone, the code made
    before, the refresh token that could not rotate and new sign-ins all work."""

    def exchange(self, server, code, verifier):
        return token_request(server, {"grant_type": "authorization_code", "code": code,
                                      "code_verifier": verifier, "redirect_uri": REDIRECT},
                             basic=("app", self.secret))

    def refresh(self, server, refresh_token):
        return token_request(server, {"grant_type": "refresh_token",
                                      "refresh_token": refresh_token},
                             basic=("app", self.secret))

    def sign_in_twice(self, server):
        """Tokens from one sign-in, and the code of a second one not yet exchanged."""
        first, verifier = authorize(server, "app", REDIRECT, SCOPE, "ava", "ava-password-1")
        r = self.exchange(server, first["code"], verifier)
        self.assertEqual(r.status, 200, r.body)
        issued = r.json()
        pending, pending_verifier = authorize(server, "app", REDIRECT, SCOPE, "ava",
                                              "ava-password-1")
        self.assertIn("code", pending)
        return issued, pending, pending_verifier

    def check_full_disk(self, server, fill, reason, refresh_fails):
        issued, pending, pending_verifier = self.sign_in_twice(server)
        member = {"Authorization": "Bearer " + issued["access_token"]}

        filler = fill()
        # Space the database already holds (WAL pages, free room in table pages) may take a few
        # more writes; sign-ins go on until one needs a new block, which must fail cleanly.
        failure = None
        for _ in range(400):
            result, v = authorize(server, "app", REDIRECT, SCOPE, "ava", "ava-password-1")
            if "error" in result:
                failure = ("authorize", result.get("error"))
                break
            r = self.exchange(server, result["code"], v)
            if r.status != 200:
                self.assertNotIn("access_token", r.body)
                self.assertEqual(r.status, 503, r.body)
                failure = ("token", r.json().get("error"))
                break
        self.assertIsNotNone(failure, "no write failed on a full disk")
        self.assertEqual(failure[1], "temporarily_unavailable", failure)
        assert_logged_why(self, server, reason)
        if refresh_fails:
            r = self.refresh(server, issued["refresh_token"])
            self.assertEqual(r.status, 503, r.body)
            self.assertEqual(r.json()["error"], "temporarily_unavailable")
        assert_reads_go_on(self, server, member)

        os.remove(filler)
        r = self.exchange(server, pending["code"], pending_verifier)
        self.assertEqual(r.status, 200, r.body)
        r = self.refresh(server, issued["refresh_token"])
        self.assertEqual(r.status, 200, r.body)
        fresh = {"Authorization": "Bearer " + r.json()["access_token"]}
        self.assertEqual(server.get("/fhir/Patient/demo-member-1", fresh).status, 200)
        result, v = authorize(server, "app", REDIRECT, SCOPE, "ava", "ava-password-1")
        self.assertIn("code", result)
        self.assertEqual(self.exchange(server, result["code"], v).status, 200)


class DiskFullTest(FullDiskScenario, unittest.TestCase):
    """The database's filesystem fills up: writes fail cleanly (503 / temporarily_unavailable, a
    failed import with a message and exit status 1), reads go on, nothing acknowledged is lost and
    writes work again once there is space. "Full" is the file size limit (RLIMIT_FSIZE, no root
    needed): past it every write fails with EFBIG, which SQLite reports as a disk I/O error, like
    ENOSPC on a full disk (SQLITE_FULL); both map to the same answers."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="portico-diskfull-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "full.db")
        self.small = os.path.join(self.dir, "small.ndjson")
        self.more = os.path.join(self.dir, "more.ndjson")
        run("generate", "--members", "3", "--out", self.small)
        run("generate", "--members", "6", "--out", self.more)  # members 4-6 are new
        run("import", "--db", f"sqlite:{self.db}", self.small)
        _, self.secret = register_client(self.db, "app", REDIRECT)
        add_user(self.db, "ava", "ava-password-1", patient="demo-member-1")

    def patient_total(self, server, auth):
        r = server.get("/fhir/Patient?_summary=count", auth)
        self.assertEqual(r.status, 200, r.body)
        return r.json()["total"]

    def test_full_disk_fails_writes_cleanly_and_recovers(self):
        # Codes live long enough to be exchanged after the disk has space again.
        server = Server(self.db, config="code_seconds = 600\n")
        self.addCleanup(server.stop)
        operator = {"Authorization": "Bearer " + server.operator_token()}
        issued, pending, pending_verifier = self.sign_in_twice(server)
        member = {"Authorization": "Bearer " + issued["access_token"]}
        self.assertEqual(self.patient_total(server, operator), 3)

        # An import that cannot write fails with a message and exit status 1 (not a signal),
        # and stores nothing.
        proc = subprocess.run([BIN, "import", "--db", f"sqlite:{self.db}", self.more],
                              capture_output=True, text=True, timeout=300,
                              preexec_fn=_limit_file_size(64 * 1024))
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stderr, re.compile(r"disk|full|I/O", re.I))
        self.assertEqual(self.patient_total(server, operator), 3)

        # Now the server itself cannot write another byte.
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (0, hard))
        r = token_request(server, {"grant_type": "authorization_code", "code": pending["code"],
                                   "code_verifier": pending_verifier, "redirect_uri": REDIRECT},
                          basic=("app", self.secret))
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(r.json()["error"], "temporarily_unavailable")
        self.assertNotIn("access_token", r.body)
        r = token_request(server, {"grant_type": "refresh_token",
                                   "refresh_token": issued["refresh_token"]},
                          basic=("app", self.secret))
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(r.json()["error"], "temporarily_unavailable")
        # A new authorization request cannot be stored either: the app hears so, not a 500.
        result, _ = authorize(server, "app", REDIRECT, SCOPE, "ava", "ava-password-1")
        self.assertEqual(result.get("error"), "temporarily_unavailable", result)
        # Reads keep working, for the member and the operator.
        assert_reads_go_on(self, server, member)

        # Space returns: every write works again, and nothing was lost or half done.
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))
        r = token_request(server, {"grant_type": "authorization_code", "code": pending["code"],
                                   "code_verifier": pending_verifier, "redirect_uri": REDIRECT},
                          basic=("app", self.secret))
        self.assertEqual(r.status, 200, r.body)  # the failed exchange did not use up the code
        # The refresh token that failed to rotate is still the current one.
        r = token_request(server, {"grant_type": "refresh_token",
                                   "refresh_token": issued["refresh_token"]},
                          basic=("app", self.secret))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(server.get("/fhir/Patient/demo-member-1",
                                    {"Authorization": "Bearer " + r.json()["access_token"]}
                                    ).status, 200)
        result, _ = authorize(server, "app", REDIRECT, SCOPE, "ava", "ava-password-1")
        self.assertIn("code", result)
        run("import", "--db", f"sqlite:{self.db}", self.more)
        self.assertEqual(self.patient_total(server, operator), 6)
        server.stop()
        con = sqlite3.connect(self.db)
        self.addCleanup(con.close)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")


class FullFilesystemTest(FullDiskScenario, unittest.TestCase):
    """A real full disk: the database lives on its own small tmpfs, which a filler file fills to
    the last byte, so SQLite's writes fail with ENOSPC. Token requests get 503 /
    temporarily_unavailable, reads go on, the server stays up, and once the filler is gone every
    write works again with nothing lost. Mounting needs root (CI runs as root); where it is not
    allowed the test says it was skipped."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="portico-enospc-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs",
                                  self.mnt], capture_output=True, text=True)
        if mounted.returncode != 0:
            # Reported as skipped, never as passed; DiskFullTest covers the same paths with a
            # file size limit, which needs no privilege.
            self.skipTest("cannot mount a tmpfs here: " + mounted.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt], capture_output=True)
        self.db = os.path.join(self.mnt, "full.db")
        demo = os.path.join(self.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", f"sqlite:{self.db}", demo)
        _, self.secret = register_client(self.db, "app", REDIRECT)
        add_user(self.db, "ava", "ava-password-1", patient="demo-member-1")

    def fill(self):
        """Empties the WAL (so that the next commit needs new blocks, not ones the WAL had
        already), then fills the filesystem."""
        con = sqlite3.connect(self.db)
        busy = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        con.close()
        self.assertEqual(busy, 0)
        self.assertEqual(os.path.getsize(self.db + "-wal"), 0)
        return fill_filesystem(self, self.mnt)

    def test_enospc_fails_writes_cleanly_and_recovers(self):
        server = Server(self.db, config="code_seconds = 600\n")
        self.addCleanup(server.stop)
        # SQLite's WAL was emptied, so the refresh's rotation needs new blocks too.
        self.check_full_disk(server, self.fill, "full", refresh_fails=True)
        server.stop()
        con = sqlite3.connect(self.db)
        self.addCleanup(con.close)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")

PG_URL = os.environ.get("PORTICO_TEST_PG", "")


class PostgresFullDiskTest(FullDiskScenario, unittest.TestCase):
    """The same on PostgreSQL: the test database's tablespace is a small tmpfs, filled to the last
    byte, so PostgreSQL fails to extend its tables with ENOSPC (SQLSTATE 53100 disk_full; its WAL
    stays on the main disk). Writes answer 503 / temporarily_unavailable, reads go on, and once
    there is space again writes work with nothing lost. Needs PORTICO_TEST_PG (the test command
    starts a throwaway server) and root to mount; without either it says it was skipped."""

    def setUp(self):
        if not PG_URL:
            self.skipTest("PORTICO_TEST_PG is not set (scripts/with-postgres.sh sets it)")
        self.dir = PostgresCluster.make_dir("portico-pgfull-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        options = "size=24m,mode=0700"
        try:
            pg = pwd.getpwnam("postgres")
            options += f",uid={pg.pw_uid},gid={pg.pw_gid}"
        except KeyError:
            pass  # the server runs as this user
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", self.mnt],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: " + mounted.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt], capture_output=True)
        # A server of this test's own: with a tablespace full, checkpoints fail server-wide, and
        # the other tests' databases must not see that.
        cluster = PostgresCluster(os.path.join(self.dir, "data")).start()
        self.addCleanup(cluster.stop)
        psql(cluster.url(), f"CREATE TABLESPACE portico_full LOCATION '{self.mnt}'")
        psql(cluster.url(), "CREATE DATABASE portico_full TABLESPACE portico_full")
        self.url = cluster.url("portico_full")
        demo = os.path.join(self.dir, "demo.ndjson")
        run("generate", "--members", "3", "--out", demo)
        run("import", "--db", self.url, demo)
        _, self.secret = register_client(self.url, "app", REDIRECT)
        add_user(self.url, "ava", "ava-password-1", patient="demo-member-1")

    def test_enospc_fails_writes_cleanly_and_recovers(self):
        # Many sign-ins may succeed before the first failure: without these limits the newest
        # grants would supersede the one whose tokens are checked afterwards.
        server = Server(self.url, config="code_seconds = 600\nmax_grants_per_user_client = 0\n"
                                         "max_codes_per_user = 0\n")
        self.addCleanup(server.stop)
        # An UPDATE may still fit in its page, so the refresh is only checked after recovery.
        self.check_full_disk(server, lambda: fill_filesystem(self, self.mnt),
                             "No space left on device", refresh_fails=False)

if __name__ == "__main__":
    unittest.main()
