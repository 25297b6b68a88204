// JSON Web Keys (RFC 7517/7518) for the authorization server's token-signing keys and for the
// public keys of clients and issuers (SMART Backend Services / private_key_jwt client assertions).
//
// Supported public keys: RSA (2048..8192 bits; RS256/RS384/RS512) and EC on P-256 (ES256) and
// P-384 (ES384). Signing keys are RSA (RS256) or EC P-256 (ES256). Key ids default to the RFC
// 7638 JWK thumbprint, base64url-encoded.
//
// Thread-safety: PublicKey, SigningKey and KeySet are immutable after construction (KeySet::Add
// excepted) and cheap to copy (the OpenSSL key is shared and never mutated); concurrent const use
// from any number of threads is safe. Mutating a KeySet requires external synchronization;
// publish a new KeySet instead of mutating a shared one.
//
// Secrets: SigningKey::ToPem returns unencrypted private key material; never log it. No error
// message in this module contains key material.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/base/status.h"
#include "src/json/json.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header.

namespace portico::auth {

enum class KeyType { kRsa, kEcP256, kEcP384 };

// True for the JWS algorithms this module can verify: RS256, RS384, RS512, ES256, ES384. Never
// true for "none" or any HMAC ("HS*") algorithm.
bool IsSupportedVerifyAlgorithm(std::string_view alg);

// An immutable public key for JWS signature verification.
class PublicKey {
 public:
  // Imports a public JWK. Requirements: kty "RSA" with "n" and "e", or kty "EC" with crv "P-256"
  // or "P-384" and full-length "x"/"y" on the curve (validated). Optional members: "kid" (a
  // non-empty string; defaults to the thumbprint), "use" (must be "sig"), "key_ops" (must
  // contain "verify"), "alg" (must be a supported algorithm matching the key type; restricts the
  // key to it). JWKs containing private members ("d", "p", "q", ...) are rejected so private
  // keys are never accepted where public ones are expected. Unknown members are ignored.
  // Returns InvalidArgument on failure.
  static StatusOr<PublicKey> FromJwk(const json::Value& jwk);

  KeyType type() const { return type_; }
  // The JWK "kid", or the RFC 7638 thumbprint when the JWK had none.
  const std::string& kid() const { return kid_; }
  // RFC 7638 SHA-256 JWK thumbprint, base64url without padding.
  const std::string& thumbprint() const { return thumbprint_; }
  // The JWK "alg" restriction, or "" when unrestricted.
  const std::string& alg() const { return alg_; }

  // True when `alg` is supported, matches the key type (RS* for RSA, ES256 for P-256, ES384 for
  // P-384) and the key's "alg" restriction, if any.
  bool SupportsAlgorithm(std::string_view alg) const;

  // The public JWK: {kty, n, e | crv, x, y, kid, [alg], use: "sig"}.
  json::Value ToJwk() const;

  // Verifies a JWS signature over `signing_input` (ASCII "header.payload"). For ES* the
  // signature is the JOSE form R || S (RFC 7518 section 3.4), not DER. Returns Unauthenticated
  // if the algorithm is not usable with this key or the signature does not verify.
  Status VerifySignature(std::string_view alg, std::string_view signing_input,
                         std::string_view signature) const;

 private:
  friend class SigningKey;
  PublicKey() = default;
  // Builds from a public-only OpenSSL key; computes the thumbprint.
  static StatusOr<PublicKey> FromPkey(std::shared_ptr<evp_pkey_st> pkey, KeyType type);

  std::shared_ptr<evp_pkey_st> pkey_;
  KeyType type_ = KeyType::kRsa;
  std::string kid_;
  std::string thumbprint_;
  std::string alg_;
  // Canonical base64url members: RSA {n, e}; EC {x, y} (crv follows from type_).
  std::string a_;
  std::string b_;
};

// One of the server's private signing keys: RSA (RS256; ID tokens, which SMART requires to be
// RS256) or EC P-256 (ES256; access tokens, about a tenth of RSA's signing cost). kid is the
// RFC 7638 thumbprint of its public key.
class SigningKey {
 public:
  // Generates a fresh key from the OpenSSL CSPRNG: RSA-2048 for kRsa, P-256 for kEcP256
  // (InvalidArgument for kEcP384).
  static StatusOr<SigningKey> Generate(KeyType type = KeyType::kRsa);
  // Loads an unencrypted private key (PKCS#8 "PRIVATE KEY", or the traditional RSA/EC forms):
  // RSA of at least 2048 bits, or EC on P-256. Encrypted PEMs are rejected (there is no
  // passphrase prompt). Returns InvalidArgument on failure; the message never contains the
  // input.
  static StatusOr<SigningKey> FromPem(std::string_view pem);

  // Unencrypted PKCS#8 PEM of the private key. SECRET: store with restrictive permissions.
  StatusOr<std::string> ToPem() const;

  KeyType type() const { return public_key_.type(); }
  // "RS256" or "ES256".
  const std::string& alg() const { return public_key_.alg(); }
  const std::string& kid() const { return public_key_.kid(); }
  // {kty:"RSA", n, e | kty:"EC", crv:"P-256", x, y; kid, alg, use:"sig"}.
  json::Value PublicJwk() const { return public_key_.ToJwk(); }
  const PublicKey& public_key() const { return public_key_; }

  // Signs `signing_input` with alg(): RSASSA-PKCS1-v1_5 with SHA-256, or ECDSA P-256 with
  // SHA-256 in the JOSE form R || S (64 bytes). Returns the raw signature bytes.
  StatusOr<std::string> Sign(std::string_view signing_input) const;

 private:
  SigningKey(std::shared_ptr<evp_pkey_st> pkey, PublicKey public_key)
      : pkey_(std::move(pkey)), public_key_(std::move(public_key)) {}
  static StatusOr<SigningKey> FromPrivatePkey(std::shared_ptr<evp_pkey_st> pkey);

  std::shared_ptr<evp_pkey_st> pkey_;
  PublicKey public_key_;
};

// Public keys indexed by kid: the server's current and previous signing keys (rotation), or a
// client's / issuer's JWKS.
class KeySet {
 public:
  static constexpr size_t kMaxKeys = 64;

  KeySet() = default;

  // Parses {"keys": [...]}. Keys that this module cannot use are skipped per RFC 7517 section 5
  // (unknown kty, unsupported crv or alg, use other than "sig", key_ops without "verify"); a
  // usable-looking key that is malformed, a duplicate kid, a missing "keys" array or more than
  // kMaxKeys entries fail with InvalidArgument.
  static StatusOr<KeySet> FromJwks(const json::Value& jwks);

  // Adds a key; InvalidArgument if its kid is already present or the set is full.
  Status Add(PublicKey key);
  // The key with this kid, or nullptr.
  const PublicKey* Find(std::string_view kid) const;

  const std::vector<PublicKey>& keys() const { return keys_; }
  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  // {"keys": [ToJwk() of each key, in insertion order]}, for /.well-known/jwks.json.
  json::Value Jwks() const;

 private:
  std::vector<PublicKey> keys_;
};

}  // namespace portico::auth
