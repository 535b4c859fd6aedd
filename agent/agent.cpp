#include "agent/agent.h"

#include <csignal>
#include <filesystem>

#include "agent/advertise.h"
#include "agent/datastore_link.h"
#include "agent/events/dispatch.h"
#include "agent/events/script_handlers.h"
#include "agent/gossip/asio/asio_runtime.h"
#include "agent/gossip/crypto/keyring.h"
#include "agent/http/services.h"
#include "agent/node_lookup.h"
#include "agent/page_release.h"
#include "agent/rpc/log_source.h"
#include "agent/rpc/server.h"
#include "agent/serf/serf.h"
#include "agent/serf_api.h"
#include "common/backoff.h"
#include "common/logging.h"

namespace kc::agent {

namespace {

gossip::Config profile_config(const std::string& profile) {
  auto c = gossip::Config::profile(profile);
  if (!c)
    throw config::ConfigError("unknown cluster_profile '" + profile + "'; allowed: local|lan|wan");
  return *c;
}

}  // namespace

Agent::Agent(boost::asio::io_context& io, AgentConfig config)
    : io_(io), config_(std::move(config)) {}

Agent::~Agent() {
  // HTTP and event consumers first (they use Serf and the API), then RPC (it calls into the
  // API), then Serf (it uses the transport and scheduler).
  if (events_) events_->stop();
  services_.reset();
  events_.reset();
  if (rpc_) rpc_->stop();
  rpc_.reset();
  datastore_.reset();
  api_.reset();
  serf_.reset();
  transport_.reset();
  scheduler_.reset();
}

std::shared_ptr<gossip::Keyring> Agent::load_keyring() const {
  auto ring = std::make_shared<gossip::Keyring>();
  if (!config_.keyring_file.empty() && std::filesystem::exists(config_.keyring_file)) {
    auto err = gossip::load_keyring_file(config_.keyring_file, *ring);
    if (err)
      throw config::ConfigError("cluster_keyring_file " + config_.keyring_file + ": " + *err);
  }
  if (!config_.encrypt_key.empty()) {
    auto key = gossip::base64_decode(config_.encrypt_key);
    if (!key) throw config::ConfigError("cluster_encrypt_key is not valid base64");
    if (auto err = gossip::Keyring::validate_key(*key))
      throw config::ConfigError("cluster_encrypt_key: " + *err);
    // serf: -encrypt installs the key as primary; keys from the keyring file stay usable.
    if (auto err = ring->add_key(*key)) throw config::ConfigError("cluster_encrypt_key: " + *err);
    if (auto err = ring->use_key(*key)) throw config::ConfigError("cluster_encrypt_key: " + *err);
  }
  return ring;
}

void Agent::start() {
  auto log = kc::log::get("agent");
  name_ = resolve_node_name(config_);
  // Before anything binds: a node-* advertise mode without its Node is a start-up error.
  auto node = lookup_own_node(config_);
  const kube::NodeTopology* node_info = node ? &*node : nullptr;
  scheduler_ = std::make_unique<gossip::AsioScheduler>(io_);
  gossip::AsioTransportOptions topts;
  topts.bind = config_.bind;
  serf::Config sc;
  sc.node_name = name_;
  sc.tags = member_tags(config_, node_info, resolve_cluster_id(config_));
  sc.memberlist = profile_config(config_.profile);
  sc.keyring_file = config_.keyring_file;
  topts.stream_timeout = sc.memberlist.tcp_timeout;
  // As serf's agent does: member events, and user events sent with coalescing, are held
  // until 1 s passes without another or 3 s since the first, then delivered in summary.
  sc.coalesce_period = std::chrono::seconds(3);
  sc.quiescent_period = std::chrono::seconds(1);
  sc.user_coalesce_period = std::chrono::seconds(3);
  sc.user_quiescent_period = std::chrono::seconds(1);
  try {
    transport_ = std::make_unique<gossip::AsioTransport>(io_, topts);
  } catch (const std::system_error& e) {
    throw std::runtime_error(std::string(e.what()) + " (cluster_listen)");
  }
  sc.memberlist.name = name_;
  sc.memberlist.advertise = choose_advertise(config_, transport_->local_address(), node_info);
  auto keyring = load_keyring();
  serf_ = std::make_unique<serf::Serf>(sc, *scheduler_, *transport_,
                                       keyring->empty() ? nullptr : keyring);
  // An RPC `leave` has left the cluster when this runs: drop our row, then stop.
  api_ = std::make_unique<SerfApi>(*serf_, [this] {
    if (datastore_ && !stopping_) return datastore_->stop([this] { stop(); });
    stop();
  });
  logs_ = rpc::make_process_log_source(io_);
  rpc::ServerOptions ropts;
  ropts.bind = config_.rpc_addr;
  ropts.auth_key = config_.rpc_auth;
  rpc_ = std::make_unique<rpc::Server>(io_, *api_, logs_.get(), ropts);
  // As serf's agent does: every event is logged, so operators can follow what arrives.
  serf_->subscribe([log](const serf::Event& e) {
    if (auto* u = std::get_if<serf::UserEvent>(&e))
      log->info("Received event: user-event: {} (ltime {}, {} bytes)", u->name, u->ltime,
                u->payload.size());
    else if (auto* q = std::get_if<std::shared_ptr<serf::Query>>(&e))
      log->info("Received event: query: {}", (*q)->name);
  });
  // Before Serf starts, so the first events reach handlers and a bad HTTP address fails early.
  events::DispatchOptions eo;
  eo.event_handlers = config_.event_handlers;
  eo.event_handler_timeout = config_.event_handler_timeout;
  eo.event_handler_concurrency = config_.event_handler_concurrency;
  eo.handler_env = config_.handler_env;
  eo.kong_admin_url = config_.kong_admin_url;
  events_ = std::make_unique<events::EventDispatch>(io_, *serf_, std::move(eo));
  events_->start();
  if (const auto* handlers = events_->handlers()) {
    std::map<std::string, std::string> by_filter;
    for (const auto& spec : handlers->specs())
      for (const auto& filter : spec.filters)
        by_filter[filter.event + ":" + filter.name] = spec.command;
    api_->set_event_handlers(std::move(by_filter));
  }
  services_ =
      std::make_unique<agent_http::AgentServices>(io_, config_, *serf_, *api_, *rpc_, *events_);
  services_->start();
  serf_->start();
  rpc_->start();
  if (config_.datastore) {
    datastore_ = std::make_unique<DatastoreLink>(io_, config_, *serf_);
    datastore_->export_metrics(services_->metrics());
    datastore_->start();
  }
  page_release_ = std::make_unique<PageRelease>(io_, config_.page_release_interval);
  page_release_->export_metrics(services_->metrics());
  page_release_->start();
  log->info("kong-cluster agent '{}' started: gossip {} (advertise {}), rpc {}, profile {}{}",
            name_, transport_->local_address().to_string(), sc.memberlist.advertise.to_string(),
            config_.rpc_addr, config_.profile, keyring->empty() ? "" : ", encrypted");
  if (!config_.join.empty()) join_seeds(0);
}

std::string Agent::advertise() const {
  return serf_ ? serf_->local_member().addr.to_string() : "";
}

void Agent::join_seeds(int attempt) {
  serf_->join(config_.join, /*ignore_old=*/true, [this, attempt](int n, const std::string& err) {
    auto log = kc::log::get("agent");
    if (n > 0) {
      log->info("joined {} of {} seed addresses", n, config_.join.size());
      return;
    }
    // Keep trying while nobody else is known: seeds may start after us.
    auto delay_s =
        std::chrono::duration_cast<std::chrono::seconds>(
            Backoff(std::chrono::seconds(1), std::chrono::seconds(30), 0.0).ceiling(attempt))
            .count();
    log->warn("join failed ({}); retrying in {}s", err, delay_s);
    join_timer_ = std::make_unique<boost::asio::steady_timer>(io_, std::chrono::seconds(delay_s));
    join_timer_->async_wait([this, attempt](const boost::system::error_code& ec) {
      if (ec || stopping_ || !serf_) return;
      if (serf_->num_nodes() > 1) return;
      join_seeds(attempt + 1);
    });
  });
}

void Agent::leave_and_stop(std::function<void(int)> done) {
  if (stopping_ || !serf_) return done(0);
  stopping_ = true;
  if (services_) services_->set_leaving();
  auto log = kc::log::get("agent");
  log->info("gracefully leaving the cluster");
  auto finished = std::make_shared<bool>(false);
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, config_.leave_timeout);
  auto finish = [this, finished, timer, done = std::move(done)](int code) {
    if (*finished) return;
    *finished = true;
    timer->cancel();
    stop();
    done(code);
  };
  timer->async_wait([finish, log](const boost::system::error_code& ec) {
    if (ec) return;
    log->error("graceful leave timed out");
    finish(1);
  });
  serf_->leave([this, finish, log](const std::string& err) {
    if (!err.empty()) log->error("leave: {}", err);
    int code = err.empty() ? 0 : 1;
    // Then our `nodes` row goes, so nobody tries to join a member that left.
    if (!datastore_) return finish(code);
    datastore_->stop([finish, code] { finish(code); });
  });
}

