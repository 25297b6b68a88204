// Helpers shared by the libFuzzer targets in this directory.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace portico::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits `in` into at most `max_parts` fields on '\n' (the last field keeps the rest, newlines
// included), so the seed files stay readable text.
inline std::vector<std::string_view> Fields(std::string_view in, size_t max_parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_parts) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) {
      break;
    }
    out.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  out.push_back(in);
  while (out.size() < max_parts) {
    out.emplace_back();
  }
  return out;
}

// An invariant failed: print it and abort, which libFuzzer reports as a crash with the input.
[[noreturn]] inline void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "FUZZ INVARIANT FAILED: %s\n%.*s\n", what,
               static_cast<int>(detail.size() > 2000 ? 2000 : detail.size()), detail.data());
  std::abort();
}

#define FUZZ_CHECK(cond, detail)                      \
  do {                                                \
    if (!(cond)) ::portico::fuzz::Fail(#cond, detail); \
  } while (0)

}  // namespace portico::fuzz
