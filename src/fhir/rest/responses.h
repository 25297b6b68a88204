// Response helpers shared by the FHIR interactions, operations and writes.
#pragma once

#include <string>
#include <string_view>

#include "src/fhir/model/outcome.h"
#include "src/http/message.h"

namespace portico::fhir {

inline constexpr const char* kFhirJsonContentType = "application/fhir+json; charset=utf-8";

inline http::Response FhirJsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", kFhirJsonContentType);
  return r;
}

// An error answer: an OperationOutcome with one issue.
inline http::Response FhirErrorResponse(int status, std::string_view code,
                                        std::string_view diagnostics) {
  return FhirJsonResponse(status,
                          OperationOutcome(status >= 500 ? "fatal" : "error", code, diagnostics));
}

}  // namespace portico::fhir
