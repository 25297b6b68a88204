"""Helpers for integration tests: run the real `portico` binary and talk HTTP to it."""

import gzip
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request

BIN = os.environ.get("PORTICO_BIN", "portico")
SOURCE_DIR = os.environ.get(
    "PORTICO_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


def fixtures_dir():
    """The shared fixtures beside the checkout (CI has them)."""
    for candidate in (os.path.join(SOURCE_DIR, "..", "shared", "fixtures"),
                      os.environ.get("PORTICO_FIXTURES", "")):
        if candidate and os.path.isdir(candidate):
            return os.path.abspath(candidate)
    raise unittest.SkipTest("shared fixtures not found")


def run(*args, check=True, timeout=600, **kw):
    proc = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"portico {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)


class Server:
    """A `portico serve` process on a free port with its own database."""

    def __init__(self, db_path, extra_args=(), config=None):
        self.db_path = db_path
        args = [BIN, "serve", "--db", f"sqlite:{db_path}", "--listen", "127.0.0.1:0"]
        if config is not None:
            cfg = db_path + ".toml"
            with open(cfg, "w") as f:
                f.write(config)
            args += ["--config", cfg]
        args += list(extra_args)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.base = None
        for line in self.proc.stdout:
            if line.startswith("FHIR base URL: "):
                self.base = line.strip().split(": ", 1)[1]
                break
        if self.base is None:
            err = self.proc.stderr.read()
            raise AssertionError(f"server did not start: {err}")
        self.root = self.base[: -len("/fhir")]
        parsed = urllib.parse.urlparse(self.base)
        self.host, self.port = parsed.hostname, parsed.port
        # Drain output so the pipes never fill.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.stderr_lines = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def request(self, method, path, body=None, headers=None, raw_url=False):
        url = path if raw_url else (self.root + path)
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
                hdrs = {k.lower(): v for k, v in resp.headers.items()}
                status = resp.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            hdrs = {k.lower(): v for k, v in e.headers.items()}
            status = e.code
        if hdrs.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        return Response(status, hdrs, raw.decode("utf-8", errors="replace"))

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


def raw_http(host, port, data, read_timeout=30):
    """Sends raw bytes and returns the raw response (for limit tests)."""
    with socket.create_connection((host, port), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


class TempDirTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="portico-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def path(self, name):
        return os.path.join(self.tmp, name)


def strip_meta(resource):
    """A resource without the server-owned meta fields (and without an empty meta)."""
    r = json.loads(json.dumps(resource))
    meta = r.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del r["meta"]
    return r
