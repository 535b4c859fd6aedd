#include "common/http/client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>

namespace kc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::optional<Url> Url::parse(const std::string& text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Url> {
    if (error) *error = why;
    return std::nullopt;
  };
  const std::string scheme = "http://";
  if (text.rfind(scheme, 0) != 0) {
    if (text.rfind("https://", 0) == 0) return fail("https is not supported; use http://");
    return fail("'" + text + "' does not start with http://");
  }
  auto rest = text.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  Url u;
  if (slash != std::string::npos) u.base_path = rest.substr(slash);
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return fail("unbalanced '[' in '" + text + "'");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return fail("bad port in '" + text + "'");
      port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return fail("no host in '" + text + "'");
  for (unsigned char c : u.host)
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_'))
      return fail("bad host in '" + text + "'");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
      return fail("bad port '" + port + "' in '" + text + "'");
    u.port = static_cast<uint16_t>(std::stoul(port));
  }
  return u;
}

std::string Url::host_header() const {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == 80 ? h : h + ":" + std::to_string(port);
}

namespace {

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, Url url, ClientRequest req, ClientDone done)
      : resolver_(io),
        stream_(io),
        url_(std::move(url)),
        req_(std::move(req)),
        done_(std::move(done)) {}

  void run() {
    stream_.expires_after(req_.timeout);
    deadline_ = std::chrono::steady_clock::now() + req_.timeout;
    // An IP literal (the usual Admin API address) needs no resolver, whose lookups would run
    // on Asio's internal resolver thread.
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(url_.host, ec);
    if (!ec) {
      auto results = tcp::resolver::results_type::create(tcp::endpoint(ip, url_.port), url_.host,
                                                         std::to_string(url_.port));
      return connect(results);
    }
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            [self = shared_from_this()](
                                beast::error_code ec, const tcp::resolver::results_type& results) {
                              if (ec) return self->finish("resolve " + self->url_.host, ec);
                              self->connect(results);
                            });
  }

 private:
  void connect(const tcp::resolver::results_type& results) {
    stream_.expires_at(deadline_);
    stream_.async_connect(results,
                          [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                            if (ec) return self->finish("connect", ec);
                            self->write();
                          });
  }

  void write() {
    msg_.version(11);
    msg_.method_string(req_.method);
    msg_.target(req_.target);
    msg_.set(bhttp::field::host, url_.host_header());
    msg_.set(bhttp::field::user_agent, "kong-cluster");
    for (auto& [k, v] : req_.headers) msg_.set(k, v);
    msg_.body() = req_.body;
    msg_.keep_alive(false);
    msg_.prepare_payload();
    stream_.expires_at(deadline_);
    bhttp::async_write(stream_, msg_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->finish("send", ec);
      self->read();
    });
  }

  void read() {
    parser_.body_limit(1 << 20);
    stream_.expires_at(deadline_);
    bhttp::async_read(stream_, buffer_, parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->finish("receive", ec);
                        auto& res = self->parser_.get();
                        ClientResponse out;
                        out.status = res.result_int();
                        for (auto& f : res) {
                          std::string name(f.name_string());
                          for (auto& c : name)
                            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                          out.headers[name] = std::string(f.value());
                        }
                        out.body = std::move(res.body());
                        self->complete("", std::move(out));
                      });
  }

  void finish(const std::string& stage, beast::error_code ec) {
    complete(ec == beast::error::timeout ? "timed out" : stage + ": " + ec.message(), {});
  }

  void complete(const std::string& error, ClientResponse res) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    auto done = std::move(done_);
    if (done) done(error, std::move(res));
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  Url url_;
  ClientRequest req_;
  ClientDone done_;
  std::chrono::steady_clock::time_point deadline_;
  bhttp::request<bhttp::string_body> msg_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
};

}  // namespace

void async_request(asio::io_context& io, const Url& url, ClientRequest request, ClientDone done) {
  std::make_shared<Exchange>(io, url, std::move(request), std::move(done))->run();
}

}  // namespace kc::http
