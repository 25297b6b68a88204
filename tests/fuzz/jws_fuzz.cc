// Compact JWS/JWT: bearer access tokens and SMART client assertions. auth::DecodeJwsUnverified
// (the client-assertion "iss" lookup), auth::VerifyJwsDetailed against a fixed key set (RSA,
// P-256, P-384 with alg ES384) under several allow-lists, claim checks (ValidateClaims,
// GetNumericDate) and the base64/base64url codecs.
//
// Invariants: a verified token used an allowed, supported algorithm and a kid of the key set,
// and decodes unverified to the same header and claims; base64url and base64 decoding is
// canonical (re-encoding gives the input back) and encoding round-trips.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/auth/base64url.h"
#include "src/auth/jwk.h"
#include "src/auth/jws.h"
#include "src/auth/jwt_claims.h"
#include "src/json/json.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/fuzz_util.h"

namespace auth = portico::auth;

namespace {

const auth::KeySet& Keys() {
  static const auth::KeySet* keys = [] {
    auto v = portico::json::Parse(portico::fuzz::kFuzzJwks);
    if (!v.ok()) portico::fuzz::Fail("jwks json");
    auto ks = auth::KeySet::FromJwks(*v);
    if (!ks.ok() || ks->size() != 3) portico::fuzz::Fail("jwks", ks.status().message());
    return new auth::KeySet(std::move(*ks));
  }();
  return *keys;
}

void CheckVerified(std::string_view token, const std::vector<std::string>& allowed) {
  auto v = auth::VerifyJwsDetailed(token, Keys(), allowed);
  if (!v.ok()) {
    return;
  }
  std::string alg(v->header.GetString("alg"));
  bool listed = false;
  for (const auto& a : allowed) listed |= a == alg;
  FUZZ_CHECK(listed && auth::IsSupportedVerifyAlgorithm(alg), token);
  FUZZ_CHECK(Keys().Find(v->kid) != nullptr, token);
  FUZZ_CHECK(v->claims.is_object() && v->header.is_object(), token);
  auto u = auth::DecodeJwsUnverified(token);
  FUZZ_CHECK(u.ok() && u->claims == v->claims && u->header == v->header, token);
  (void)auth::ValidateClaims(v->claims, "fuzz-client", "http://localhost:8080/oauth/token",
                             1717243200, 60);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = portico::fuzz::AsView(data, size);

  auto u = auth::DecodeJwsUnverified(in);
  if (u.ok()) {
    FUZZ_CHECK(u->header.is_object() && u->claims.is_object(), in);
    (void)u->claims.GetString("iss");
    for (const char* claim : {"exp", "iat", "nbf"}) {
      (void)auth::GetNumericDate(u->claims, claim);
    }
    (void)auth::ValidateClaims(u->claims, "fuzz-client", "http://localhost:8080/oauth/token",
                               1717243200, 60);
  }
  CheckVerified(in, {"RS256"});
  CheckVerified(in, {"RS384", "ES384", "RS256", "ES256"});
  CheckVerified(in, {"none", "HS256", "RS512", "ES256"});

  if (auto d = auth::Base64UrlDecode(in); d.ok()) {
    FUZZ_CHECK(auth::Base64UrlEncode(*d) == in, in);
  }
  if (auto d = auth::Base64Decode(in); d.ok()) {
    FUZZ_CHECK(auth::Base64Encode(*d) == in, in);
  }
  auto e = auth::Base64UrlDecode(auth::Base64UrlEncode(in));
  FUZZ_CHECK(e.ok() && *e == in, in);
  auto s = auth::Base64Decode(auth::Base64Encode(in));
  FUZZ_CHECK(s.ok() && *s == in, in);
  return 0;
}
