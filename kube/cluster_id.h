// The identity of the Kubernetes cluster a process runs in, carried by every agent as the
// `k8s-cluster` tag so that an operator acts only on its own cluster's members when one Kong
// cluster spans several Kubernetes clusters. The default identity is the uid of the cluster's
// `kube-system` Namespace: set once when the cluster is created, never reused, and readable
// with a single `get` on one object (RBAC resourceNames: [kube-system]).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "kube/config.h"

namespace kc::kube {

inline constexpr const char* kClusterIdTag = "k8s-cluster";
inline constexpr const char* kClusterIdNamespace = "kube-system";

std::string namespace_path(const std::string& name);

struct ClusterIdLookup {
  int attempts = 5;
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds first_backoff{500};  // doubles after each failed try
};

// GET /api/v1/namespaces/kube-system, blocking (before the caller's event loop runs):
// transport errors, 429 and 5xx are retried; other answers are final. Returns the uid, or
// nullopt with `error` describing the last answer.
std::optional<std::string> read_cluster_id(const Config& config, const ClusterIdLookup& lookup,
                                           std::string& error);

}  // namespace kc::kube
