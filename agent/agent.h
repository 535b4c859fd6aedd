// One agent process: the gossip member (Serf over memberlist on Asio), the Serf-compatible
// RPC server, and the join/leave lifecycle driven by config and signals. Everything runs on
// the one io_context the caller drives.
#pragma once

#include <boost/asio.hpp>
#include <memory>

#include "agent/agent_config.h"

namespace kc::gossip {
class AsioScheduler;
class AsioTransport;
class Keyring;
}  // namespace kc::gossip
namespace kc::serf {
class Serf;
}
namespace kc::rpc {
class Server;
class LogSource;
}  // namespace kc::rpc

namespace kc::agent_http {
class AgentServices;
}
namespace kc::events {
class EventDispatch;
}

namespace kc::agent {

class SerfApi;
class DatastoreLink;
class PageRelease;

class Agent {
 public:
  Agent(boost::asio::io_context& io, AgentConfig config);
  ~Agent();

  // Binds, starts gossip and RPC, joins the configured seeds. Throws with a clear message
  // (bad key, address in use) when it cannot start.
  void start();
  // Graceful leave, then stop; `done(exit_code)` when finished (0 = left cleanly).
  void leave_and_stop(std::function<void(int)> done);
  // Stops at once, without a leave (others will see us failed).
  void stop();

  // Called once the agent has stopped (after a leave, an RPC `leave`, or stop()).
  void set_on_stopped(std::function<void(int)> fn) { on_stopped_ = std::move(fn); }

  const std::string& name() const { return name_; }
  std::string advertise() const;
  // HTTP API and metrics; null before start().
  agent_http::AgentServices* services() { return services_.get(); }

 private:
  void join_seeds(int attempt);
  std::shared_ptr<gossip::Keyring> load_keyring() const;

  boost::asio::io_context& io_;
  AgentConfig config_;
  std::string name_;
  std::unique_ptr<gossip::AsioScheduler> scheduler_;
  std::unique_ptr<gossip::AsioTransport> transport_;
  std::unique_ptr<serf::Serf> serf_;
  std::unique_ptr<SerfApi> api_;
  std::unique_ptr<rpc::LogSource> logs_;
  std::unique_ptr<rpc::Server> rpc_;
  std::unique_ptr<events::EventDispatch> events_;
  std::unique_ptr<agent_http::AgentServices> services_;
  std::unique_ptr<DatastoreLink> datastore_;
  std::unique_ptr<PageRelease> page_release_;
  std::unique_ptr<boost::asio::steady_timer> join_timer_;
  bool stopping_ = false;
  std::function<void(int)> on_stopped_;
};

// Runs the `agent` subcommand: builds the config from file/env/flags, runs until a signal.
// SIGTERM and SIGINT mean a graceful leave (exit 0); a second signal exits at once.
int run_agent(const AgentConfig& config);

}  // namespace kc::agent
