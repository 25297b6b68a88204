#include "src/auth/jwk.h"

#include <array>
#include <string>
#include <utility>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "src/auth/base64url.h"
#include "src/base/digest.h"

namespace portico::auth {
namespace {

constexpr size_t kMinRsaBits = 2048;
constexpr size_t kMaxRsaBits = 8192;
constexpr int kGeneratedRsaBits = 2048;
constexpr size_t kMaxPemSize = size_t{64} * 1024;

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

std::shared_ptr<EVP_PKEY> SharePkey(EVP_PKEY* p) { return {p, EVP_PKEY_free}; }

// Drops queued OpenSSL errors so they cannot surface in unrelated later calls. OpenSSL reasons
// are deliberately not included in messages: they can describe attacker-supplied input.
void ClearOpenSslErrors() { ERR_clear_error(); }

struct AlgInfo {
  std::string_view name;
  bool rsa;         // RS* (else ES*)
  KeyType ec_type;  // for ES*
  const EVP_MD* (*md)();
};

constexpr std::array<AlgInfo, 5> kAlgs = {{
    {"RS256", true, KeyType::kRsa, EVP_sha256},
    {"RS384", true, KeyType::kRsa, EVP_sha384},
    {"RS512", true, KeyType::kRsa, EVP_sha512},
    {"ES256", false, KeyType::kEcP256, EVP_sha256},
    {"ES384", false, KeyType::kEcP384, EVP_sha384},
}};

const AlgInfo* FindAlg(std::string_view alg) {
  for (const AlgInfo& a : kAlgs) {
    if (a.name == alg) {
      return &a;
    }
  }
  return nullptr;
}

bool AlgMatchesType(const AlgInfo& a, KeyType type) {
  return a.rsa ? type == KeyType::kRsa : type == a.ec_type;
}

size_t EcCoordinateSize(KeyType type) { return type == KeyType::kEcP384 ? 48 : 32; }
std::string_view CurveJwkName(KeyType type) { return type == KeyType::kEcP384 ? "P-384" : "P-256"; }
const char* CurveOpenSslName(KeyType type) {
  return type == KeyType::kEcP384 ? "secp384r1" : "prime256v1";
}

std::string BnToBytes(const BIGNUM* bn, size_t pad_to) {
  size_t len = static_cast<size_t>(BN_num_bytes(bn));
  size_t out_len = len < pad_to ? pad_to : len;
  std::string out(out_len, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out_len));
  return out;
}

StatusOr<std::string> GetBnParam(const EVP_PKEY* pkey, const char* name, size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1 || raw == nullptr) {
    ClearOpenSslErrors();
    return InternalError("cannot read key parameter");
  }
  BnPtr bn(raw);
  return BnToBytes(bn.get(), pad_to);
}

StatusOr<std::string> RequiredB64Member(const json::Value& jwk, std::string_view name) {
  const json::Value* v = jwk.Find(name);
  if (v == nullptr || !v->is_string() || v->str().empty()) {
    return InvalidArgumentError("JWK member \"" + std::string(name) +
                                "\" must be a non-empty string");
  }
  StatusOr<std::string> decoded = Base64UrlDecode(v->str());
  if (!decoded.ok()) {
    return InvalidArgumentError("JWK member \"" + std::string(name) + "\" is not valid base64url");
  }
  return decoded;
}

std::string_view StripLeadingZeros(std::string_view s) {
  while (!s.empty() && s.front() == '\0') {
    s.remove_prefix(1);
  }
  return s;
}

// Creates a public-only EVP_PKEY of `type_name` from the built parameters, then runs OpenSSL's
// public-key validation (point on curve, RSA modulus/exponent sanity).
StatusOr<std::shared_ptr<EVP_PKEY>> PublicFromParams(const char* type_name, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 ||
      raw == nullptr) {
    ClearOpenSslErrors();
    return InvalidArgumentError("JWK does not describe a valid public key");
  }
  std::shared_ptr<EVP_PKEY> pkey = SharePkey(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ClearOpenSslErrors();
    return InvalidArgumentError("JWK public key failed validation");
  }
  return pkey;
}

