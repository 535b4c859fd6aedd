#include "agent/http/services.h"

#include "agent/events/dispatch.h"
#include "agent/gossip/memberlist.h"
#include "agent/http/cluster_routes.h"
#include "agent/rpc/server.h"
#include "agent/serf/serf.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/logging.h"

#ifndef KC_VERSION
#define KC_VERSION "dev"
#endif

namespace kc::agent_http {

AgentServices::AgentServices(boost::asio::io_context& io, const agent::AgentConfig& config,
                             serf::Serf& serf, rpc::AgentApi& api, const rpc::Server& rpc,
                             const events::EventDispatch& events)
    : io_(io),
      config_(config),
      serf_(serf),
      api_(api),
      rpc_(rpc),
      events_(events),
      metrics_(std::make_unique<metrics::Registry>()),
      router_(std::make_unique<http::Router>()) {}

AgentServices::~AgentServices() {
  stop();
}

void AgentServices::start() {
  if (!config_.http_addr.empty()) start_http();
  if (!config_.probe_addr.empty()) start_probe();

  MetricSources src;
  src.serf = &serf_;
  src.rpc = &rpc_;
  src.http = http_.get();
  src.probe_http = probe_.get();
  src.handlers = events_.handlers();
  src.orphan_reaper = events_.orphan_reaper();
  src.kong = events_.kong();
  src.events = &events_.counts();
  src.version = KC_VERSION;
  register_agent_metrics(*metrics_, src);
  metrics::add_process_metrics(*metrics_);
}

void AgentServices::start_http() {
  ClusterRoutesOptions ro;
  ro.ready = [this](std::string& reason) { return ready(reason); };
  ro.incarnation = [this](const std::string& name) -> std::optional<uint32_t> {
    auto* ml = serf_.memberlist().memberlist();
    auto node = ml ? ml->find(name) : std::nullopt;
    if (!node) return std::nullopt;
    return node->incarnation;
  };
  ro.access.token = config_.rpc_auth;
  ro.access.serve_without_token =
      config_.http_unauthenticated || is_loopback_listener(config_.http_addr);
  if (config_.rpc_auth.empty() && !ro.access.serve_without_token)
    kc::log::get("agent")->warn(
        "cluster_http_listen {} is not a loopback address and cluster_rpc_auth is not set: the "
        "membership API (/cluster, /v1/members) answers 403 there; probes and /metrics are "
        "served",
        config_.http_addr);
  add_cluster_routes(*router_, api_, ro);
  metrics::add_metrics_route(*router_, *metrics_);
  http_ = serve(config_.http_addr, *router_, "cluster_http_listen", "HTTP API, probes and metrics");
}

void AgentServices::start_probe() {
  probe_router_ = std::make_unique<http::Router>();
  add_probe_routes(*probe_router_, [this](std::string& reason) { return ready(reason); });
  metrics::add_metrics_route(*probe_router_, *metrics_);
  probe_ = serve(config_.probe_addr, *probe_router_, "cluster_probe_listen", "probes and metrics");
}

std::unique_ptr<http::Server> AgentServices::serve(const std::string& bind, http::Router& router,
                                                   const std::string& key,
                                                   const std::string& what) {
  // One family for both listeners: a route's label says which one it was.
  if (!http_requests_) {
    http_requests_ = &metrics_->counter("kong_cluster_http_requests_total",
                                        "HTTP requests answered, by route and status code.");
    http_durations_ =
        &metrics_->histogram("kong_cluster_http_request_duration_seconds",
                             "Time from a request's arrival to its response, by route.",
                             {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30});
  }
  auto& requests = *http_requests_;
  auto& durations = *http_durations_;
  http::ServerOptions so;
  so.bind = bind;
  auto server = std::make_unique<http::Server>(
      io_, so,
      [&router](http::Request& req, const http::Reply& reply) { router.dispatch(req, reply); });
  server->set_observer([&requests, &durations](const http::Request& req, const http::Response& res,
                                               std::chrono::steady_clock::duration took) {
    // Unmatched paths share one label so scanners cannot grow the series without bound.
    auto route = req.route.empty() ? std::string("unmatched") : req.route;
    requests.add({{"route", route}, {"code", std::to_string(res.status)}}).increment();
    durations.add({{"route", route}}).observe(std::chrono::duration<double>(took).count());
  });
  try {
    server->start();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + " (" + key + ")");
  }
  auto ep = server->local_endpoint();
  kc::log::get("agent")->info("{} on {}:{}", what, ep.address().to_string(), ep.port());
  return server;
}

bool AgentServices::ready(std::string& reason) const {
  if (stopped_) {
    reason = "stopping";
    return false;
  }
  if (leaving_ || serf_.state() != serf::Serf::State::Alive) {
    reason = std::string("serf is ") + serf::to_string(serf_.state());
    return false;
  }
  return true;
}

std::optional<boost::asio::ip::tcp::endpoint> AgentServices::http_endpoint() const {
  if (!http_) return std::nullopt;
  return http_->local_endpoint();
}

std::optional<boost::asio::ip::tcp::endpoint> AgentServices::probe_endpoint() const {
  if (!probe_) return std::nullopt;
  return probe_->local_endpoint();
}

void AgentServices::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (http_) http_->stop();
  if (probe_) probe_->stop();
}

}  // namespace kc::agent_http
