// The RPC listener: a TCP acceptor on the process's io_context and one Session per
// connection, all on the event loop thread (no thread per connection). Unlike serf's,
// connections have deadlines and, at the cap, the idlest one makes room for a new one
// (connection_policy.h), so idle connections cannot lock clients out.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <set>
#include <string>

#include "agent/rpc/agent_api.h"
#include "agent/rpc/connection_policy.h"
#include "agent/rpc/log_source.h"
#include "agent/rpc/session.h"
#include "common/lifetime.h"

namespace kc::rpc {

struct ServerOptions {
  std::string bind = "127.0.0.1:7373";  // IP literal and port; port 0 picks a free one
  std::string auth_key;                 // cluster_rpc_auth; "" = no authentication
  size_t max_connections = 128;
  SessionLimits limits;
  ConnectionDeadlines deadlines;
};

class Connection;

class Server {
 public:
  // `logs` may be null (monitor then streams nothing). `api` and `logs` must outlive the
  // server.
  Server(boost::asio::io_context& io, AgentApi& api, LogSource* logs, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Throws std::runtime_error naming the address on failure.
  void start();
  // Stops accepting and closes every connection. Idempotent.
  void stop();

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  size_t connections() const { return connections_.size(); }
  const SessionCounters& counters() const { return counters_; }
  uint64_t accepted() const { return accepted_; }
  uint64_t rejected() const { return rejected_; }  // at the cap with nothing to shed
  uint64_t shed() const { return shed_; }          // closed to make room for a new one
  uint64_t auth_timeouts() const { return auth_timeouts_; }
  uint64_t idle_timeouts() const { return idle_timeouts_; }

 private:
  friend class Connection;
  void accept();
  void remove(const std::shared_ptr<Connection>& c);
  bool shed_one();

  boost::asio::io_context& io_;
  AgentApi& api_;
  LogSource* logs_;
  ServerOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::set<std::shared_ptr<Connection>> connections_;
  SessionCounters counters_;
  uint64_t accepted_ = 0;
  uint64_t rejected_ = 0;
  uint64_t shed_ = 0;
  uint64_t auth_timeouts_ = 0;
  uint64_t idle_timeouts_ = 0;
  bool stopped_ = false;
  LifetimeToken lifetime_;
};

}  // namespace kc::rpc
