#include "src/auth/jws.h"

#include <algorithm>

#include "src/auth/base64url.h"

namespace portico::auth {
namespace {

constexpr int kMaxJsonDepth = 16;

struct JwsParts {
  std::string_view header_b64;
  std::string_view payload_b64;
  std::string_view signature_b64;
  std::string_view signing_input;  // header_b64 "." payload_b64
};

StatusOr<JwsParts> SplitCompact(std::string_view token) {
  if (token.empty()) {
    return UnauthenticatedError("JWS is empty");
  }
  if (token.size() > kMaxJwsSize) {
    return UnauthenticatedError("JWS exceeds the maximum size of 8192 bytes");
  }
  size_t first = token.find('.');
  if (first == std::string_view::npos) {
    return UnauthenticatedError("JWS must have three dot-separated parts");
  }
  size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return UnauthenticatedError("JWS must have three dot-separated parts");
  }
  JwsParts parts;
  parts.header_b64 = token.substr(0, first);
  parts.payload_b64 = token.substr(first + 1, second - first - 1);
  parts.signature_b64 = token.substr(second + 1);
  parts.signing_input = token.substr(0, second);
  if (parts.header_b64.empty()) {
    return UnauthenticatedError("JWS header is empty");
  }
  if (parts.payload_b64.empty()) {
    return UnauthenticatedError("JWS payload is empty");
  }
  if (parts.signature_b64.empty()) {
    return UnauthenticatedError("JWS signature is empty (unsigned tokens are not accepted)");
  }
  return parts;
}

StatusOr<json::Value> DecodeJsonObjectPart(std::string_view b64, std::string_view what) {
  StatusOr<std::string> raw = Base64UrlDecode(b64);
  if (!raw.ok()) {
    return UnauthenticatedError("JWS " + std::string(what) + " is not valid base64url");
  }
  json::ParseOptions options;
  options.max_depth = kMaxJsonDepth;
  options.allow_duplicate_keys = false;
  StatusOr<json::Value> value = json::Parse(*raw, options);
  if (!value.ok()) {
    return UnauthenticatedError("JWS " + std::string(what) + " is not valid JSON");
  }
  if (!value->is_object()) {
    return UnauthenticatedError("JWS " + std::string(what) + " is not a JSON object");
  }
  return value;
}

// Only names of supported algorithms are echoed; anything else is attacker-controlled text.
std::string DescribeAlg(std::string_view alg) {
  if (IsSupportedVerifyAlgorithm(alg)) {
    return "\"" + std::string(alg) + "\"";
  }
  if (alg == "none" || alg == "HS256" || alg == "HS384" || alg == "HS512") {
    return "\"" + std::string(alg) + "\" (never accepted)";
  }
  return "(unsupported)";
}

}  // namespace

StatusOr<std::string> SignJwt(const SigningKey& key, const json::Value& claims,
                              std::string_view typ) {
  if (!claims.is_object()) {
    return InvalidArgumentError("JWT claims must be a JSON object");
  }
  json::Value header = json::Value::MakeObject();
  header.Set("alg", json::Value::String(key.alg()));
  header.Set("typ", json::Value::String(std::string(typ)));
  header.Set("kid", json::Value::String(key.kid()));
  std::string token = Base64UrlEncode(json::Serialize(header));
  token.push_back('.');
  token.append(Base64UrlEncode(json::Serialize(claims)));
  ASSIGN_OR_RETURN(std::string signature, key.Sign(token));
  token.push_back('.');
  token.append(Base64UrlEncode(signature));
  if (token.size() > kMaxJwsSize) {
    return Status(StatusCode::kResourceExhausted, "signed JWT exceeds the maximum JWS size");
  }
  return token;
}

StatusOr<VerifiedJws> VerifyJwsDetailed(std::string_view token, const KeySet& keys,
                                        const std::vector<std::string>& allowed_algs) {
  ASSIGN_OR_RETURN(JwsParts parts, SplitCompact(token));
  ASSIGN_OR_RETURN(json::Value header, DecodeJsonObjectPart(parts.header_b64, "header"));

  const json::Value* alg_value = header.Find("alg");
  if (alg_value == nullptr || !alg_value->is_string()) {
    return UnauthenticatedError("JWS header has no \"alg\" string");
  }
  const std::string& alg = alg_value->str();
  if (!IsSupportedVerifyAlgorithm(alg) ||
      std::find(allowed_algs.begin(), allowed_algs.end(), alg) == allowed_algs.end()) {
    return UnauthenticatedError("JWS algorithm " + DescribeAlg(alg) + " is not allowed");
  }
  if (header.Find("crit") != nullptr) {
    return UnauthenticatedError("JWS header \"crit\" is not supported");
  }

  const PublicKey* key = nullptr;
  const json::Value* kid = header.Find("kid");
  if (kid != nullptr) {
    if (!kid->is_string()) {
      return UnauthenticatedError("JWS header \"kid\" must be a string");
    }
    key = keys.Find(kid->str());
    if (key == nullptr) {
      return UnauthenticatedError("no key in the key set matches the JWS \"kid\"");
    }
  } else if (keys.size() == 1) {
    key = &keys.keys().front();
  } else if (keys.empty()) {
    return UnauthenticatedError("no verification keys are available");
  } else {
    return UnauthenticatedError("JWS has no \"kid\" and the key set holds several keys");
  }
  if (!key->SupportsAlgorithm(alg)) {
    return UnauthenticatedError("JWS algorithm " + DescribeAlg(alg) +
                                " does not match the type of the selected key");
  }

  StatusOr<std::string> signature = Base64UrlDecode(parts.signature_b64);
  if (!signature.ok()) {
    return UnauthenticatedError("JWS signature is not valid base64url");
  }
  RETURN_IF_ERROR(key->VerifySignature(alg, parts.signing_input, *signature));

  ASSIGN_OR_RETURN(json::Value claims, DecodeJsonObjectPart(parts.payload_b64, "payload"));
  VerifiedJws out;
  out.header = std::move(header);
  out.claims = std::move(claims);
  out.kid = key->kid();
  return out;
}

StatusOr<json::Value> VerifyJws(std::string_view token, const KeySet& keys,
                                const std::vector<std::string>& allowed_algs) {
  ASSIGN_OR_RETURN(VerifiedJws verified, VerifyJwsDetailed(token, keys, allowed_algs));
  return std::move(verified.claims);
}

StatusOr<VerifiedJws> DecodeJwsUnverified(std::string_view token) {
  ASSIGN_OR_RETURN(JwsParts parts, SplitCompact(token));
  VerifiedJws out;
  ASSIGN_OR_RETURN(out.header, DecodeJsonObjectPart(parts.header_b64, "header"));
  ASSIGN_OR_RETURN(out.claims, DecodeJsonObjectPart(parts.payload_b64, "payload"));
  const json::Value* kid = out.header.Find("kid");
  if (kid != nullptr && kid->is_string()) {
    out.kid = kid->str();
  }
  return out;
}

}  // namespace portico::auth
