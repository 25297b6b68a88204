"""HTTPS in the server itself: TLS 1.2 and 1.3 only, HSTS, the same API over TLS."""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from portico_test import BIN


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="portico-tls-")
        cls.cert = os.path.join(cls.dir, "cert.pem")
        cls.key = os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", cls.key, "-out", cls.cert], check=True, capture_output=True)
        cls.proc = subprocess.Popen(
            [BIN, "serve", "--db", f"sqlite:{os.path.join(cls.dir, 'tls.db')}", "--listen",
             "127.0.0.1:0", "--tls-cert", cls.cert, "--tls-key", cls.key],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cls.base = None
        for line in cls.proc.stdout:
            if line.startswith("FHIR base URL: "):
                cls.base = line.strip().split(": ", 1)[1]
                break
        assert cls.base and cls.base.startswith("https://"), cls.base
        cls.port = int(cls.base.split(":")[2].split("/")[0])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=15)
        cls.proc.stdout.close()
        cls.proc.stderr.close()
        shutil.rmtree(cls.dir, True)

    def context(self, minimum=None, maximum=None):
        ctx = ssl.create_default_context(cafile=self.cert)
        if minimum:
            ctx.minimum_version = minimum
        if maximum:
            ctx.maximum_version = maximum
        return ctx

    def get(self, ctx, path="/fhir/metadata"):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=10)
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r, body

    def test_tls13_and_tls12_work_with_hsts(self):
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            r, body = self.get(self.context(version, version))
            self.assertEqual(r.status, 200)
            self.assertEqual(json.loads(body)["fhirVersion"], "4.0.1")
            self.assertIn("max-age=", r.getheader("Strict-Transport-Security"))
        # The discovery document names https endpoints.
        r, body = self.get(self.context(), "/fhir/.well-known/smart-configuration")
        self.assertTrue(json.loads(body)["token_endpoint"].startswith("https://"))

    def test_old_protocols_are_refused(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            self.skipTest("this Python/OpenSSL cannot offer TLS 1.1 at all")
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
                with ctx.wrap_socket(raw) as s:
                    s.sendall(b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n")
                    s.recv(100)

    def test_plain_http_on_the_tls_port_gets_nothing(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n")
            data = s.recv(100)
        self.assertNotIn(b"200 OK", data)
        # Still serving afterwards.
        r, _ = self.get(self.context())
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    unittest.main()
