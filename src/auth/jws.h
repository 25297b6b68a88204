// Compact JWS / JWT signing and verification (RFC 7515, RFC 7519) hardened for bearer tokens and
// client assertions:
//   * exactly three non-empty base64url parts, total size <= kMaxJwsSize;
//   * the header is a JSON object whose "alg" must be in the caller's allow-list AND supported
//     (RS256/RS384/RS512/ES256/ES384); "none" and HS* are never accepted whatever the list says,
//     so an attacker cannot downgrade to no signature or to HMAC keyed with public key bytes;
//   * the key comes only from the caller's KeySet, chosen by "kid" (a token without kid is
//     accepted only when the set holds exactly one key); embedded "jwk"/"jku"/"x5u"/"x5c"
//     headers are ignored, and any "crit" header is rejected (no extensions are understood);
//   * the key type must match the algorithm (and the JWK "alg" restriction, if any);
//   * ES* signatures use the JOSE R || S form (RFC 7518 section 3.4);
//   * the payload is decoded and parsed only after the signature verifies, and must be a JSON
//     object without duplicate member names.
// Verification failures return Unauthenticated with a precise reason that never contains the
// token or any part of it. VerifyJws does not check claims; call ValidateClaims (jwt_claims.h).
//
// All functions are thread-safe (pure, given const inputs).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "src/auth/jwk.h"
#include "src/base/status.h"
#include "src/json/json.h"

namespace portico::auth {

inline constexpr size_t kMaxJwsSize = size_t{8} * 1024;

// Signs `claims` (must be a JSON object; InvalidArgument otherwise) as a compact JWS with the
// protected header {"alg":<key.alg()>,"typ":<typ>,"kid":<key.kid()>}. `typ` is "JWT" by default;
// RFC 9068 access tokens may pass "at+jwt". Fails with ResourceExhausted if the result would
// exceed kMaxJwsSize (it could then never be verified).
StatusOr<std::string> SignJwt(const SigningKey& key, const json::Value& claims,
                              std::string_view typ = "JWT");

struct VerifiedJws {
  json::Value header;  // The protected header (a JSON object).
  json::Value claims;  // The payload (a JSON object).
  std::string kid;     // kid of the key that verified the signature.
};

// Verifies `token` against `keys` with the algorithms in `allowed_algs` (e.g. {"RS256"} for our
// access tokens; {"RS384", "ES384"} for SMART backend-services client assertions) and returns
// the claims. See the file comment for the exact rules.
StatusOr<json::Value> VerifyJws(std::string_view token, const KeySet& keys,
                                const std::vector<std::string>& allowed_algs);

// As VerifyJws, also returning the header (e.g. to check "typ") and the verifying kid.
StatusOr<VerifiedJws> VerifyJwsDetailed(std::string_view token, const KeySet& keys,
                                        const std::vector<std::string>& allowed_algs);

// UNVERIFIED: decodes the header and payload objects of a structurally valid compact JWS without
// checking the signature. Only for choosing which key set to verify with (e.g. reading "iss" of
// a client assertion to look up the client's JWKS); never trust the result otherwise.
StatusOr<VerifiedJws> DecodeJwsUnverified(std::string_view token);

}  // namespace portico::auth