StatusOr<std::shared_ptr<EVP_PKEY>> RsaPublicFromBytes(std::string_view n, std::string_view e) {
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()),
                       nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()),
                       nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bn_n == nullptr || bn_e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    ClearOpenSslErrors();
    return InternalError("cannot build RSA public key");
  }
  return PublicFromParams("RSA", bld.get());
}

StatusOr<std::shared_ptr<EVP_PKEY>> EcPublicFromBytes(KeyType type, std::string_view x,
                                                      std::string_view y) {
  std::string point;
  point.reserve(1 + x.size() + y.size());
  point.push_back('\x04');  // SEC 1 uncompressed point.
  point.append(x);
  point.append(y);
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, CurveOpenSslName(type),
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    ClearOpenSslErrors();
    return InternalError("cannot build EC public key");
  }
  return PublicFromParams("EC", bld.get());
}

std::string Thumbprint(KeyType type, const std::string& a, const std::string& b) {
  // RFC 7638 section 3.2: required members only, lexicographic order, no whitespace. The
  // values are base64url, so no JSON escaping is needed.
  std::string canonical;
  if (type == KeyType::kRsa) {
    canonical = "{\"e\":\"" + b + "\",\"kty\":\"RSA\",\"n\":\"" + a + "\"}";
  } else {
    canonical = "{\"crv\":\"" + std::string(CurveJwkName(type)) + "\",\"kty\":\"EC\",\"x\":\"" + a +
                "\",\"y\":\"" + b + "\"}";
  }
  return Base64UrlEncode(base::Sha256Bytes(canonical));
}

// Converts a JOSE ECDSA signature R || S to the DER form OpenSSL verifies.
StatusOr<std::string> JoseEcdsaToDer(std::string_view sig, size_t coord) {
  if (sig.size() != 2 * coord) {
    return UnauthenticatedError("JWS signature has the wrong length for the algorithm");
  }
  EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), static_cast<int>(coord),
                        nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data() + coord),
                        static_cast<int>(coord), nullptr);
  if (ecdsa == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(ecdsa.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ClearOpenSslErrors();
    return InternalError("cannot encode ECDSA signature");
  }
  int len = i2d_ECDSA_SIG(ecdsa.get(), nullptr);
  if (len <= 0) {
    ClearOpenSslErrors();
    return InternalError("cannot encode ECDSA signature");
  }
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(ecdsa.get(), &p) != len) {
    ClearOpenSslErrors();
    return InternalError("cannot encode ECDSA signature");
  }
  return der;
}

bool IsPrivateMember(std::string_view key) {
  static constexpr std::array<std::string_view, 7> kPrivate = {"d",  "p",  "q",  "dp",
                                                               "dq", "qi", "oth"};
  for (std::string_view p : kPrivate) {
    if (p == key) {
      return true;
    }
  }
  return false;
}

// Why a JWK is not usable for verification by this module (skipped in a JWKS), or "" if usable.
std::string UnusableReason(const json::Value& jwk) {
  std::string_view kty = jwk.GetString("kty");
  if (kty != "RSA" && kty != "EC") {
    return "unsupported JWK kty";
  }
  if (kty == "EC") {
    std::string_view crv = jwk.GetString("crv");
    if (crv != "P-256" && crv != "P-384") {
      return "unsupported JWK crv";
    }
  }
  if (const json::Value* use = jwk.Find("use"); use != nullptr) {
    if (!use->is_string() || use->str() != "sig") {
      return "JWK \"use\" is not \"sig\"";
    }
  }
  if (const json::Value* ops = jwk.Find("key_ops"); ops != nullptr) {
    bool verify = false;
    if (ops->is_array()) {
      for (const json::Value& op : ops->array()) {
        verify = verify || (op.is_string() && op.str() == "verify");
      }
    }
    if (!verify) {
      return "JWK \"key_ops\" does not include \"verify\"";
    }
  }
  if (const json::Value* alg = jwk.Find("alg"); alg != nullptr) {
    if (!alg->is_string() || FindAlg(alg->str()) == nullptr) {
      return "unsupported JWK alg";
    }
  }
  return "";
}

}  // namespace

bool IsSupportedVerifyAlgorithm(std::string_view alg) { return FindAlg(alg) != nullptr; }

// ---------------------------------------------------------------------------------------------
// PublicKey

