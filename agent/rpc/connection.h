// A Session bound to a TCP socket: reads feed the session, replies are queued and written
// one at a time. Reading pauses while the session holds a full input buffer or the peer
// does not read its replies (the session's backlog limits), so memory stays bounded. A
// timer enforces the connection deadlines (connection_policy.h).
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "agent/rpc/connection_policy.h"
#include "agent/rpc/session.h"
#include "common/lifetime.h"

namespace kc::rpc {

class Server;

class Connection : public SessionOutput, public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, Server& server,
             LifetimeToken::Watch server_alive);
  void start(AgentApi& api, LogSource* logs, const std::string& auth_key,
             const SessionLimits& limits, const ConnectionDeadlines& deadlines,
             SessionCounters* counters);
  // Closes the socket at once (server shutdown, I/O error, deadline, shed).
  void close();
  ConnectionState state() const;
  const std::string& peer() const { return peer_; }

  // SessionOutput
  void send(Bytes data) override;
  size_t backlog() const override { return backlog_; }
  void finish(std::function<void()> after) override;
  void finish_lingering(std::function<void()> after) override;
  void input_space() override { read(); }
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override;

 private:
  void read();
  void write_next();
  void closed_cleanup();
  void flushed();
  void check_deadline();
  void arm_deadline(Clock::time_point at);

  boost::asio::ip::tcp::socket socket_;
  Server& server_;
  LifetimeToken::Watch server_alive_;
  std::optional<Session> session_;
  std::array<uint8_t, Session::kReadSlack> buf_{};
  std::deque<Bytes> queue_;
  size_t backlog_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  bool linger_ = false;     // after the last write, wait for the peer to close
  bool lingering_ = false;  // waiting now (reads are discarded)
  boost::asio::steady_timer linger_timer_;
  boost::asio::steady_timer deadline_timer_;
  boost::asio::steady_timer delay_timer_;
  ConnectionDeadlines deadlines_;
  Clock::time_point connected_ = Clock::now();
  Clock::time_point last_request_ = connected_;
  std::string peer_ = "unknown";
  bool closed_ = false;
  std::function<void()> after_;
};

}  // namespace kc::rpc
