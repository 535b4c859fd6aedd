#include "agent/rpc/connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "agent/rpc/server.h"
#include "common/log_limit.h"
#include "common/logging.h"

namespace kc::rpc {

namespace asio = boost::asio;

Connection::Connection(asio::ip::tcp::socket socket, Server& server,
                       LifetimeToken::Watch server_alive)
    : socket_(std::move(socket)),
      server_(server),
      server_alive_(std::move(server_alive)),
      linger_timer_(socket_.get_executor()),
      deadline_timer_(socket_.get_executor()),
      delay_timer_(socket_.get_executor()) {}

void Connection::start(AgentApi& api, LogSource* logs, const std::string& auth_key,
                       const SessionLimits& limits, const ConnectionDeadlines& deadlines,
                       SessionCounters* counters) {
  boost::system::error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (!ec) peer_ = peer.address().to_string() + ":" + std::to_string(peer.port());
  // Anyone who can reach the port can make this line; a flood of connections must not
  // flood the log.
  static kc::log::RateLimit limit;
  kc::log::limited(limit, *kc::log::get("rpc"), spdlog::level::info, "Accepted client: {}", peer_);
  deadlines_ = deadlines;
  session_.emplace(api, logs, *this, auth_key, peer_, limits, counters);
  check_deadline();
  read();
}

ConnectionState Connection::state() const {
  ConnectionState s;
  s.authenticated = session_ && session_->authenticated();
  s.idle = !session_ || session_->idle();
  s.connected = connected_;
  s.last_request = last_request_;
  return s;
}

void Connection::check_deadline() {
  if (closed_ || finishing_) return;
  auto verdict = rpc::check_deadline(state(), deadlines_, Clock::now());
  if (verdict.verdict == DeadlineVerdict::Keep) return arm_deadline(verdict.next_check);
  bool auth = verdict.verdict == DeadlineVerdict::AuthTimeout;
  if (!server_alive_.expired()) ++(auth ? server_.auth_timeouts_ : server_.idle_timeouts_);
  static kc::log::RateLimit limit;
  kc::log::limited(limit, *kc::log::get("rpc"), spdlog::level::warn, "closing client {}: {}", peer_,
                   auth ? "no handshake and authentication in time" : "idle too long");
  close();
}

void Connection::arm_deadline(Clock::time_point at) {
  if (at == Clock::time_point::max()) return;
  deadline_timer_.expires_at(at);
  deadline_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->check_deadline();
  });
}

void Connection::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  delay_timer_.expires_after(delay);
  delay_timer_.async_wait(
      [self = shared_from_this(), fn = std::move(fn)](boost::system::error_code ec) {
        if (!ec && !self->closed_) fn();
      });
}

void Connection::read() {
  if (reading_ || closed_ || !session_) return;
  if (!lingering_ && (finishing_ || !session_->accepting_input())) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(buf_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            self->reading_ = false;
                            if (self->closed_) return;
                            if (self->lingering_) {
                              // Only waiting for the peer to hang up; whatever it still sends is
                              // ignored.
                              if (ec)
                                self->close();
                              else
                                self->read();
                              return;
                            }
                            if (ec) {
                              // EOF or reset: like serf, stop processing; replies already queued
                              // still go out.
                              self->session_->close();
                              self->finish({});
                              return;
                            }
                            self->last_request_ = Clock::now();
                            self->session_->feed(std::span<const uint8_t>(self->buf_.data(), n));
                            // The session may have authenticated: its deadline changes.
                            self->check_deadline();
                            self->read();
                          });
}

void Connection::send(Bytes data) {
  if (closed_ || data.empty()) return;
  backlog_ += data.size();
  queue_.push_back(std::move(data));
  if (!writing_) write_next();
}

void Connection::write_next() {
  if (queue_.empty() || closed_) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(queue_.front()),
                    [self = shared_from_this()](boost::system::error_code ec, size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      self->backlog_ -= self->queue_.front().size();
                      self->queue_.pop_front();
                      if (ec) {
                        self->close();
                        return;
                      }
                      if (!self->queue_.empty()) {
                        self->write_next();
                      } else if (self->finishing_) {
                        self->flushed();
                        return;
                      }
                      self->session_->drained();
                    });
}

void Connection::finish(std::function<void()> after) {
  if (closed_ || finishing_) return;
  finishing_ = true;
  if (after) after_ = std::move(after);
  if (!writing_ && queue_.empty()) {
    // Closing from inside the session's own call stack would destroy it under its feet.
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->flushed(); });
  }
}

void Connection::finish_lingering(std::function<void()> after) {
  linger_ = true;
  finish(std::move(after));
}

void Connection::flushed() {
  if (closed_) return;
  if (!linger_) {
    close();
    return;
  }
  lingering_ = true;
  linger_timer_.expires_after(std::chrono::seconds(2));
  linger_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->close();
  });
  read();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  linger_timer_.cancel();
  deadline_timer_.cancel();
  delay_timer_.cancel();
  if (session_) session_->close();
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  queue_.clear();
  backlog_ = 0;
  // Leave the server's set (and run a pending `after`) outside of any session callback.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->closed_cleanup(); });
}

void Connection::closed_cleanup() {
  if (!server_alive_.expired()) server_.remove(shared_from_this());
  if (auto after = std::move(after_)) after();
}

}  // namespace kc::rpc