void Agent::stop() {
  stopping_ = true;
  if (join_timer_) join_timer_->cancel();
  if (page_release_) page_release_->stop();
  if (events_) events_->stop();
  if (services_) services_->stop();
  if (rpc_) rpc_->stop();
  if (serf_) serf_->shutdown();
  if (on_stopped_) {
    auto f = std::move(on_stopped_);
    f(0);
  }
}

int run_agent(const AgentConfig& config) {
  if (!kc::log::set_level(config.log_level == "error" ? "err" : config.log_level))
    kc::log::set_level("info");
  boost::asio::io_context io;
  Agent agent(io, config);
  try {
    agent.start();
  } catch (const std::exception& e) {
    kc::log::get("agent")->error("cannot start: {}", e.what());
    return 1;
  }
  int exit_code = 0;
  bool leaving = false;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (leaving) {
      kc::log::get("agent")->warn("second signal: exiting without waiting");
      exit_code = 1;
      io.stop();
      return;
    }
    leaving = true;
    kc::log::get("agent")->info("caught signal {}: leaving", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    agent.leave_and_stop([&](int code) {
      exit_code = code;
      io.stop();
    });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  // An RPC `leave` also ends the process once answered.
  agent.set_on_stopped([&](int) { io.stop(); });
  io.run();
  return exit_code;
}

}  // namespace kc::agent
