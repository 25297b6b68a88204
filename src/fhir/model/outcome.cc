#include "src/fhir/model/outcome.h"

#include "src/json/json.h"

namespace portico::fhir {

std::string OperationOutcome(std::string_view severity, std::string_view code,
                             std::string_view diagnostics) {
  std::string out = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":";
  json::AppendQuoted(severity, out);
  out += ",\"code\":";
  json::AppendQuoted(code, out);
  out += ",\"diagnostics\":";
  json::AppendQuoted(diagnostics, out);
  out += "}]}";
  return out;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kGone:
      return 410;
    case StatusCode::kFailedPrecondition:
      return 412;
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnprocessable:
      return 422;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

std::string_view IssueTypeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return "invalid";
    case StatusCode::kUnauthenticated:
      return "login";
    case StatusCode::kPermissionDenied:
      return "forbidden";
    case StatusCode::kNotFound:
      return "not-found";
    case StatusCode::kGone:
      return "deleted";
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return "conflict";
    case StatusCode::kResourceExhausted:
      return "throttled";
    case StatusCode::kUnprocessable:
      return "processing";
    case StatusCode::kUnavailable:
      return "transient";
    default:
      return "exception";
  }
}

}  // namespace portico::fhir
