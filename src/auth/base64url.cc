#include "src/auth/base64url.h"

#include <array>
#include <cstdint>

namespace portico::auth {
namespace {

constexpr std::string_view kStdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using DecodeTable = std::array<int8_t, 256>;

constexpr DecodeTable MakeTable(std::string_view alphabet) {
  DecodeTable t{};
  for (auto& v : t) {
    v = -1;
  }
  for (size_t i = 0; i < alphabet.size(); ++i) {
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}

constexpr DecodeTable kStdTable = MakeTable(kStdAlphabet);
constexpr DecodeTable kUrlTable = MakeTable(kUrlAlphabet);

std::string Encode(std::string_view data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8) |
                 static_cast<uint32_t>(static_cast<unsigned char>(data[i + 2]));
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    if (pad) {
      out.append("==");
    }
  } else if (rest == 2) {
    uint32_t n = (static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    if (pad) {
      out.push_back('=');
    }
  }
  return out;
}

// Decodes unpadded input (no '=' allowed) with `table`.
StatusOr<std::string> DecodeUnpadded(std::string_view s, const DecodeTable& table,
                                     std::string_view what) {
  if (s.size() % 4 == 1) {
    return InvalidArgumentError(std::string(what) + ": invalid length");
  }
  std::string out;
  out.reserve(s.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int8_t v = table[static_cast<unsigned char>(c)];
    if (v < 0) {
      return InvalidArgumentError(std::string(what) + ": invalid character");
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits (2 or 4) must be zero for a canonical encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return InvalidArgumentError(std::string(what) + ": non-canonical trailing bits");
  }
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view data) { return Encode(data, kUrlAlphabet, false); }

StatusOr<std::string> Base64UrlDecode(std::string_view encoded) {
  return DecodeUnpadded(encoded, kUrlTable, "base64url");
}

std::string Base64Encode(std::string_view data) { return Encode(data, kStdAlphabet, true); }

StatusOr<std::string> Base64Decode(std::string_view encoded) {
  if (encoded.size() % 4 != 0) {
    return InvalidArgumentError("base64: length is not a multiple of 4");
  }
  size_t pad = 0;
  while (pad < 2 && pad < encoded.size() && encoded[encoded.size() - 1 - pad] == '=') {
    ++pad;
  }
  std::string_view body = encoded.substr(0, encoded.size() - pad);
  // Any remaining '=' is misplaced padding; the table rejects it as an invalid character.
  if (body.find('=') != std::string_view::npos) {
    return InvalidArgumentError("base64: misplaced padding");
  }
  // With padding stripped, a full final quantum must have needed exactly `pad` pad characters.
  if (pad > 0 && (body.size() % 4) != 4 - pad) {
    return InvalidArgumentError("base64: misplaced padding");
  }
  return DecodeUnpadded(body, kStdTable, "base64");
}

}  // namespace portico::auth
