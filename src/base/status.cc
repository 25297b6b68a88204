#include "src/base/status.h"

namespace portico {

std::string Status::ToString() const {
  if (ok()) {
    return "OK";
  }
  return message_;
}

}  // namespace portico
