"""Helpers for integration tests: run the real `portico` binary and talk HTTP to it."""

import gzip
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
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
    raise AssertionError("the shared fixtures (../shared/fixtures beside the checkout) are "
                         "required")


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


def db_arg(db):
    """The --db value for `db`: a SQLite path, or a full --db value (sqlite:..., postgresql://)."""
    if db.startswith("sqlite:") or "://" in db:
        return db
    return f"sqlite:{db}"


class Server:
    """A `portico serve` process on a free port with its own database. `db_path` is a SQLite
    path or a full --db value (e.g. a postgresql:// URL). `listen` picks the address (default a
    free port); requests go to the address it listens on, even when --base-url names another."""

    def __init__(self, db_path, extra_args=(), config=None, listen="127.0.0.1:0"):
        self.db_path = db_path
        args = [BIN, "serve", "--db", db_arg(db_path), "--listen", listen]
        if config is not None:
            if "://" in db_path:
                fd, cfg = tempfile.mkstemp(prefix="portico-config-", suffix=".toml")
                os.close(fd)
            else:
                cfg = db_path + ".toml"
            with open(cfg, "w") as f:
                f.write(config)
            args += ["--config", cfg]
        args += list(extra_args)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.base = None
        listening = None
        for line in self.proc.stdout:
            if line.startswith("Portico listening on "):
                listening = line.strip().split(" on ", 1)[1]
            if line.startswith("FHIR base URL: "):
                self.base = line.strip().split(": ", 1)[1]
                break
        if self.base is None:
            err = self.proc.stderr.read()
            raise AssertionError(f"server did not start: {err}")
        self.public_root = self.base[: -len("/fhir")]
        self.root = f"http://{listening}" if listening else self.public_root
        self.default_token = None
        parsed = urllib.parse.urlparse(self.root)
        self.host, self.port = parsed.hostname, parsed.port
        # Drain output so the pipes never fill.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.stderr_lines = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def operator_token(self):
        """Uses a read-only system/*.read operator token for every request without one."""
        self.default_token = run("token", "--db", db_arg(self.db_path), "--base-url",
                                 self.public_root).stdout.strip()
        return self.default_token

    def request(self, method, path, body=None, headers=None, raw_url=False):
        url = path if raw_url else (self.root + path)
        headers = dict(headers or {})
        if self.default_token and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = "Bearer " + self.default_token
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
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


# ---- SMART / OAuth helpers ------------------------------------------------------------------

import base64
import hashlib
import html
import http.cookiejar
import re
import secrets


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def pkce_pair():
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


PG_BIN = os.environ.get("PORTICO_TEST_PG_BIN", "/usr/lib/postgresql/15/bin")


def psql(url, sql):
    """Runs one SQL statement with psql (PostgreSQL's client from PORTICO_TEST_PG_BIN if there);
    returns what it printed (unaligned, tuples only), stripped."""
    psql_bin = shutil.which("psql")
    if os.path.exists(os.path.join(PG_BIN, "psql")):
        psql_bin = os.path.join(PG_BIN, "psql")
    out = subprocess.run([psql_bin, "-v", "ON_ERROR_STOP=1", "-q", "-At", "-d", url, "-c", sql],
                         capture_output=True, timeout=60, text=True)
    if out.returncode != 0:
        raise AssertionError(f"psql failed: {sql}: {out.stderr.strip()}")
    return out.stdout.strip()


