// The agent's Prometheus series, all prefixed kong_cluster_, read at scrape time from the
// counters each component keeps (gossip, Serf, RPC, HTTP, event handlers, Kong delivery), so
// the series are always current and the components stay free of metrics code.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "common/metrics/registry.h"

namespace kc::serf {
class Serf;
}
namespace kc::rpc {
class Server;
}
namespace kc::http {
class Server;
}
namespace kc::events {
class ScriptHandlers;
class KongDelivery;
class OrphanReaper;
struct EventCounts;
}  // namespace kc::events

namespace kc::agent_http {

// Any pointer may be null (that part is not running); the pointees must outlive the registry.
struct MetricSources {
  serf::Serf* serf = nullptr;
  const rpc::Server* rpc = nullptr;
  const http::Server* http = nullptr;        // cluster_http_listen
  const http::Server* probe_http = nullptr;  // cluster_probe_listen
  const events::ScriptHandlers* handlers = nullptr;
  const events::OrphanReaper* orphan_reaper = nullptr;
  const events::KongDelivery* kong = nullptr;
  const events::EventCounts* events = nullptr;
  std::string version;
};

void register_agent_metrics(metrics::Registry& r, const MetricSources& src);

}  // namespace kc::agent_http
