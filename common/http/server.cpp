#include "common/http/server.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "common/log_limit.h"
#include "common/logging.h"
#include "common/noexcept_cleanup.h"

namespace kc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

asio::ip::tcp::endpoint parse_endpoint(const std::string& addr) {
  std::string host;
  std::string port;
  if (!addr.empty() && addr[0] == '[') {
    auto close = addr.find("]:");
    if (close == std::string::npos)
      throw std::invalid_argument("'" + addr + "' is not [IPv6]:port");
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    auto colon = addr.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("'" + addr + "' is not IP:port");
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("'" + host + "' is not an IP address");
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
    throw std::invalid_argument("'" + port + "' is not a port number");
  return {ip, static_cast<uint16_t>(std::stoul(port))};
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, tcp::socket socket)
      : server_(server),
        alive_(server.lifetime_.watch()),
        stream_(std::move(socket)),
        handler_timer_(server.io_) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec)
      remote_ =
          (ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string()) +
          ":" + std::to_string(ep.port());
  }

  void start() { read_header(); }

  // Waiting for the next request (idle keep-alive, or a header still arriving).
  bool waiting_for_request() const { return waiting_for_request_ && !closed_; }
  std::chrono::steady_clock::time_point waiting_since() const { return waiting_since_; }

  void close() {
    if (closed_) return;
    closed_ = true;
    waiting_reply_ = false;
    handler_timer_.cancel();
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  const ServerOptions& opts() const { return server_.options_; }
  bool server_alive() const { return !alive_.expired(); }

  // Leaves the server's set once no callback refers to us any more.
  void finish_session() {
    close();
    if (server_alive()) server_.sessions_.erase(shared_from_this());
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(opts().header_limit));
    parser_->body_limit(opts().body_limit);
    waiting_for_request_ = true;
    waiting_since_ = std::chrono::steady_clock::now();
    stream_.expires_after(opts().request_header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->on_read(ec, /*header_only=*/true);
                             });
  }

  void read_body() {
    stream_.expires_after(opts().read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->on_read(ec, /*header_only=*/false);
                      });
  }

  void on_read(beast::error_code ec, bool header_only) {
    waiting_for_request_ = false;
    if (closed_ || !server_alive()) return;
    if (ec) return read_failed(ec);
    if (header_only && !parser_->is_done()) {
      // curl sends `Expect: 100-continue` before bodies over 1 KiB and waits for this.
      auto& req = parser_->get();
      if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
        continue_sent_ = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
        stream_.expires_after(opts().write_timeout);
        asio::async_write(stream_, asio::buffer(*continue_sent_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (self->closed_ || !self->server_alive()) return;
                            if (ec) return self->finish_session();
                            self->read_body();
                          });
        return;
      }
      return read_body();
    }
    handle();
  }

  void read_failed(beast::error_code ec) {
    auto& counters = server_.counters_;
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return finish_session();
    if (ec == beast::error::timeout) {
      ++counters.timeouts;
      return finish_session();
    }
    ++counters.bad_requests;
    if (ec == bhttp::error::header_limit) return send_error(431, "Request header fields too large");
    if (ec == bhttp::error::body_limit) return send_error(413, "Request body too large");
    send_error(400, "Bad request: " + ec.message());
  }

  void send_error(unsigned status, const std::string& message) {
    auto r = message_response(status, message);
    r.close = true;
    write(std::move(r), /*keep_alive=*/false);
  }

  void handle() {
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.remote = remote_;
    for (auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto [it, inserted] = req.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    auto q = req.target.find('?');
    auto path = url_decode(std::string_view(req.target).substr(0, q), false);
    auto query = q == std::string::npos ? std::optional<Params>(Params{})
                                        : parse_query(std::string_view(req.target).substr(q + 1));
    if (!path || !query || req.target.empty() || req.target[0] != '/') {
      ++server_.counters_.bad_requests;
      return send_error(400, "Bad request: malformed request target");
    }
    req.path = std::move(*path);
    req.query = std::move(*query);

    ++server_.counters_.requests;
    started_ = std::chrono::steady_clock::now();
    waiting_reply_ = true;
    uint64_t id = ++request_id_;
    handler_timer_.expires_after(opts().handler_timeout);
    handler_timer_.async_wait([weak = weak_from_this(), id](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || !self->waiting_reply_ || self->request_id_ != id) return;
      if (!self->server_alive()) return;
      ++self->server_.counters_.timeouts;
      self->respond(message_response(503, "The request timed out"));
    });
    current_ = std::move(req);
    // Stale or repeated replies are ignored: the request id must still be the current one.
    Reply reply = [weak = weak_from_this(), id](Response r) {
      auto self = weak.lock();
      if (!self || self->closed_ || !self->waiting_reply_ || self->request_id_ != id) return;
      if (!self->server_alive()) return;
      self->respond(std::move(r));
    };
    try {
      server_.handler_(current_, reply);
    } catch (const std::exception& e) {
      static kc::log::RateLimit limit;
      kc::log::limited(limit, *kc::log::get("http"), spdlog::level::err, "{} {}: {}",
                       current_.method, current_.path, e.what());
      reply(message_response(500, "An unexpected error occurred"));
    }
  }

  void respond(Response r) {
    waiting_reply_ = false;
    handler_timer_.cancel();
    if (server_.observer_) {
      try {
        server_.observer_(current_, r, std::chrono::steady_clock::now() - started_);
      } catch (const std::exception& e) {
        kc::log::get("http")->warn("request observer failed: {}", e.what());
      }
    }
    bool keep = keep_alive_ && !r.close;
    write(std::move(r), keep);
  }

  void write(Response r, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(r.status);
    res->set(bhttp::field::server, opts().server_header);
    if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(opts().write_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                         if (self->closed_ || !self->server_alive()) return;
                         if (ec || !keep_alive) return self->finish_session();
                         self->read_header();
                       });
  }

  Server& server_;
  LifetimeToken::Watch alive_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  asio::steady_timer handler_timer_;
  std::shared_ptr<std::string> continue_sent_;
  std::string remote_;
  Request current_;
  std::chrono::steady_clock::time_point started_;
  uint64_t request_id_ = 0;
  std::chrono::steady_clock::time_point waiting_since_;
  bool waiting_for_request_ = false;
  bool waiting_reply_ = false;
  bool keep_alive_ = false;
  bool closed_ = false;
};

