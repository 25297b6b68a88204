// OperationOutcome bodies for errors and warnings. https://hl7.org/fhir/R4/operationoutcome.html
#pragma once

#include <string>
#include <string_view>

#include "src/base/status.h"

namespace portico::fhir {

// IssueType codes: https://hl7.org/fhir/R4/valueset-issue-type.html
std::string OperationOutcome(std::string_view severity, std::string_view code,
                             std::string_view diagnostics);

// The HTTP status for a Status code (one place for the whole server).
int HttpStatusFor(StatusCode code);
// The issue type code for a Status code.
std::string_view IssueTypeFor(StatusCode code);

}  // namespace portico::fhir