StatusOr<PublicKey> PublicKey::FromPkey(std::shared_ptr<EVP_PKEY> pkey, KeyType type) {
  PublicKey key;
  if (type == KeyType::kRsa) {
    ASSIGN_OR_RETURN(std::string n, GetBnParam(pkey.get(), OSSL_PKEY_PARAM_RSA_N, 0));
    ASSIGN_OR_RETURN(std::string e, GetBnParam(pkey.get(), OSSL_PKEY_PARAM_RSA_E, 0));
    key.a_ = Base64UrlEncode(n);
    key.b_ = Base64UrlEncode(e);
  } else {
    size_t coord = EcCoordinateSize(type);
    ASSIGN_OR_RETURN(std::string x, GetBnParam(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, coord));
    ASSIGN_OR_RETURN(std::string y, GetBnParam(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, coord));
    key.a_ = Base64UrlEncode(x);
    key.b_ = Base64UrlEncode(y);
  }
  key.pkey_ = std::move(pkey);
  key.type_ = type;
  key.thumbprint_ = Thumbprint(type, key.a_, key.b_);
  key.kid_ = key.thumbprint_;
  return key;
}

StatusOr<PublicKey> PublicKey::FromJwk(const json::Value& jwk) {
  if (!jwk.is_object()) {
    return InvalidArgumentError("JWK must be a JSON object");
  }
  for (const json::Value::Member& m : jwk.object()) {
    if (IsPrivateMember(m.key)) {
      return InvalidArgumentError("JWK contains private key material");
    }
  }
  if (std::string reason = UnusableReason(jwk); !reason.empty()) {
    return InvalidArgumentError(reason);
  }
  KeyType type = KeyType::kRsa;
  std::shared_ptr<EVP_PKEY> pkey;
  if (jwk.GetString("kty") == "RSA") {
    ASSIGN_OR_RETURN(std::string n_raw, RequiredB64Member(jwk, "n"));
    ASSIGN_OR_RETURN(std::string e_raw, RequiredB64Member(jwk, "e"));
    // RFC 7518 requires minimal encodings; tolerate leading zero octets but canonicalize.
    std::string_view n = StripLeadingZeros(n_raw);
    std::string_view e = StripLeadingZeros(e_raw);
    if (n.size() < kMinRsaBits / 8 || n.size() > kMaxRsaBits / 8) {
      return InvalidArgumentError("RSA JWK modulus size is outside 2048..8192 bits");
    }
    if (e.empty() || e.size() > 8) {
      return InvalidArgumentError("RSA JWK exponent is invalid");
    }
    ASSIGN_OR_RETURN(pkey, RsaPublicFromBytes(n, e));
    int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < static_cast<int>(kMinRsaBits) || bits > static_cast<int>(kMaxRsaBits)) {
      return InvalidArgumentError("RSA JWK modulus size is outside 2048..8192 bits");
    }
  } else {
    type = jwk.GetString("crv") == "P-384" ? KeyType::kEcP384 : KeyType::kEcP256;
    ASSIGN_OR_RETURN(std::string x, RequiredB64Member(jwk, "x"));
    ASSIGN_OR_RETURN(std::string y, RequiredB64Member(jwk, "y"));
    size_t coord = EcCoordinateSize(type);
    if (x.size() != coord || y.size() != coord) {
      return InvalidArgumentError("EC JWK coordinates must be full-length for the curve");
    }
    ASSIGN_OR_RETURN(pkey, EcPublicFromBytes(type, x, y));
  }
  ASSIGN_OR_RETURN(PublicKey key, FromPkey(std::move(pkey), type));
  if (const json::Value* alg = jwk.Find("alg"); alg != nullptr) {
    const AlgInfo* info = FindAlg(alg->str());  // Known: UnusableReason checked it.
    if (info == nullptr || !AlgMatchesType(*info, type)) {
      return InvalidArgumentError("JWK alg does not match its key type");
    }
    key.alg_ = alg->str();
  }
  if (const json::Value* kid = jwk.Find("kid"); kid != nullptr) {
    if (!kid->is_string() || kid->str().empty()) {
      return InvalidArgumentError("JWK kid must be a non-empty string");
    }
    key.kid_ = kid->str();
  }
  return key;
}

