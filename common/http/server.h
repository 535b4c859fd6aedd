// A small HTTP/1.1 server (Boost.Beast) on the process's io_context: one acceptor, one
// session per connection, all on the event loop thread. Requests are read with limits on
// header and body size and deadlines; malformed input gets a clear 4xx and the connection
// is closed; keep-alive and pipelined requests are answered in order. Handlers may answer
// later (Reply); a handler that never answers is cut off with 503 after handler_timeout.
// Connections cannot pile up: one that waits for a request longer than
// request_header_timeout is closed, and at max_connections the connection that has waited
// longest for its next request is closed to make room for the new one (connections busy
// with a request are never shed; only when every one is busy is the new one refused).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/http/message.h"
#include "common/lifetime.h"

namespace kc::http {

struct ServerOptions {
  std::string bind = "127.0.0.1:0";         // IP literal and port ("[::1]:80" for IPv6); 0 = any
  size_t header_limit = size_t{16} * 1024;  // request line and headers
  size_t body_limit = size_t{64} * 1024;
  // From the moment a connection starts waiting for a request (accepted, or the previous
  // response written) until that request's header is complete: bounds idle keep-alive
  // connections and slow headers alike. Credentials travel in the header, so this is also
  // the most an unauthenticated connection can stay open doing nothing.
  std::chrono::milliseconds request_header_timeout{10000};
  // Reading a request body once its header is in.
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds handler_timeout{60000};
  size_t max_connections = 256;
  std::string server_header = "kong-cluster";
};

struct ServerCounters {
  uint64_t requests = 0;      // requests that reached a handler
  uint64_t bad_requests = 0;  // rejected while parsing (400, 413, 431, ...)
  uint64_t timeouts = 0;      // reads cut off by read_timeout, handlers by handler_timeout
  uint64_t accepted = 0;      // connections
  uint64_t rejected = 0;      // connections refused: at max_connections and none idle
  uint64_t shed = 0;          // idle connections closed to make room for a new one
};

// Called after every response: the request, the response, the time the handler took.
using Observer =
    std::function<void(const Request&, const Response&, std::chrono::steady_clock::duration)>;

class Session;

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Throws std::runtime_error naming the address on failure.
  void start();
  // Stops accepting and closes every connection; pending replies are dropped. Idempotent.
  void stop();

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  size_t connections() const { return sessions_.size(); }
  const ServerCounters& counters() const { return counters_; }
  void set_observer(Observer o) { observer_ = std::move(o); }

 private:
  friend class Session;
  void accept();
  // Closes the connection that has waited longest for a request; false if none waits.
  bool shed_oldest_idle();

  boost::asio::io_context& io_;
  ServerOptions options_;
  Handler handler_;
  Observer observer_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Session>> sessions_;
  ServerCounters counters_;
  bool stopped_ = false;
  LifetimeToken lifetime_;
};

// "host:port" / "[v6]:port" with an IP literal -> endpoint; throws std::invalid_argument.
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& addr);

}  // namespace kc::http
