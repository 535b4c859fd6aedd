// The agent's HTTP surface, in one place so Agent::start/stop only call in: the HTTP API
// server (Kong's /cluster endpoints, /v1/members behind the RPC token, plus /healthz,
// /readyz, /metrics), the probe server (only /healthz, /readyz, /metrics, on its own
// listener and connection pool so API load cannot fail a probe) and the metrics registry.
// What happens to Serf's events is agent/events/dispatch.h.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>

#include "agent/agent_config.h"
#include "agent/http/agent_metrics.h"

namespace kc::serf {
class Serf;
}
namespace kc::rpc {
class AgentApi;
class Server;
}  // namespace kc::rpc
namespace kc::http {
class Server;
class Router;
}  // namespace kc::http
namespace kc::events {
class EventDispatch;
}

namespace kc::agent_http {

class AgentServices {
 public:
  AgentServices(boost::asio::io_context& io, const agent::AgentConfig& config, serf::Serf& serf,
                rpc::AgentApi& api, const rpc::Server& rpc, const events::EventDispatch& events);
  ~AgentServices();
  AgentServices(const AgentServices&) = delete;
  AgentServices& operator=(const AgentServices&) = delete;

  // Starts the HTTP server (when cluster_http_listen is set) and the probe server (when
  // cluster_probe_listen is). Throws std::runtime_error naming the key on a bad address or
  // a port in use.
  void start();
  // Readiness turns false, the HTTP servers close. Idempotent.
  void stop();
  // From the start of a graceful leave: /readyz answers 503 so traffic drains first.
  void set_leaving() { leaving_ = true; }

  // For more series (the datastore's): register them here before or after start().
  metrics::Registry& metrics() { return *metrics_; }
  std::optional<boost::asio::ip::tcp::endpoint> http_endpoint() const;
  std::optional<boost::asio::ip::tcp::endpoint> probe_endpoint() const;

 private:
  void start_http();
  void start_probe();
  // A server for `router` on `bind` whose requests are counted by route and code.
  std::unique_ptr<http::Server> serve(const std::string& bind, http::Router& router,
                                      const std::string& key, const std::string& what);
  bool ready(std::string& reason) const;

  boost::asio::io_context& io_;
  const agent::AgentConfig& config_;
  serf::Serf& serf_;
  rpc::AgentApi& api_;
  const rpc::Server& rpc_;
  const events::EventDispatch& events_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<http::Router> probe_router_;
  std::unique_ptr<http::Server> probe_;
  // Shared by both listeners (a family can be registered once).
  metrics::Family<metrics::Counter>* http_requests_ = nullptr;
  metrics::Family<metrics::Histogram>* http_durations_ = nullptr;
  bool leaving_ = false;
  bool stopped_ = false;
};

}  // namespace kc::agent_http
