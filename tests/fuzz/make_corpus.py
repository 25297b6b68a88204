#!/usr/bin/env python3
"""Regenerates the seed corpora in corpus/<target>/ (small, real inputs).

FHIR JSON seeds come from the shared fixtures (minified, trimmed to small files); JWT seeds are
minted with the throwaway keys in keys/. Run from anywhere: tests/fuzz/make_corpus.py [FIXTURES]
(default ../shared/fixtures beside the checkout). The output is checked in; regenerate only to change the seeds.
"""
import base64
import hashlib
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
FIXTURES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "fixtures")
NOW = 1717243200  # the fixed clock of oauth_fuzz / jws_fuzz
TOKEN_URL = "http://localhost:8080/oauth/token"
VERIFIER = "fuzz-verifier-0123456789abcdefghijklmnopqrstuvwxyz"


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def minify(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def key(name):
    with open(os.path.join(HERE, "keys", name), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def jwt(header, claims, alg=None):
    alg = alg or header["alg"]
    si = b64(minify(header).encode()) + "." + b64(minify(claims).encode())
    data = si.encode()
    if alg.startswith("RS"):
        h = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}[alg]
        sig = key("rsa.pem").sign(data, padding.PKCS1v15(), h)
    elif alg == "ES256":
        r, s = decode_dss_signature(key("ec256.pem").sign(data, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "ES384":
        r, s = decode_dss_signature(key("ec384.pem").sign(data, ec.ECDSA(hashes.SHA384())))
        sig = r.to_bytes(48, "big") + s.to_bytes(48, "big")
    else:
        sig = b"not-a-signature"
    return si + "." + b64(sig)


def assertion(alg="RS384", kid="fuzz-rsa", **over):
    claims = {"iss": "backend", "sub": "backend", "aud": TOKEN_URL, "exp": NOW + 240,
              "iat": NOW, "jti": "j-" + alg + kid}
    claims.update(over)
    return jwt({"alg": alg, "kid": kid, "typ": "JWT"}, claims)


def fixtures(limit_bytes=6000):
    """Small minified FHIR resources from the fixtures, a few per resource type."""
    picked, per_type = [], {}
    for root, _, files in sorted(os.walk(FIXTURES)):
        for f in sorted(files):
            if not f.endswith(".json"):
                continue
            try:
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    v = json.load(fh)
            except (ValueError, UnicodeDecodeError):
                continue
            if not isinstance(v, dict) or "resourceType" not in v:
                continue
            text = minify(v)
            t = v["resourceType"]
            if len(text) > limit_bytes or per_type.get(t, 0) >= 2:
                continue
            per_type[t] = per_type.get(t, 0) + 1
            picked.append((t + "-" + f[:-5], v))
    return picked


def main():
    # Replace the generated seeds; keep the reproducers of fixed bugs (regress-*).
    for root, _, files in os.walk(CORPUS):
        for f in files:
            if not f.startswith("regress-"):
                os.remove(os.path.join(root, f))
    res = fixtures()

    # json_fuzz: a few resources plus JSON edge cases.
    for name, v in res[:8]:
        write("json_fuzz", name + ".json", minify(v))
    for i, text in enumerate([
        '{"a":[1,-0,1.50,2e10,-3.25E-7,true,false,null],"b":{"c":"\\u00e9\\ud83d\\ude00\\n"}}',
        '[[[[[[[[[[[]]]]]]]]]]]', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '{"a":1,"a":2}', '  123  ',
        '{"x":"\u00e9\u4e2d"}', '[1e400,0.000000000000000000001]']):
        write("json_fuzz", "edge-%d.json" % i, text)

    # form_fuzz: query strings and form bodies.
    forms = ["name=Shaw&birthdate=ge1987-02-20", "a=1&b=%20x+y&c=%E2%82%AC&&d",
             "grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2Flocalhost%2Fcb",
             "code=a%5C%2Cb%5C%7Cc%5C%24d%5C%5C", "x=%zz", "_count=10&_sort=-date,code",
             "value-quantity=5.4|http://unitsofmeasure.org|mg", "=empty&novalue="]
    for i, f in enumerate(forms):
        write("form_fuzz", "form-%d" % i, f)

    # date_fuzz
    for i, d in enumerate(["2024", "2024-06", "2024-06-01", "2024-06-01T12:30", "2024-06-01T12:30:15Z",
                           "2024-06-01T12:30:15.123+05:30", "2024-02-29T23:59:59.9999-12:00",
                           "0001-01-01", "9999-12-31T23:59:59Z", "Sat, 01 Jun 2024 12:00:00 GMT",
                           "Thu, 01 Jan 1970 00:00:00 GMT", "2024-06-01T24:00:00Z"]):
        write("date_fuzz", "date-%d" % i, d)

    # search_fuzz: "Type\nflags\nquery".
    searches = [
        ("Patient", "", "name=Shaw&birthdate=ge1987-02-20&gender=female"),
        ("Patient", "s", "family:exact=Shaw&_id=p1,p2&identifier=http://hospital.org|123"),
        ("Patient", "", "name:contains=ha&_count=5&_sort=-birthdate,name&_total=accurate"),
        ("Observation", "b", "patient=Patient/p1&category=laboratory&code=http://loinc.org|2339-0"),
        ("Observation", "", "value-quantity=gt5.4|http://unitsofmeasure.org|mg&date=le2024-06"),
        ("Observation", "", "code-value-quantity=http://loinc.org|8480-6$lt60&_lastUpdated=gt2020"),
        ("Observation", "b", "subject=http://localhost:8080/fhir/Patient/p1&_elements=code,value"),
        ("Condition", "", "patient=p1&clinical-status=active,recurrence&onset-date=ap2020-01-01"),
        ("Encounter", "", "date=ge2018-01-01&date=lt2019&class=AMB&_include=Encounter:patient"),
        ("ExplanationOfBenefit", "", "patient=p1&_include=ExplanationOfBenefit:*&type=pharmacy"),
        ("ExplanationOfBenefit", "", "service-date=ge2019&_lastUpdated=le2024-06-01T00:00:00Z"),
        ("Coverage", "", "beneficiary=Patient/p1&identifier=http://example.org/member|M123"),
        ("Patient", "", "_has:Observation:patient:code=1234-5&_revinclude=Observation:patient"),
        ("Observation", "", "patient.name=Shaw&subject:Patient.birthdate=1987"),
        ("MedicationRequest", "", "patient=p1&intent=order&status=active&_include=MedicationRequest:medication"),
        ("DiagnosticReport", "", "patient=p1&category=LAB&code:text=panel&date=sa2020&status:not=final"),
        ("DocumentReference", "", "patient=p1&type=http://loinc.org|34117-2&period=eb2024"),
        ("Procedure", "", "patient=p1&date=ne2020-01-01&code:missing=false&_summary=count"),
        ("Organization", "", "name=Acme&address=Boston&_security=http://x|y&_tag=a|b&_profile=http://p"),
        ("Practitioner", "", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NPI|123"),
        ("Patient", "", "_cursor=n~12~t~Shaw&_sort=name"),
        ("Observation", "", "code:below=http://snomed.info/sct|123&value-concept:not=x&_offset=10"),
        ("Immunization", "", "patient=p1&date=2020-01-01T00:00:00.000Z&status=completed&_count=0"),
        ("Goal", "", "patient=p1&lifecycle-status=active&target-date=gt2020"),
        ("AllergyIntolerance", "s", "patient=p1&clinical-status=active&bogus=1"),
        ("Location", "", "address-city=Ann%20Arbor&address-state=MI&name:exact=HL7%20East"),
    ]
    for i, (t, fl, q) in enumerate(searches):
        write("search_fuzz", "search-%02d" % i, "%s\n%s\n%s" % (t, fl, q))

    # fhir_json_fuzz: resources, Bundles, NDJSON, $member-match Parameters.
    for name, v in res[:24]:
        write("fhir_json_fuzz", name + ".json", minify(v))
    pat = {"resourceType": "Patient", "name": [{"family": "Shaw", "given": ["Amy"]}],
           "gender": "female", "birthDate": "1987-02-20"}
    old = {"resourceType": "Coverage", "status": "active",
           "identifier": [{"system": "http://example.org/member", "value": "M123"}],
           "beneficiary": {"reference": "Patient/1"}, "payor": [{"display": "Old"}]}
    new = dict(old, identifier=[{"value": "N1"}], payor=[{"display": "New"}])
    write("fhir_json_fuzz", "member-match.json", minify({"resourceType": "Parameters", "parameter": [
        {"name": "MemberPatient", "resource": pat}, {"name": "OldCoverage", "resource": old},
        {"name": "NewCoverage", "resource": new}]}))
    write("fhir_json_fuzz", "validate-params.json", minify({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": dict(pat, id="x", contained=[old])}]}))
    write("fhir_json_fuzz", "transaction.json", minify({"resourceType": "Bundle", "type": "transaction",
        "entry": [{"fullUrl": "urn:uuid:6c2f1e4a-9d6b-4b0e-8a53-6f9c0a7e1d11", "resource": pat,
                   "request": {"method": "POST", "url": "Patient"}},
                  {"resource": dict(old, id="c9", beneficiary={
                      "reference": "urn:uuid:6c2f1e4a-9d6b-4b0e-8a53-6f9c0a7e1d11"}),
                   "request": {"method": "PUT", "url": "Coverage/c9"}},
                  {"request": {"method": "DELETE", "url": "Observation/o1"}}]}))
    write("fhir_json_fuzz", "import.ndjson", minify(dict(pat, id="n1")) + "\n" +
          minify(dict(old, id="n2", beneficiary={"reference": "Patient/n1"})) + "\n")
    write("fhir_json_fuzz", "ext.json", minify({"resourceType": "Patient", "id": "e1",
        "extension": [{"url": "http://x", "valueCodeableConcept": {"text": "t"}},
                      {"url": "http://y", "extension": [{"url": "a", "valueString": "b"}]}],
        "_birthDate": {"extension": [{"url": "http://z", "valueBoolean": True}]},
        "birthDate": "2015-04-02", "deceasedBoolean": False, "multipleBirthInteger": 2,
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}))

    # jws_fuzz: tokens signed with the keys in keys/, plus malformed ones.
    claims = {"iss": "fuzz-client", "sub": "fuzz-client", "aud": TOKEN_URL, "exp": NOW + 240,
              "iat": NOW, "nbf": NOW - 10, "jti": "1"}
    toks = [
        jwt({"alg": "RS256", "kid": "fuzz-rsa", "typ": "JWT"}, claims),
        jwt({"alg": "RS384", "kid": "fuzz-rsa"}, dict(claims, aud=[TOKEN_URL, "x"])),
        jwt({"alg": "RS512", "kid": "fuzz-rsa"}, dict(claims, exp=NOW + 0.5)),
        jwt({"alg": "ES256", "kid": "fuzz-p256"}, claims),
        jwt({"alg": "ES384", "kid": "fuzz-p384"}, claims),
        jwt({"alg": "ES384", "kid": "fuzz-p256"}, claims),
        jwt({"alg": "RS256"}, claims),
        jwt({"alg": "none", "kid": "fuzz-rsa"}, claims),
        jwt({"alg": "HS256", "kid": "fuzz-rsa"}, claims),
        jwt({"alg": "RS256", "kid": "fuzz-rsa", "crit": ["exp"]}, claims),
        jwt({"alg": "RS256", "kid": "fuzz-rsa", "jwk": {"kty": "RSA"}}, {"a": 1, "a": 2}),
        "eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.", "a.b.c", "SGVsbG8gd29ybGQ=", "AQID",
    ]
    for i, t in enumerate(toks):
        write("jws_fuzz", "jws-%02d" % i, t)

    # jwks_fuzz
    with open(os.path.join(HERE, "keys", "jwks.json")) as f:
        jwks = json.load(f)
    write("jwks_fuzz", "jwks.json", minify(jwks))
    for i, k in enumerate(jwks["keys"]):
        write("jwks_fuzz", "key-%d.json" % i, minify(k))
    write("jwks_fuzz", "skipped.json", minify({"keys": [
        {"kty": "oct", "k": "AAAA"}, {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"},
        dict(jwks["keys"][0], use="enc"), dict(jwks["keys"][1], key_ops=["sign"], kid="k2"),
        dict(jwks["keys"][1], alg="RS256", kid="k3")]}))
    write("jwks_fuzz", "private.json", minify({"keys": [dict(jwks["keys"][1], d="AAAA")]}))
    write("jwks_fuzz", "dup.json", minify({"keys": [jwks["keys"][1], jwks["keys"][1]]}))
    write("jwks_fuzz", "bad-ec.json", minify({"keys": [dict(jwks["keys"][1], x=b64(b"\x00" * 32))]}))

    # scopes_fuzz: "requested\ngranted".
    scopes = [
        ("launch/patient openid fhirUser offline_access patient/*.read", "patient/*.read openid"),
        ("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
         "patient/Observation.rs"),
        ("user/Patient.cruds system/*.* patient/Condition.write", "user/*.cruds"),
        ("patient/Observation.rs?category=vital-signs&code=8480-6 patient/Observation.rs?category=laboratory",
         "patient/Observation.rs?category=laboratory"),
        ("patient/Patient.read patient/Patient.rs patient/Patient.read bogus/scope", "patient/Patient.r"),
        ("system/ExplanationOfBenefit.s?type=pharmacy%20x&service-date=ge2020", "system/*.rs"),
        ("  profile   launch   online_access launch/encounter  ", ""),
        ("patient/*.*", "patient/*.read patient/*.write"),
    ]
    for i, (a, b) in enumerate(scopes):
        write("scopes_fuzz", "scopes-%d" % i, a + "\n" + b)

    # toml_fuzz
    tomls = [
        'db = "sqlite:portico.db"\nlisten = "127.0.0.1:8080"\nbase_url = "https://api.example.com"\n'
        'threads = 4\naccess_log = true\n',
        '[server]\nlisten = "[::1]:9090"\nmax_body_bytes = 16777216\nheader_timeout_seconds = 10\n'
        '[database]\nurl = "postgresql://portico@db:5432/portico"\nread_url = "postgres://r@db2/p"\n'
        'pool_size = 16\nconnect_timeout_seconds = 5\nacquire_timeout_ms = 5000\n'
        'statement_timeout_ms = 30000\n[fhir]\ndefault_count = 20\nmax_count = 200\n'
        'paging_secret = """multi\nline"""\naccess_token_seconds = 1800\ncode_seconds = 60\n'
        'refresh_days = 120\n',
        'listen = "localhost:0x1F90"\nthreads = 9223372036854775807\n# comment\n'
        'arr = [1, 2.5, "x", { a = 1 }]\ndate = 2024-06-01T12:00:00Z\n[[t]]\nx = 1\n',
        "db = 'sqlite://tmp/x.db'\nlisten = \"\\u00e9:80\"\n[server.nested]\nk = inf\n",
    ]
    for i, t in enumerate(tomls):
        write("toml_fuzz", "config-%d.toml" % i, t)

    # http_fuzz: raw requests.
    reqs = [
        "GET /fhir/Patient?name=Shaw&_count=10 HTTP/1.1\r\nHost: localhost\r\nAccept: application/fhir+json\r\n"
        "Authorization: Bearer abc\r\nAccept-Encoding: gzip, deflate\r\n\r\n",
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 37\r\nCookie: portico_session=abc; other=1\r\n\r\ngrant_type=refresh_token&refresh_token",
        "POST /fhir/Patient/_search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n5\r\nname=\r\n4;ext=1\r\nShaw\r\n0\r\nTrailer: x\r\n\r\n",
        "GET /fhir/Patient/%70%31 HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n",
        "PUT /fhir/Patient/p1 HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\nIf-Match: W/\"1\"\r\n\r\n{}",
        "GET http://x/abs?x HTTP/1.1\r\nHost: x\r\n\r\n", "GET /%zz HTTP/1.1\r\n\r\n",
    ]
    for i, r in enumerate(reqs):
        write("http_fuzz", "req-%d" % i, r)

    # oauth_fuzz: "METHOD /path\nCookie\nAuthorization\nparams".
    challenge = b64(hashlib.sha256(VERIFIER.encode()).digest())
    basic = "Basic " + base64.b64encode(b"app:secret").decode()
    oauth = [
        ("GET /oauth/authorize", "", "", "response_type=code&client_id=app&redirect_uri=http%3A%2F%2F"
         "localhost%2Fcb&scope=launch%2Fpatient+openid+fhirUser+patient%2F*.rs&state=xyz&aud=http%3A%2F%2F"
         "localhost%3A8080%2Ffhir&code_challenge=" + challenge + "&code_challenge_method=S256"),
        ("POST /oauth/authorize", "portico_session=FUZZSESSION", "", "response_type=code&client_id=app"
         "&redirect_uri=http://localhost/cb&scope=patient/Observation.rs?category=laboratory&state=s"
         "&aud=http://localhost:8080/fhir&code_challenge=" + challenge + "&code_challenge_method=plain"),
        ("POST /oauth/token", "", "", "grant_type=authorization_code&code=FUZZCODE&redirect_uri="
         "http%3A%2F%2Flocalhost%2Fcb&client_id=app&code_verifier=" + VERIFIER),
        ("POST /oauth/token", "", "", "grant_type=authorization_code&code=FUZZCODE&redirect_uri="
         "http://localhost/cb&client_id=app&code_verifier=wrong-verifier-0123456789abcdefghijklmnopq"),
        ("POST /oauth/token", "", "", "grant_type=client_credentials&scope=system%2F*.rs"
         "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
         "&client_assertion=" + assertion()),
        ("POST /oauth/token", "", "", "grant_type=client_credentials&scope=system/Patient.rs"
         "&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
         "&client_assertion=" + assertion("ES384", "fuzz-p384")),
        ("POST /oauth/token", "", "", "grant_type=client_credentials&client_id=backend"
         "&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
         "&client_assertion=" + assertion("ES256", "fuzz-p256", exp=NOW + 3600)),
        ("POST /oauth/token", "", basic, "grant_type=refresh_token&refresh_token=abc&scope=patient/*.rs"),
        ("POST /oauth/introspect", "", "Bearer x", "token=" + toks[0]),
        ("POST /oauth/revoke", "", "", "token=abc&token_type_hint=refresh_token&client_id=app"),
        ("GET /oauth/userinfo", "", "Bearer " + toks[0], ""),
        ("GET /oauth/login", "portico_session=FUZZSESSION; theme=dark", "", "tx=FUZZTX"),
        ("GET /oauth/pick", "a=b;portico_session=FUZZSESSION", "", "tx=FUZZTX"),
        ("POST /oauth/pick", "portico_session=FUZZSESSION", "", "tx=FUZZTX&csrf=FUZZCSRF&patient=p1"),
        ("GET /oauth/consent", "portico_session=FUZZSESSION", "", "tx=FUZZTX"),
        ("POST /oauth/consent", "portico_session=FUZZSESSION", "", "tx=FUZZTX&csrf=FUZZCSRF&decision=allow"
         "&scope=launch/patient&scope=patient/*.rs&scope=openid"),
        ("POST /oauth/consent", "portico_session=FUZZSESSION", "", "tx=FUZZTX&csrf=FUZZCSRF&decision=deny"),
        ("GET /.well-known/smart-configuration", "", "", ""),
        ("GET /oauth/jwks", "", "", ""),
    ]
    for i, (m, c, a, p) in enumerate(oauth):
        write("oauth_fuzz", "oauth-%02d" % i, "\n".join([m, c, a, p]))


if __name__ == "__main__":
    main()
