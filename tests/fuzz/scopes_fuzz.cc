// SMART scope strings from /authorize, /token (refresh narrowing) and client registrations:
// auth::ParseScopeString, ToString, Narrow, ConstraintsFor and the consent-page descriptions.
//
// Input: line 1 = requested scopes, rest = granted scopes.
// Invariants: ToString(Parse(s)) re-parses to the same resource scopes and other scopes; every
// resource scope re-parses from its canonical text; Narrow(s, s) keeps all of s's resource
// scopes; Narrow(r, g) never yields a resource scope that r did not request.
#include <cstddef>
#include <cstdint>

#include "src/auth/scopes.h"
#include "tests/fuzz/fuzz_util.h"

namespace auth = portico::auth;

namespace {

void Check(const auth::ScopeSet& s) {
  std::string text = s.ToString();
  auth::ScopeSet again = auth::ParseScopeString(text);
  FUZZ_CHECK(again.resources == s.resources, text);
  FUZZ_CHECK(again.others == s.others, text);
  FUZZ_CHECK(again.invalid.empty(), text);
  for (const auth::ResourceScope& r : s.resources) {
    std::string one = auth::ToString(r);
    auth::ResourceScope back;
    FUZZ_CHECK(auth::ParseResourceScope(one, back) && back == r, one);
    (void)auth::Describe(r);
    (void)auth::FriendlyResourceName(r.type);
  }
  for (const std::string& o : s.others) {
    (void)auth::DescribeOther(o);
  }
  auth::ScopeSet self = auth::Narrow(s, s);
  FUZZ_CHECK(self.resources == s.resources, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = portico::fuzz::Fields(portico::fuzz::AsView(data, size), 2);
  auth::ScopeSet requested = auth::ParseScopeString(f[0]);
  auth::ScopeSet granted = auth::ParseScopeString(f[1]);
  Check(requested);
  Check(granted);
  auth::ScopeSet narrowed = auth::Narrow(requested, granted);
  for (const auth::ResourceScope& r : narrowed.resources) {
    bool found = false;
    for (const auth::ResourceScope& q : requested.resources) found |= q == r;
    FUZZ_CHECK(found, auth::ToString(r));
  }
  for (auth::Context c : {auth::Context::kPatient, auth::Context::kUser, auth::Context::kSystem}) {
    for (const char* type : {"Observation", "Patient", "ExplanationOfBenefit"}) {
      for (auth::Interaction i : {auth::Interaction::kRead, auth::Interaction::kSearch,
                                  auth::Interaction::kCreate}) {
        auth::AccessConstraints ac = auth::ConstraintsFor(granted, c, type, i);
        FUZZ_CHECK(ac.allowed == auth::Allows(granted, c, type, i), f[1]);
        if (ac.unconstrained) FUZZ_CHECK(ac.allowed && ac.any_of.empty(), f[1]);
      }
    }
  }
  return 0;
}
