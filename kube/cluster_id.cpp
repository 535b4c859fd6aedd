#include "kube/cluster_id.h"

#include <thread>

#include "common/backoff.h"
#include "kube/blocking_get.h"

namespace kc::kube {

std::string namespace_path(const std::string& name) {
  return "/api/v1/namespaces/" + name;
}

std::optional<std::string> read_cluster_id(const Config& config, const ClusterIdLookup& lookup,
                                           std::string& error) {
  Backoff backoff(lookup.first_backoff, std::chrono::hours(1), 0.0);
  for (int attempt = 1; attempt <= lookup.attempts; ++attempt) {
    auto r = blocking_get(config, namespace_path(kClusterIdNamespace), lookup.request_timeout,
                          "kong-cluster/0.1");
    if (r.ok() && r.body.is_object()) {
      auto uid = r.body.value("metadata", nlohmann::json::object()).value("uid", "");
      if (!uid.empty()) return uid;
      error = std::string("Namespace ") + kClusterIdNamespace + " has no metadata.uid";
      return std::nullopt;
    }
    error = "reading Namespace " + std::string(kClusterIdNamespace) + " from " + config.server +
            ": " + r.describe();
    bool retryable = r.status == 0 || r.status == 429 || r.status >= 500;
    if (!retryable || attempt == lookup.attempts) break;
    // Before the caller's event loop starts: waiting here blocks nothing else.
    std::this_thread::sleep_for(backoff.ceiling(attempt - 1));
  }
  return std::nullopt;
}

}  // namespace kc::kube