bool PublicKey::SupportsAlgorithm(std::string_view alg) const {
  const AlgInfo* info = FindAlg(alg);
  if (info == nullptr || !AlgMatchesType(*info, type_)) {
    return false;
  }
  return alg_.empty() || alg_ == alg;
}

json::Value PublicKey::ToJwk() const {
  json::Value jwk = json::Value::MakeObject();
  if (type_ == KeyType::kRsa) {
    jwk.Set("kty", json::Value::String("RSA"));
    jwk.Set("n", json::Value::String(a_));
    jwk.Set("e", json::Value::String(b_));
  } else {
    jwk.Set("kty", json::Value::String("EC"));
    jwk.Set("crv", json::Value::String(std::string(CurveJwkName(type_))));
    jwk.Set("x", json::Value::String(a_));
    jwk.Set("y", json::Value::String(b_));
  }
  jwk.Set("kid", json::Value::String(kid_));
  if (!alg_.empty()) {
    jwk.Set("alg", json::Value::String(alg_));
  }
  jwk.Set("use", json::Value::String("sig"));
  return jwk;
}

Status PublicKey::VerifySignature(std::string_view alg, std::string_view signing_input,
                                  std::string_view signature) const {
  const AlgInfo* info = FindAlg(alg);
  if (info == nullptr || !SupportsAlgorithm(alg)) {
    return UnauthenticatedError("JWS algorithm is not usable with the selected key");
  }
  std::string der;
  if (!info->rsa) {
    ASSIGN_OR_RETURN(der, JoseEcdsaToDer(signature, EcCoordinateSize(type_)));
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), &pctx, info->md(), nullptr, pkey_.get()) != 1 ||
      (info->rsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)) {
    ClearOpenSslErrors();
    return InternalError("cannot initialize signature verification");
  }
  int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  if (rc != 1) {
    ClearOpenSslErrors();
    return UnauthenticatedError("JWS signature verification failed");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// SigningKey

StatusOr<SigningKey> SigningKey::FromPrivatePkey(std::shared_ptr<EVP_PKEY> pkey) {
  const bool rsa = EVP_PKEY_is_a(pkey.get(), "RSA") == 1;
  if (rsa) {
    int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < static_cast<int>(kMinRsaBits) || bits > static_cast<int>(kMaxRsaBits)) {
      return InvalidArgumentError("RSA signing key must have 2048..8192 bits");
    }
  } else {
    std::array<char, 64> group{};
    size_t group_len = 0;
    if (EVP_PKEY_is_a(pkey.get(), "EC") != 1 ||
        EVP_PKEY_get_group_name(pkey.get(), group.data(), group.size(), &group_len) != 1 ||
        std::string_view(group.data(), group_len) != CurveOpenSslName(KeyType::kEcP256)) {
      ClearOpenSslErrors();
      return InvalidArgumentError("signing key must be an RSA key or an EC key on P-256");
    }
  }
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_pairwise_check(check.get()) != 1) {
    ClearOpenSslErrors();
    return InvalidArgumentError("signing key failed consistency checks");
  }
  // A separate public-only key for verification, so PublicKey never holds private material.
  std::shared_ptr<EVP_PKEY> pub;
  KeyType type = KeyType::kRsa;
  if (rsa) {
    ASSIGN_OR_RETURN(std::string n, GetBnParam(pkey.get(), OSSL_PKEY_PARAM_RSA_N, 0));
    ASSIGN_OR_RETURN(std::string e, GetBnParam(pkey.get(), OSSL_PKEY_PARAM_RSA_E, 0));
    ASSIGN_OR_RETURN(pub, RsaPublicFromBytes(n, e));
  } else {
    type = KeyType::kEcP256;
    size_t coord = EcCoordinateSize(type);
    ASSIGN_OR_RETURN(std::string x, GetBnParam(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, coord));
    ASSIGN_OR_RETURN(std::string y, GetBnParam(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, coord));
    ASSIGN_OR_RETURN(pub, EcPublicFromBytes(type, x, y));
  }
  ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::FromPkey(std::move(pub), type));
  public_key.alg_ = rsa ? "RS256" : "ES256";
  return SigningKey(std::move(pkey), std::move(public_key));
}

