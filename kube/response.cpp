#include "kube/response.h"

namespace kc::kube {

std::string Response::describe() const {
  if (status == 0) return "no answer: " + error;
  std::string out = std::to_string(status);
  if (body.is_object() && body.value("kind", "") == "Status") {
    out += " " + body.value("reason", "") + ": " + body.value("message", "");
  }
  return out;
}

}  // namespace kc::kube