class PostgresCluster:
    """A PostgreSQL server of one test's own (initdb, a free loopback port, fsync off), for the
    tests that must not share the test command's server: one that fills a tablespace (checkpoints
    then fail server-wide) and one that takes a base backup (which copies every database and
    tablespace). As root it runs as the postgres OS user, as scripts/with-postgres.sh does."""

    AS_PG = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def __init__(self, directory, initdb=True):
        self.data = directory
        self.port = None
        if initdb:
            self.tool("initdb", "-D", directory, "-U", "portico", "--auth=trust",
                      "--locale=C.UTF-8", "--encoding=UTF8")

    @staticmethod
    def make_dir(prefix):
        """A temporary directory the server's user may write to."""
        d = tempfile.mkdtemp(prefix=prefix)
        os.chmod(d, 0o755)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres", "postgres")
        return d

    @classmethod
    def tool(cls, name, *args, check=True):
        out = subprocess.run(cls.AS_PG + [os.path.join(PG_BIN, name), *args],
                             capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise AssertionError(f"{name} failed: {out.stdout}{out.stderr}")
        return out

    def start(self, *settings):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = self.data + ".log"
        out = self.tool("pg_ctl", "-D", self.data, "-l", log, "-w", "-t", "60", "-o",
                        f"-p {port} -k {os.path.dirname(self.data)} "
                        "-c listen_addresses=127.0.0.1 -c fsync=off " + " ".join(settings),
                        "start", check=False)
        if out.returncode != 0:
            with open(log) as f:
                raise AssertionError(f"PostgreSQL did not start: {out.stderr}{f.read()}")
        self.port = port
        return self

    def url(self, db="postgres"):
        return f"postgresql://portico@127.0.0.1:{self.port}/{db}"

    def base_backup(self, directory):
        """A standby of this server (pg_basebackup -R), not started yet."""
        self.tool("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "portico",
                  "-D", directory, "-R", "-X", "stream", "-c", "fast")
        return PostgresCluster(directory, initdb=False)

    def stop(self):
        if self.port is not None:
            self.tool("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
            self.port = None


def jwt_claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def _der(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _der_int(raw):
    raw = raw.lstrip(b"\0") or b"\0"
    return _der(0x02, (b"\0" + raw) if raw[0] & 0x80 else raw)


def _b64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_to_pem(jwk):
    """SubjectPublicKeyInfo PEM of a public RSA or EC P-256 JWK, built from its members alone."""
    if jwk["kty"] == "RSA":
        alg = _der(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")
        key = _der(0x30, _der_int(_b64u(jwk["n"])) + _der_int(_b64u(jwk["e"])))
    else:
        assert jwk["crv"] == "P-256", jwk
        alg = _der(0x30, bytes.fromhex("06072a8648ce3d0201" "06082a8648ce3d030107"))
        key = b"\x04" + _b64u(jwk["x"]) + _b64u(jwk["y"])
    der = _der(0x30, alg + _der(0x03, b"\0" + key))
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def jws_verifies(token, jwks):
    """True when `token`'s signature verifies with the JWKS key its kid names, checked by the
    openssl command line tool (independent of Portico's code). RS256 and ES256 only."""
    head_b64, payload_b64, sig_b64 = token.split(".")
    header = json.loads(_b64u(head_b64))
    keys = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    if len(keys) != 1 or header.get("alg") not in ("RS256", "ES256"):
        return False
    sig = _b64u(sig_b64)
    if header["alg"] == "ES256":
        if keys[0]["kty"] != "EC" or len(sig) != 64:
            return False
        sig = _der(0x30, _der_int(sig[:32]) + _der_int(sig[32:]))
    elif keys[0]["kty"] != "RSA":
        return False
    with tempfile.TemporaryDirectory() as d:
        for name, data in (("key.pem", jwk_to_pem(keys[0]).encode()), ("sig", sig),
                           ("input", f"{head_b64}.{payload_b64}".encode())):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", os.path.join(d, "key.pem"),
                            "-signature", os.path.join(d, "sig"), os.path.join(d, "input")],
                           capture_output=True, text=True)
        return r.returncode == 0 and "Verified OK" in r.stdout


def register_client(db, client_id="app", redirect="http://app.example/cb", secret=None,
                    public=False, extra=()):
    args = ["client", "add", "--db", db_arg(db), "--client-id", client_id,
            "--redirect-uri", redirect, "--name", f"{client_id} app", *extra]
    if public:
        args.append("--public")
        return run(*args), None
    if secret is None:
        secret = "s3cret-" + client_id + "-0123456789abcdef"
    args.append("--secret-stdin")
    return run(*args, input=secret + "\n"), secret


def add_user(db, username, password, patient=None, represents=(), fhir_user=None):
    args = ["user", "add", "--db", db_arg(db), "--username", username, "--password-stdin"]
    if patient:
        args += ["--patient", patient]
    for r in represents:
        args += ["--represents", r]
    if fhir_user:
        args += ["--fhir-user", fhir_user]
    return run(*args, input=password + "\n")


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects (to see the app redirect)."""

    def __init__(self, server):
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def open(self, method, url, form=None):
        if url.startswith("/"):
            url = self.server.root + url
        data = None
        headers = {}
        if form is not None:
            data = urllib.parse.urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, \
                    resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def form_fields(page):
    fields = {}
    for name, value in re.findall(r'name="(tx|csrf)" value="([^"]*)"', page):
        fields[name] = html.unescape(value)
    return fields


def authorize(server, client_id, redirect_uri, scope, username, password, patient=None,
              untick=(), deny=False, aud=None, state="st-123", nonce="n-456", pkce=True,
              extra=None, browser=None):
    """Walks /authorize, login, picker and consent. Returns (result dict, verifier): the query
    parameters of the redirect back to the app, or {"page_status": .., "page": ..} when the flow
    stops on a page."""
    b = browser or Browser(server)
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": state, "aud": aud or server.base, "nonce": nonce}
    if pkce:
        params.update({"code_challenge": challenge, "code_challenge_method": "S256"})
    if extra:
        params.update(extra)
    status, headers, page = b.open("GET", "/oauth/authorize?" + urllib.parse.urlencode(params))
    steps = 0
    while steps < 8:
        steps += 1
        if status in (301, 302, 303):
            loc = headers["location"]
            if loc.startswith(redirect_uri):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
                return {k: v[0] for k, v in q.items()}, verifier
            status, headers, page = b.open("GET", loc)
            continue
        if status != 200:
            return {"page_status": status, "page": page}, verifier
        f = form_fields(page)
        if 'name="password"' in page:
            f.update({"username": username, "password": password})
            status, headers, page = b.open("POST", "/oauth/login", f)
        elif 'name="patient"' in page:
            choices = re.findall(r'name="patient" value="([^"]*)"', page)
            f["patient"] = patient or choices[0]
            status, headers, page = b.open("POST", "/oauth/pick", f)
        elif 'name="decision"' in page:
            scopes = [html.unescape(s) for s in re.findall(r'name="scope" value="([^"]*)"', page)]
            f["scope"] = [s for s in scopes if s not in untick]
            f["decision"] = "deny" if deny else "allow"
            status, headers, page = b.open("POST", "/oauth/consent", f)
        else:
            return {"page_status": status, "page": page}, verifier
    raise AssertionError("authorization flow did not finish")


def token_request(server, form, basic=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(
            f"{basic[0]}:{basic[1]}".encode()).decode()
    return server.request("POST", "/oauth/token", body=urllib.parse.urlencode(form),
                          headers=headers)


def exchange(server, code, verifier, client_id, secret, redirect_uri):
    return token_request(server, {"grant_type": "authorization_code", "code": code,
                                  "code_verifier": verifier, "redirect_uri": redirect_uri},
                         basic=(client_id, secret) if secret else None) if secret else \
        token_request(server, {"grant_type": "authorization_code", "code": code,
                               "code_verifier": verifier, "redirect_uri": redirect_uri,
                               "client_id": client_id})


# ---- SMART Backend Services helpers (client_credentials with private_key_jwt) ---------------


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def add_backend_client(db, directory, client_id="feed", scope="system/*.cruds"):
    """Registers a Backend Services client (a data feed) whose JWKS holds the public half of a
    new RSA key (kid CLIENT_ID-1, RS384). Returns the path of the private key (PEM)."""
    key = os.path.join(directory, f"{client_id}.pem")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    modulus = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"],
                             check=True, capture_output=True, text=True).stdout
    n = bytes.fromhex(modulus.strip().split("=", 1)[1])
    jwks = os.path.join(directory, f"{client_id}-jwks.json")
    with open(jwks, "w") as f:
        json.dump({"keys": [{"kty": "RSA", "kid": f"{client_id}-1", "alg": "RS384",
                             "n": b64url(n), "e": "AQAB"}]}, f)
    run("client", "add", "--db", db_arg(db), "--client-id", client_id,
        "--redirect-uri", "https://feed.example/none", "--jwks-file", jwks, "--scope", scope)
    return key


def client_assertion(server, key, client_id="feed"):
    """A private_key_jwt client assertion for `server`'s token endpoint, signed with `key`."""
    claims = {"iss": client_id, "sub": client_id, "aud": server.root + "/oauth/token",
              "exp": int(time.time()) + 120, "jti": b64url(os.urandom(12))}
    header = b64url(json.dumps({"alg": "RS384", "kid": f"{client_id}-1", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha384", "-sign", key],
                         input=f"{header}.{body}".encode(), check=True,
                         capture_output=True).stdout
    return f"{header}.{body}.{b64url(sig)}"


def backend_token(server, key, scope, client_id="feed"):
    """An access token from the client_credentials grant (SMART Backend Services)."""
    r = token_request(server, {
        "grant_type": "client_credentials", "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(server, key, client_id)})
    assert r.status == 200, r.body
    return r.json()["access_token"]