StatusOr<SigningKey> SigningKey::Generate(KeyType type) {
  if (type == KeyType::kEcP384) {
    return InvalidArgumentError("signing keys are RSA or EC P-256");
  }
  EVP_PKEY* raw = type == KeyType::kRsa
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{kGeneratedRsaBits})
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", CurveOpenSslName(type));
  if (raw == nullptr) {
    ClearOpenSslErrors();
    return InternalError("signing key generation failed");
  }
  return FromPrivatePkey(SharePkey(raw));
}

namespace {
// Refuses to prompt for a passphrase: encrypted PEMs fail to load.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }
}  // namespace

StatusOr<SigningKey> SigningKey::FromPem(std::string_view pem) {
  if (pem.empty() || pem.size() > kMaxPemSize) {
    return InvalidArgumentError("private key PEM is empty or too large");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return InternalError("cannot allocate BIO");
  }
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (raw == nullptr) {
    ClearOpenSslErrors();
    return InvalidArgumentError("cannot parse private key PEM (unencrypted PKCS#8 expected)");
  }
  return FromPrivatePkey(SharePkey(raw));
}

StatusOr<std::string> SigningKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr) != 1) {
    ClearOpenSslErrors();
    return InternalError("cannot serialize private key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int): OpenSSL API.
  if (len <= 0 || data == nullptr) {
    return InternalError("cannot serialize private key");
  }
  return std::string(data, static_cast<size_t>(len));
}

StatusOr<std::string> SigningKey::Sign(std::string_view signing_input) const {
  const bool rsa = type() == KeyType::kRsa;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey_.get()) != 1 ||
      (rsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)) {
    ClearOpenSslErrors();
    return InternalError("cannot initialize signing");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, signing_input.size()) != 1) {
    ClearOpenSslErrors();
    return InternalError("signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     signing_input.size()) != 1) {
    ClearOpenSslErrors();
    return InternalError("signing failed");
  }
  sig.resize(len);
  if (rsa) {
    return sig;
  }
  // OpenSSL gives ECDSA signatures in DER; JWS wants R || S, each padded to the curve size.
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size())));  // NOLINT
  if (ecdsa == nullptr) {
    ClearOpenSslErrors();
    return InternalError("signing failed");
  }
  size_t coord = EcCoordinateSize(type());
  return BnToBytes(ECDSA_SIG_get0_r(ecdsa.get()), coord) +
         BnToBytes(ECDSA_SIG_get0_s(ecdsa.get()), coord);
}

// ---------------------------------------------------------------------------------------------
// KeySet

StatusOr<KeySet> KeySet::FromJwks(const json::Value& jwks) {
  const json::Value* keys = jwks.Find("keys");
  if (keys == nullptr || !keys->is_array()) {
    return InvalidArgumentError("JWKS must be an object with a \"keys\" array");
  }
  if (keys->array().size() > kMaxKeys) {
    return InvalidArgumentError("JWKS has too many keys");
  }
  KeySet set;
  for (const json::Value& jwk : keys->array()) {
    if (!jwk.is_object()) {
      return InvalidArgumentError("JWKS entry must be a JSON object");
    }
    if (!UnusableReason(jwk).empty()) {
      continue;  // RFC 7517 section 5: ignore keys we do not understand or may not use.
    }
    ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromJwk(jwk));
    RETURN_IF_ERROR(set.Add(std::move(key)));
  }
  return set;
}

Status KeySet::Add(PublicKey key) {
  if (keys_.size() >= kMaxKeys) {
    return InvalidArgumentError("key set is full");
  }
  if (Find(key.kid()) != nullptr) {
    return InvalidArgumentError("duplicate kid in key set");
  }
  keys_.push_back(std::move(key));
  return Status::Ok();
}

const PublicKey* KeySet::Find(std::string_view kid) const {
  for (const PublicKey& k : keys_) {
    if (k.kid() == kid) {
      return &k;
    }
  }
  return nullptr;
}

json::Value KeySet::Jwks() const {
  json::Value arr = json::Value::MakeArray();
  for (const PublicKey& k : keys_) {
    arr.Push(k.ToJwk());
  }
  json::Value out = json::Value::MakeObject();
  out.Set("keys", std::move(arr));
  return out;
}

}  // namespace portico::auth
