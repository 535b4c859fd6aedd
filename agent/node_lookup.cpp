#include "agent/node_lookup.h"

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "common/backoff.h"
#include "common/logging.h"
#include "kube/blocking_get.h"
#include "kube/config.h"
#include "kube/resources.h"

namespace kc::agent {

namespace {

bool retryable(const kube::Response& r) {
  return r.status == 0 || r.status == 429 || r.status >= 500;
}

}  // namespace

NodeNeed node_need(const AgentConfig& c) {
  bool node_mode = c.advertise_mode == "node-internal" || c.advertise_mode == "node-external";
  if (node_mode && c.advertise.empty()) return NodeNeed::Required;
  if (c.tags.contains("dc") && c.tags.contains("zone")) return NodeNeed::None;
  return NodeNeed::Optional;
}

std::optional<kube::NodeTopology> lookup_own_node(const AgentConfig& c,
                                                  const NodeLookupOptions& options) {
  auto need = node_need(c);
  if (need == NodeNeed::None) return std::nullopt;
  auto log = kc::log::get("agent");
  const char* env_node = std::getenv("NODE_NAME");
  std::string node = env_node ? env_node : "";
  bool required = need == NodeNeed::Required;
  auto fail = [&](const std::string& why) -> std::optional<kube::NodeTopology> {
    if (required)
      throw std::runtime_error("cluster_advertise_mode=" + c.advertise_mode + ": " + why +
                               "; set cluster_advertise or use another mode");
    log->warn("{}: no dc/zone tags from the Node", why);
    return std::nullopt;
  };
  if (node.empty()) {
    if (required) return fail("$NODE_NAME is not set (downward API spec.nodeName)");
    return std::nullopt;  // not on Kubernetes, or not told which Node
  }
  std::optional<kube::Config> kc;
  try {
    kc = kube::load_configured(c.kubeconfig);
  } catch (const kube::ConfigError& e) {
    return fail("cannot read Node \"" + node + "\": " + e.what());
  }
  if (!kc) {
    if (required)
      return fail("no Kubernetes configuration to read Node \"" + node +
                  "\" (cluster_kubeconfig, $KUBECONFIG or in-cluster)");
    log->debug("NODE_NAME is set but Kubernetes is not configured: no dc/zone tags from the Node");
    return std::nullopt;
  }

  // No jitter: one agent reads one Node; the cap only bounds the doubling.
  Backoff backoff(options.first_backoff, std::chrono::hours(1), 0.0);
  kube::Response r;
  for (int attempt = 1; attempt <= options.attempts; ++attempt) {
    // Before the agent's event loop runs, so a blocking GET with a deadline is fine.
    r = kube::blocking_get(*kc, kube::node_path(node), options.request_timeout);
    if (r.ok() && r.body.is_object()) {
      auto t = kube::topology_of(r.body, {c.datacenter_label, c.zone_label});
      log->info("Node \"{}\" ({}): dc '{}', zone '{}', InternalIP '{}', ExternalIP '{}'", node,
                kc->source, t.dc, t.zone, t.internal_ip, t.external_ip);
      return t;
    }
    if (!retryable(r) || attempt == options.attempts) break;
    log->warn("reading Node \"{}\" failed (try {} of {}): {}; retrying in {} ms", node, attempt,
              options.attempts, r.describe(), backoff.ceiling(attempt - 1).count());
    std::this_thread::sleep_for(backoff.ceiling(attempt - 1));
  }
  return fail("cannot read Node \"" + node + "\" from " + kc->server + ": " + r.describe());
}

std::string resolve_cluster_id(const AgentConfig& c, const kube::ClusterIdLookup& lookup) {
  if (!c.k8s_cluster_id.empty()) return c.k8s_cluster_id;
  auto in_pod = [](const char* var) {
    const char* v = std::getenv(var);
    return v && *v;
  };
  if (!in_pod("POD_NAME") && !in_pod("NODE_NAME")) return "";
  auto log = kc::log::get("agent");
  std::optional<kube::Config> kc;
  try {
    kc = kube::load_configured(c.kubeconfig);
  } catch (const kube::ConfigError& e) {
    log->warn("no k8s-cluster tag: {}", e.what());
    return "";
  }
  if (!kc) return "";
  std::string error;
  auto id = kube::read_cluster_id(*kc, lookup, error);
  if (!id) {
    log->warn("no k8s-cluster tag ({}); set cluster_k8s_cluster_id", error);
    return "";
  }
  log->info("Kubernetes cluster {} (uid of Namespace {})", *id, kube::kClusterIdNamespace);
  return *id;
}

}  // namespace kc::agent
