#include "src/auth/jws.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "src/auth/base64url.h"
#include "src/base/digest.h"
#include "src/json/json.h"

namespace portico::auth {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

json::Value ParseJson(std::string_view text) {
  StatusOr<json::Value> v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : json::Value();
}

// Builds "b64(header).b64(payload)" from raw JSON text.
std::string SigningInput(std::string_view header, std::string_view payload) {
  return Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
}

std::string SignRsManually(const SigningKey& key, std::string_view header,
                           std::string_view payload) {
  std::string input = SigningInput(header, payload);
  StatusOr<std::string> sig = key.Sign(input);
  EXPECT_TRUE(sig.ok());
  return input + "." + Base64UrlEncode(sig.ok() ? *sig : "");
}

// ECDSA with OpenSSL directly; returns the JOSE R || S form, or DER when `der` is set.
std::string EcSign(EVP_PKEY* pkey, const EVP_MD* md, int coord, std::string_view input,
                   bool der = false) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey), 1);
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, in, input.size()), 1);
  std::string sig(len, '\0');
  EXPECT_EQ(
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()), 1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (der) {
    return sig;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));  // NOLINT
  EXPECT_NE(ecdsa, nullptr);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(ecdsa, &r, &s);
  std::string out(static_cast<size_t>(2 * coord), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  EXPECT_EQ(BN_bn2binpad(r, o, coord), coord);
  EXPECT_EQ(BN_bn2binpad(s, o + coord, coord), coord);
  ECDSA_SIG_free(ecdsa);
  return out;
}

std::string BnParamB64(const EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
  std::string out(static_cast<size_t>(pad), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  BN_free(bn);
  return Base64UrlEncode(out);
}

json::Value EcJwk(EVP_PKEY* pkey, const char* crv, int coord, const char* kid) {
  json::Value jwk = json::Value::MakeObject();
  jwk.Set("kty", json::Value::String("EC"));
  jwk.Set("crv", json::Value::String(crv));
  jwk.Set("x", json::Value::String(BnParamB64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, coord)));
  jwk.Set("y", json::Value::String(BnParamB64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, coord)));
  jwk.Set("kid", json::Value::String(kid));
  return jwk;
}

class JwsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = new SigningKey(*SigningKey::Generate());
    other_ = new SigningKey(*SigningKey::Generate());
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_;
  }

  KeySet OneKeySet() const {
    KeySet set;
    EXPECT_TRUE(set.Add(key_->public_key()).ok());
    return set;
  }

  json::Value Claims() const {
    return ParseJson(R"({"iss":"https://portico.example","sub":"u1","aud":"https://fhir",)"
                     R"("exp":2000000000,"scope":"patient/*.rs","n":1.50})");
  }

  // Expects an Unauthenticated failure whose message does not leak the token or its parts.
  static void ExpectRejected(std::string_view token, const KeySet& keys,
                             const std::vector<std::string>& algs, std::string_view why) {
    StatusOr<json::Value> r = VerifyJws(token, keys, algs);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << why;
    const std::string& msg = r.status().message();
    EXPECT_FALSE(msg.empty());
    for (std::string_view part :
         {token.substr(0, token.find('.')), token.substr(token.rfind('.') + 1)}) {
      if (part.size() >= 8) {
        EXPECT_EQ(msg.find(part), std::string::npos) << why << ": " << msg;
      }
    }
  }

  static SigningKey* key_;
  static SigningKey* other_;
};

SigningKey* JwsTest::key_ = nullptr;
SigningKey* JwsTest::other_ = nullptr;

TEST_F(JwsTest, SignVerifyRoundTrip) {
  StatusOr<std::string> token = SignJwt(*key_, Claims());
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  StatusOr<json::Value> claims = VerifyJws(*token, OneKeySet(), {"RS256"});
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(*claims, Claims());
  EXPECT_EQ(claims->Find("n")->str(), "1.50");  // Number text survives.

  StatusOr<VerifiedJws> detailed = VerifyJwsDetailed(*token, OneKeySet(), {"RS256"});
  ASSERT_TRUE(detailed.ok());
  EXPECT_EQ(json::Serialize(detailed->header),
            R"({"alg":"RS256","typ":"JWT","kid":")" + key_->kid() + "\"}");
  EXPECT_EQ(detailed->kid, key_->kid());

  StatusOr<std::string> at = SignJwt(*key_, Claims(), "at+jwt");
  ASSERT_TRUE(at.ok());
  StatusOr<VerifiedJws> at_verified = VerifyJwsDetailed(*at, OneKeySet(), {"RS256"});
  ASSERT_TRUE(at_verified.ok());
  EXPECT_EQ(at_verified->header.GetString("typ"), "at+jwt");
}

TEST_F(JwsTest, Es256SignVerifyRoundTrip) {
  StatusOr<SigningKey> ec = SigningKey::Generate(KeyType::kEcP256);
  ASSERT_TRUE(ec.ok());
  StatusOr<std::string> token = SignJwt(*ec, Claims(), "at+jwt");
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  KeySet set;
  ASSERT_TRUE(set.Add(key_->public_key()).ok());
  ASSERT_TRUE(set.Add(ec->public_key()).ok());
  StatusOr<VerifiedJws> verified = VerifyJwsDetailed(*token, set, {"ES256", "RS256"});
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(json::Serialize(verified->header),
            R"({"alg":"ES256","typ":"at+jwt","kid":")" + ec->kid() + "\"}");
  EXPECT_EQ(verified->claims, Claims());
  // Only where ES256 is allowed, and only with the EC key: relabelling the header as RS256
  // with the RSA key's kid fails.
  ExpectRejected(*token, set, {"RS256"}, "ES256 not allowed");
  std::string payload = token->substr(token->find('.') + 1);
  std::string relabelled =
      Base64UrlEncode(R"({"alg":"RS256","typ":"at+jwt","kid":")" + key_->kid() + "\"}") + "." +
      payload;
  ExpectRejected(relabelled, set, {"ES256", "RS256"}, "ES256 signature labelled RS256");
}

TEST_F(JwsTest, SignRejectsNonObjectClaimsAndOversizeTokens) {
  EXPECT_FALSE(SignJwt(*key_, json::Value::MakeArray()).ok());
  json::Value big = Claims();
  big.Set("pad", json::Value::String(std::string(kMaxJwsSize, 'x')));
  StatusOr<std::string> token = SignJwt(*key_, big);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), StatusCode::kResourceExhausted);
}

TEST_F(JwsTest, KeyRotationVerifiesCurrentAndPrevious) {
  KeySet set;
  ASSERT_TRUE(set.Add(key_->public_key()).ok());
  ASSERT_TRUE(set.Add(other_->public_key()).ok());
  for (const SigningKey* k : {key_, other_}) {
    StatusOr<std::string> token = SignJwt(*k, Claims());
    ASSERT_TRUE(token.ok());
    EXPECT_TRUE(VerifyJws(*token, set, {"RS256"}).ok());
  }
  // Verification through a JWKS document, as a client would do.
  StatusOr<KeySet> from_jwks = KeySet::FromJwks(set.Jwks());
  ASSERT_TRUE(from_jwks.ok());
  StatusOr<std::string> token = SignJwt(*other_, Claims());
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(VerifyJws(*token, *from_jwks, {"RS256"}).ok());
}

TEST_F(JwsTest, TamperingIsDetected) {
  StatusOr<std::string> token = SignJwt(*key_, Claims());
  ASSERT_TRUE(token.ok());
  const std::string& t = *token;
  size_t dot1 = t.find('.');
  size_t dot2 = t.rfind('.');
  std::string header = t.substr(0, dot1);
  std::string payload = t.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string sig = t.substr(dot2 + 1);
  KeySet keys = OneKeySet();

  // Payload: escalate the scope.
  json::Value evil = Claims();
  evil.Set("scope", json::Value::String("system/*.cruds"));
  ExpectRejected(header + "." + Base64UrlEncode(json::Serialize(evil)) + "." + sig, keys, {"RS256"},
                 "tampered payload");
  // Signature: change one character in the middle.
  std::string bad_sig = sig;
  bad_sig[bad_sig.size() / 2] = bad_sig[bad_sig.size() / 2] == 'A' ? 'B' : 'A';
  ExpectRejected(header + "." + payload + "." + bad_sig, keys, {"RS256"}, "tampered signature");
  // Truncated signature.
  ExpectRejected(header + "." + payload + "." + sig.substr(0, sig.size() - 4), keys, {"RS256"},
                 "truncated signature");
  // Header: add a member (same alg and kid).
  std::string header2 =
      Base64UrlEncode(R"({"alg":"RS256","typ":"JWT","kid":")" + key_->kid() + R"(","x":1})");
  ExpectRejected(header2 + "." + payload + "." + sig, keys, {"RS256"}, "tampered header");
  // Signature of another key with the same kid claimed.
  std::string forged = SignRsManually(*other_, R"({"alg":"RS256","kid":")" + key_->kid() + "\"}",
                                      json::Serialize(Claims()));
  ExpectRejected(forged, keys, {"RS256"}, "signed by another key");
  // Swap signature between two valid tokens.
  StatusOr<std::string> token2 = SignJwt(*key_, evil);
  ASSERT_TRUE(token2.ok());
  ExpectRejected(header + "." + payload + "." + token2->substr(token2->rfind('.') + 1), keys,
                 {"RS256"}, "swapped signature");
  // The untampered token still verifies, so the failures above are meaningful.
  EXPECT_TRUE(VerifyJws(t, keys, {"RS256"}).ok());
}

TEST_F(JwsTest, AlgNoneIsNeverAccepted) {
  std::string payload = json::Serialize(Claims());
  std::string input = SigningInput(R"({"alg":"none","typ":"JWT"})", payload);
  KeySet keys = OneKeySet();
  ExpectRejected(input + ".", keys, {"RS256", "none"}, "alg none, empty signature");
  ExpectRejected(input + ".c2ln", keys, {"RS256", "none"}, "alg none with signature");
  ExpectRejected(SigningInput(R"({"alg":"None"})", payload) + ".c2ln", keys, {"None"}, "alg None");
  // Unsigned token with the right alg is also rejected (empty signature part).
  ExpectRejected(SigningInput(R"({"alg":"RS256"})", payload) + ".", keys, {"RS256"},
                 "empty signature");
}

TEST_F(JwsTest, HmacWithPublicKeyAsSecretIsRejected) {
  // Classic algorithm confusion: HS256 keyed with the RSA public key bytes the attacker knows.
  StatusOr<std::string> private_pem = key_->ToPem();
  ASSERT_TRUE(private_pem.ok());
  BIO* in = BIO_new_mem_buf(private_pem->data(), static_cast<int>(private_pem->size()));
  PkeyPtr pkey(PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr));
  BIO_free(in);
  ASSERT_NE(pkey, nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(out, pkey.get()), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(out, &data);  // NOLINT(google-runtime-int)
  std::string public_pem(data, static_cast<size_t>(len));
  BIO_free(out);

  KeySet keys = OneKeySet();
  std::string payload = json::Serialize(Claims());
  for (const std::string& secret : {public_pem, json::Serialize(key_->PublicJwk()),
                                    *Base64UrlDecode(key_->PublicJwk().GetString("n"))}) {
    for (const char* alg : {"HS256", "HS384", "HS512"}) {
      std::string header = std::string(R"({"alg":")") + alg + R"(","kid":")" + key_->kid() + "\"}";
      std::string input = SigningInput(header, payload);
      std::string token = input + "." + Base64UrlEncode(base::HmacSha256Bytes(secret, input));
      ExpectRejected(token, keys, {"RS256", "HS256", "HS384", "HS512"}, alg);
    }
  }
}

TEST_F(JwsTest, KeySelectionByKid) {
  KeySet only_other;
  ASSERT_TRUE(only_other.Add(other_->public_key()).ok());
  StatusOr<std::string> token = SignJwt(*key_, Claims());
  ASSERT_TRUE(token.ok());
  ExpectRejected(*token, only_other, {"RS256"}, "unknown kid");
  ExpectRejected(*token, KeySet(), {"RS256"}, "empty key set");

  std::string payload = json::Serialize(Claims());
  // No kid: accepted with exactly one key ...
  std::string no_kid = SignRsManually(*key_, R"({"alg":"RS256"})", payload);
  EXPECT_TRUE(VerifyJws(no_kid, OneKeySet(), {"RS256"}).ok());
  ExpectRejected(no_kid, only_other, {"RS256"}, "no kid, wrong single key");
  // ... but ambiguous with several.
  KeySet both = OneKeySet();
  ASSERT_TRUE(both.Add(other_->public_key()).ok());
  ExpectRejected(no_kid, both, {"RS256"}, "no kid, several keys");
  // kid must be a string.
  ExpectRejected(SignRsManually(*key_, R"({"alg":"RS256","kid":5})", payload), OneKeySet(),
                 {"RS256"}, "numeric kid");
  // An embedded "jwk" header is ignored: the attacker's key is never used.
  json::Value header = ParseJson(R"({"alg":"RS256"})");
  header.Set("kid", json::Value::String(other_->kid()));
  header.Set("jwk", other_->PublicJwk());
  ExpectRejected(SignRsManually(*other_, json::Serialize(header), payload), OneKeySet(), {"RS256"},
                 "embedded jwk");
}

TEST_F(JwsTest, AlgorithmAllowList) {
  StatusOr<std::string> token = SignJwt(*key_, Claims());
  ASSERT_TRUE(token.ok());
  ExpectRejected(*token, OneKeySet(), {"RS384", "ES256"}, "RS256 not in allow-list");
  ExpectRejected(*token, OneKeySet(), {}, "empty allow-list");
  // A key whose JWK restricts it to RS384 cannot verify RS256.
  json::Value jwk = key_->PublicJwk();
  jwk.Set("alg", json::Value::String("RS384"));
  StatusOr<KeySet> restricted =
      KeySet::FromJwks(ParseJson(std::string(R"({"keys":[)") + json::Serialize(jwk) + "]}"));
  ASSERT_TRUE(restricted.ok());
  ExpectRejected(*token, *restricted, {"RS256", "RS384"}, "JWK alg restriction");
}

TEST_F(JwsTest, StructuralChecks) {
  KeySet keys = OneKeySet();
  std::string payload = json::Serialize(Claims());
  std::string good = SignRsManually(*key_, R"({"alg":"RS256"})", payload);
  std::string sig = good.substr(good.rfind('.') + 1);
  ExpectRejected("", keys, {"RS256"}, "empty");
  ExpectRejected("abc", keys, {"RS256"}, "one part");
  ExpectRejected("a.b", keys, {"RS256"}, "two parts");
  ExpectRejected(good + ".x", keys, {"RS256"}, "four parts");
  ExpectRejected("." + good.substr(good.find('.') + 1), keys, {"RS256"}, "empty header");
  ExpectRejected(good.substr(0, good.find('.')) + ".." + sig, keys, {"RS256"}, "empty payload");
  ExpectRejected("eyJhbGciOiJSUzI1NiJ9=." + good.substr(good.find('.') + 1), keys, {"RS256"},
                 "padded header");
  ExpectRejected(SignRsManually(*key_, R"(["RS256"])", payload), keys, {"RS256"}, "header array");
  ExpectRejected(SignRsManually(*key_, R"({"alg":"RS256","alg":"RS256"})", payload), keys,
                 {"RS256"}, "duplicate header member");
  ExpectRejected(SignRsManually(*key_, R"({"typ":"JWT"})", payload), keys, {"RS256"}, "no alg");
  ExpectRejected(SignRsManually(*key_, R"({"alg":"RS256","crit":["exp"],"exp":1})", payload), keys,
                 {"RS256"}, "crit");
  ExpectRejected(SignRsManually(*key_, R"({"alg":"RS256"})", "[1,2]"), keys, {"RS256"},
                 "payload not an object");
  ExpectRejected(SignRsManually(*key_, R"({"alg":"RS256"})", "{not json"), keys, {"RS256"},
                 "payload not JSON");
  ExpectRejected(SignRsManually(*key_, R"({"alg":"RS256"})", R"({"a":1,"a":2})"), keys, {"RS256"},
                 "duplicate claim");
  // Size limit: a validly signed token over 8 KiB is refused before any crypto.
  std::string large = SignRsManually(*key_, R"({"alg":"RS256"})",
                                     R"({"pad":")" + std::string(kMaxJwsSize, 'x') + "\"}");
  ASSERT_GT(large.size(), kMaxJwsSize);
  ExpectRejected(large, keys, {"RS256"}, "oversize");
  // Sanity.
  EXPECT_TRUE(VerifyJws(good, keys, {"RS256"}).ok());
}

TEST_F(JwsTest, Es256AndEs384ClientAssertions) {
  PkeyPtr p256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  PkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  ASSERT_NE(p256, nullptr);
  ASSERT_NE(p384, nullptr);
  json::Value jwks = ParseJson(R"({"keys":[]})");
  jwks.Find("keys")->Push(EcJwk(p256.get(), "P-256", 32, "ec256"));
  jwks.Find("keys")->Push(EcJwk(p384.get(), "P-384", 48, "ec384"));
  jwks.Find("keys")->Push(key_->PublicJwk());
  StatusOr<KeySet> keys = KeySet::FromJwks(jwks);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 3u);

  std::string payload = json::Serialize(Claims());
  std::string input = SigningInput(R"({"alg":"ES256","kid":"ec256","typ":"JWT"})", payload);
  std::string token = input + "." + Base64UrlEncode(EcSign(p256.get(), EVP_sha256(), 32, input));
  StatusOr<json::Value> claims = VerifyJws(token, *keys, {"RS384", "ES256", "ES384"});
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(*claims, Claims());

  ExpectRejected(token, *keys, {"RS256", "RS384"}, "ES256 not allowed");
  // DER-encoded ECDSA signatures are not JOSE signatures.
  ExpectRejected(input + "." + Base64UrlEncode(EcSign(p256.get(), EVP_sha256(), 32, input, true)),
                 *keys, {"ES256"}, "DER signature");
  // Tampered payload.
  json::Value evil = Claims();
  evil.Set("sub", json::Value::String("admin"));
  ExpectRejected(input.substr(0, input.find('.')) + "." + Base64UrlEncode(json::Serialize(evil)) +
                     token.substr(token.rfind('.')),
                 *keys, {"ES256"}, "ES256 tampered payload");
  // Flipped signature bit.
  std::string raw = EcSign(p256.get(), EVP_sha256(), 32, input);
  raw[5] = static_cast<char>(raw[5] ^ 0x01);
  ExpectRejected(input + "." + Base64UrlEncode(raw), *keys, {"ES256"}, "ES256 flipped bit");
  // ES256 header pointing at the RSA key, and RS256 header pointing at the EC key.
  std::string wrong_key_input =
      SigningInput(R"({"alg":"ES256","kid":")" + key_->kid() + "\"}", payload);
  ExpectRejected(wrong_key_input + "." +
                     Base64UrlEncode(EcSign(p256.get(), EVP_sha256(), 32, wrong_key_input)),
                 *keys, {"ES256", "RS256"}, "ES256 with RSA key");
  ExpectRejected(SignRsManually(*key_, R"({"alg":"RS256","kid":"ec256"})", payload), *keys,
                 {"ES256", "RS256"}, "RS256 with EC key");
  // ES384 on P-384; ES384 header with the P-256 key is a mismatch.
  std::string input384 = SigningInput(R"({"alg":"ES384","kid":"ec384"})", payload);
  std::string token384 =
      input384 + "." + Base64UrlEncode(EcSign(p384.get(), EVP_sha384(), 48, input384));
  EXPECT_TRUE(VerifyJws(token384, *keys, {"ES384"}).ok());
  std::string mismatched = SigningInput(R"({"alg":"ES384","kid":"ec256"})", payload);
  ExpectRejected(
      mismatched + "." + Base64UrlEncode(EcSign(p256.get(), EVP_sha384(), 32, mismatched)), *keys,
      {"ES384"}, "ES384 with P-256 key");
}

TEST_F(JwsTest, DecodeUnverified) {
  std::string token =
      SignRsManually(*other_, R"({"alg":"RS256","kid":"k1"})", R"({"iss":"client-1"})");
  StatusOr<VerifiedJws> peek = DecodeJwsUnverified(token);
  ASSERT_TRUE(peek.ok());
  EXPECT_EQ(peek->claims.GetString("iss"), "client-1");
  EXPECT_EQ(peek->kid, "k1");
  EXPECT_FALSE(DecodeJwsUnverified("a.b").ok());
}

}  // namespace
}  // namespace portico::auth
