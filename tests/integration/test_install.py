"""`cmake --install`: the layout it makes, and an installed binary that serves on its own (no
source tree, no definition files beside it)."""

import os
import shutil
import subprocess
import tempfile
import unittest

import portico_test
from portico_test import BIN, Server


def build_dir():
    """The build tree the binary under test came from (BIN is <build>/src/portico)."""
    d = os.path.dirname(os.path.dirname(os.path.abspath(BIN)))
    if not os.path.exists(os.path.join(d, "CMakeCache.txt")):
        raise AssertionError(f"PORTICO_BIN is not in a CMake build tree: {BIN}")
    return d


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = tempfile.mkdtemp(prefix="portico-install-")
        out = subprocess.run(["cmake", "--install", build_dir(), "--prefix", cls.prefix],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        cls.bin = os.path.join(cls.prefix, "bin", "portico")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, True)

    def test_layout(self):
        for path in ("bin/portico", "share/portico/examples/portico.toml",
                     "lib/systemd/system/portico.service", "share/doc/portico/api.md"):
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, path)), path)
        self.assertTrue(os.access(self.bin, os.X_OK))
        with open(os.path.join(self.prefix, "lib/systemd/system/portico.service")) as f:
            unit = f.read()
        # The unit starts the binary where this prefix put it.
        self.assertIn(f"ExecStart={self.bin} serve --config /etc/portico/portico.toml", unit)

    def test_the_installed_binary_serves_on_its_own(self):
        # From an empty directory, with the installed binary only: generate, import, serve.
        with tempfile.TemporaryDirectory() as work:
            def run(*args):
                r = subprocess.run([self.bin, *args], cwd=work, capture_output=True, text=True,
                                   timeout=300)
                self.assertEqual(r.returncode, 0, r.stderr)
                return r
            self.assertIn("serve", run("--help").stdout)
            data = os.path.join(work, "demo.ndjson")
            run("generate", "--members", "2", "--out", data)
            db = os.path.join(work, "p.db")
            self.assertIn("0 files failed", run("import", "--db", f"sqlite:{db}", data).stdout)
            # Server() starts the binary portico_test.BIN names: the installed one here.
            saved, portico_test.BIN = portico_test.BIN, self.bin
            try:
                server = Server(db)
            finally:
                portico_test.BIN = saved
            try:
                meta = server.get("/fhir/metadata")
                self.assertEqual(meta.status, 200, meta.body)
                self.assertEqual(meta.json()["resourceType"], "CapabilityStatement")
                self.assertEqual(server.get("/healthz").status, 200)
                self.assertEqual(server.get("/readyz").status, 200)
            finally:
                server.stop()

if __name__ == "__main__":
    unittest.main()
