// Small string helpers shared by every layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::base {

std::vector<std::string_view> Split(std::string_view s, char sep);
// Splits on `sep` unless escaped by a backslash (FHIR search values); unescapes "\," "\|" "\$" "\\".
std::vector<std::string> SplitEscaped(std::string_view s, char sep);
std::string_view Trim(std::string_view s);
std::string ToLowerAscii(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Percent-decodes a URL component; '+' becomes a space when `plus_is_space`. Returns nullopt on
// a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);
std::string PercentEncode(std::string_view s);
std::optional<int64_t> ParseInt(std::string_view s);
// Lower-cases and strips Latin accents for case- and accent-insensitive string search.
std::string NormalizeForSearch(std::string_view s);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// The bytes as lower-case hex, two characters each.
std::string HexEncode(std::string_view bytes);
// Compares secrets in time that depends only on their lengths (CRYPTO_memcmp); strings of
// different lengths are unequal at once (lengths are not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace portico::base
