// JSON Web Key Sets of clients and issuers (registered inline or fetched from jwks_uri):
// auth::KeySet::FromJwks and auth::PublicKey::FromJwk, which import RSA and EC keys into
// OpenSSL. Invariants: an imported key set re-exports (Jwks()) to a set that imports again with
// the same kids and thumbprints; a single imported key round-trips through ToJwk().
#include <cstddef>
#include <cstdint>

#include "src/auth/jwk.h"
#include "src/json/json.h"
#include "tests/fuzz/fuzz_util.h"

namespace auth = portico::auth;
namespace json = portico::json;

namespace {

// OpenSSL's RSA public-key check (EVP_PKEY_public_check) runs Miller-Rabin with random bases on
// the modulus, so a garbage modulus (not a product of two large primes) may pass once and fail on
// re-import. Real keys always pass; only that validation failure is tolerated.
bool RandomizedCheckFailed(const portico::Status& s) {
  return s.message() == "JWK public key failed validation";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto v = json::Parse(portico::fuzz::AsView(data, size));
  if (!v.ok()) {
    return 0;
  }
  auto ks = auth::KeySet::FromJwks(*v);
  if (ks.ok()) {
    FUZZ_CHECK(ks->size() <= auth::KeySet::kMaxKeys, json::Serialize(*v));
    json::Value out = ks->Jwks();
    auto again = auth::KeySet::FromJwks(out);
    if (!again.ok() && RandomizedCheckFailed(again.status())) {
      return 0;
    }
    FUZZ_CHECK(again.ok() && again->size() == ks->size(),
               json::Serialize(out) + "\n" + std::string(again.status().message()));
    for (size_t i = 0; i < ks->size(); ++i) {
      const auth::PublicKey& a = ks->keys()[i];
      const auth::PublicKey& b = again->keys()[i];
      FUZZ_CHECK(a.kid() == b.kid() && a.thumbprint() == b.thumbprint() && a.alg() == b.alg() &&
                     a.type() == b.type(),
                 json::Serialize(out));
      FUZZ_CHECK(ks->Find(a.kid()) != nullptr, a.kid());
    }
  }
  auto key = auth::PublicKey::FromJwk(*v);
  if (key.ok()) {
    json::Value jwk = key->ToJwk();
    auto again = auth::PublicKey::FromJwk(jwk);
    if (!again.ok() && RandomizedCheckFailed(again.status())) {
      return 0;
    }
    FUZZ_CHECK(again.ok() && again->thumbprint() == key->thumbprint() &&
                   again->kid() == key->kid(),
               json::Serialize(jwk));
    for (const char* alg : {"RS256", "RS384", "RS512", "ES256", "ES384", "none", "HS256"}) {
      (void)key->SupportsAlgorithm(alg);
    }
    // A bogus signature never verifies.
    FUZZ_CHECK(!key->VerifySignature("RS256", "a.b", std::string(256, 'x')).ok(), "rs");
    FUZZ_CHECK(!key->VerifySignature("ES256", "a.b", std::string(64, 'x')).ok(), "es");
  }
  return 0;
}
