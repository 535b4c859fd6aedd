#include "agent/node_lookup.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "common/logging.h"
#include "operator/kube/config.h"
#include "operator/kube/resources.h"
#include "operator/kube/rest_client.h"

namespace kc::agent {

namespace {

bool retryable(const kube::Response& r) {
  return r.status == 0 || r.status == 429 || r.status >= 500;
}

// One GET, waited for on a private io_context: the agent's own loop has not started yet.
kube::Response get_once(kube::RestClient& client, boost::asio::io_context& io,
                        const std::string& path, std::chrono::seconds timeout) {
  std::optional<kube::Response> got;
  client.get(path, [&](kube::Response r) {
    got = std::move(r);
    io.stop();
  });
  auto work = boost::asio::make_work_guard(io);
  io.restart();
  // The client's own timeout ends the request; the margin covers posting the answer back.
  io.run_for(timeout + std::chrono::seconds(2));
  if (got) return std::move(*got);
  kube::Response r;
  r.error = "no answer within " + std::to_string(timeout.count()) + " s";
  return r;
}

}  // namespace

NodeNeed node_need(const AgentConfig& c) {
  bool node_mode = c.advertise_mode == "node-internal" || c.advertise_mode == "node-external";
  if (node_mode && c.advertise.empty()) return NodeNeed::Required;
  if (c.tags.count("dc") && c.tags.count("zone")) return NodeNeed::None;
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

  kube::set_client_threads(1);
  boost::asio::io_context io;  // declared before the client, so it outlives it
  kube::RestOptions ro;
  ro.request_timeout = options.request_timeout;
  ro.user_agent = "kong-cluster-agent/0.1";
  std::optional<kube::RestClient> client;
  try {
    client.emplace(io, *kc, ro);
  } catch (const kube::ConfigError& e) {
    return fail("cannot read Node \"" + node + "\": " + e.what());
  }
  auto backoff = options.first_backoff;
  kube::Response r;
  for (int attempt = 1; attempt <= options.attempts; ++attempt) {
    r = get_once(*client, io, kube::node_path(node), options.request_timeout);
    if (r.ok() && r.body.is_object()) {
      auto t = kube::topology_of(r.body, {c.datacenter_label, c.zone_label});
      log->info("Node \"{}\" ({}): dc '{}', zone '{}', InternalIP '{}', ExternalIP '{}'", node,
                kc->source, t.dc, t.zone, t.internal_ip, t.external_ip);
      return t;
    }
    if (!retryable(r) || attempt == options.attempts) break;
    log->warn("reading Node \"{}\" failed (try {} of {}): {}; retrying in {} ms", node, attempt,
              options.attempts, r.describe(), backoff.count());
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  return fail("cannot read Node \"" + node + "\" from " + kc->server + ": " + r.describe());
}

}  // namespace kc::agent
