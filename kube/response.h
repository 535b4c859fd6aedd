// An API server's answer as the Kubernetes client code sees it, whichever HTTP stack fetched
// it (cpprestsdk in RestClient, Beast in blocking_get).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kc::kube {

// clang-tidy 14 follows nlohmann::json's members into code that throws; moving and destroying a
// std::string and a json do not.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct Response {
  int status = 0;           // HTTP status; 0 when the request did not get an answer
  std::string error;        // transport error (connect, TLS, timeout) when status == 0
  nlohmann::json body;      // parsed JSON body (null when empty or not JSON)
  std::string retry_after;  // Retry-After header, for 429

  bool ok() const { return status >= 200 && status < 300; }
  bool not_found() const { return status == 404; }
  bool conflict() const { return status == 409; }
  bool gone() const { return status == 410; }
  // "404 NotFound: pods \"x\" not found" or the transport error, for logs.
  std::string describe() const;
};

}  // namespace kc::kube
