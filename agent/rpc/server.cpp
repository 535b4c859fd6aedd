#include "agent/rpc/server.h"

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

#include "agent/rpc/connection.h"
#include "common/address.h"
#include "common/log_limit.h"
#include "common/logging.h"
#include "common/noexcept_cleanup.h"

namespace kc::rpc {

namespace asio = boost::asio;
using asio::ip::tcp;

Server::Server(asio::io_context& io, AgentApi& api, LogSource* logs, ServerOptions options)
    : io_(io),
      api_(api),
      logs_(logs),
      options_(std::move(options)),
      acceptor_(io),
      retry_timer_(io) {}

Server::~Server() {
  noexcept_cleanup([this] { stop(); });
}

void Server::start() {
  auto [host, port] = split_host_port(options_.bind);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    throw std::runtime_error("RPC address " + options_.bind + ": '" + host +
                             "' is not an IP address");
  tcp::endpoint ep(address, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.close();
    throw std::runtime_error("cannot listen for RPC on " + options_.bind + ": " + ec.message());
  }
  stopped_ = false;
  auto bound = local_endpoint();
  kc::log::get("rpc")->info("RPC listening on {}:{}", bound.address().to_string(), bound.port());
  accept();
}

tcp::endpoint Server::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Server::accept() {
  auto alive = lifetime_.watch();
  acceptor_.async_accept([this, alive](boost::system::error_code ec, tcp::socket socket) {
    if (alive.expired() || stopped_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // E.g. out of file descriptors: back off instead of spinning on the error.
      static kc::log::RateLimit limit;
      kc::log::limited(limit, *kc::log::get("rpc"), spdlog::level::err,
                       "Failed to accept client: {}", ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this, alive](boost::system::error_code wec) {
        if (!wec && !alive.expired() && !stopped_) accept();
      });
      return;
    }
    if (connections_.size() >= options_.max_connections && !shed_one()) {
      ++rejected_;
      static kc::log::RateLimit limit;
      kc::log::limited(limit, *kc::log::get("rpc"), spdlog::level::warn,
                       "{} RPC connections, all busy: refusing a new one", connections_.size());
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      ++accepted_;
      auto c = std::make_shared<Connection>(std::move(socket), *this, lifetime_.watch());
      connections_.insert(c);
      c->start(api_, logs_, options_.auth_key, options_.limits, options_.deadlines, &counters_);
    }
    accept();
  });
}

void Server::remove(const std::shared_ptr<Connection>& c) {
  connections_.erase(c);
}

bool Server::shed_one() {
  std::vector<std::shared_ptr<Connection>> all(connections_.begin(), connections_.end());
  std::vector<ConnectionState> states;
  states.reserve(all.size());
  for (auto& c : all) states.push_back(c->state());
  auto pick = pick_connection_to_shed(states);
  if (!pick) return false;
  ++shed_;
  static kc::log::RateLimit limit;
  kc::log::limited(limit, *kc::log::get("rpc"), spdlog::level::warn,
                   "{} RPC connections: closing {} ({}) to make room", connections_.size(),
                   all[*pick]->peer(), states[*pick].authenticated ? "idle" : "unauthenticated");
  all[*pick]->close();
  connections_.erase(all[*pick]);
  return true;
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  auto all = std::move(connections_);
  connections_.clear();
  for (auto& c : all) c->close();
}

}  // namespace kc::rpc