Server::Server(asio::io_context& io, ServerOptions options, Handler handler)
    : io_(io), options_(std::move(options)), handler_(std::move(handler)), acceptor_(io) {}

Server::~Server() {
  noexcept_cleanup([this] { stop(); });
}

void Server::start() {
  tcp::endpoint ep;
  try {
    ep = parse_endpoint(options_.bind);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("HTTP address " + options_.bind + ": " + e.what());
  }
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    throw std::runtime_error("cannot listen for HTTP on " + options_.bind + ": " + ec.message());
  }
  accept();
}

void Server::accept() {
  acceptor_.async_accept(
      [this, alive = lifetime_.watch()](const boost::system::error_code& ec, tcp::socket socket) {
        if (alive.expired() || stopped_) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          // Out of descriptors and the like: log and keep accepting rather than dying.
          static kc::log::RateLimit limit;
          kc::log::limited(limit, *kc::log::get("http"), spdlog::level::warn, "accept failed: {}",
                           ec.message());
          return accept();
        }
        if (sessions_.size() >= options_.max_connections && !shed_oldest_idle()) {
          ++counters_.rejected;
          boost::system::error_code ignored;
          socket.close(ignored);
          return accept();
        }
        ++counters_.accepted;
        auto s = std::make_shared<Session>(*this, std::move(socket));
        sessions_.insert(s);
        s->start();
        accept();
      });
}

bool Server::shed_oldest_idle() {
  std::shared_ptr<Session> oldest;
  for (auto& s : sessions_)
    if (s->waiting_for_request() && (!oldest || s->waiting_since() < oldest->waiting_since()))
      oldest = s;
  if (!oldest) return false;
  ++counters_.shed;
  oldest->close();
  sessions_.erase(oldest);
  return true;
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& s : sessions) s->close();
}

tcp::endpoint Server::local_endpoint() const {
  boost::system::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? tcp::endpoint{} : ep;
}

}  // namespace kc::http
