#include "kube/blocking_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>

namespace kc::kube {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Server {
  bool tls = true;
  std::string host, port;
};

// "https://host[:port]" / "http://host[:port]" ("[v6]" literals too); a path is ignored.
std::optional<Server> parse_server(const std::string& url, std::string& error) {
  Server s;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    s.tls = false;
    rest = url.substr(7);
  } else {
    error = "server \"" + url + "\" is neither http:// nor https://";
    return std::nullopt;
  }
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) {
      error = "server \"" + url + "\": unterminated [IPv6] literal";
      return std::nullopt;
    }
    s.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest[0] == ':') s.port = rest.substr(1);
  } else {
    auto colon = rest.rfind(':');
    s.host = rest.substr(0, colon);
    if (colon != std::string::npos) s.port = rest.substr(colon + 1);
  }
  if (s.host.empty()) {
    error = "server \"" + url + "\" has no host";
    return std::nullopt;
  }
  if (s.port.empty()) s.port = s.tls ? "443" : "80";
  return s;
}

// CA, peer and host-name verification (unless insecure), client certificate.
void configure_tls(ssl::context& ctx, const Config& c, const std::string& host) {
  if (c.insecure) {
    ctx.set_verify_mode(ssl::verify_none);
    return;
  }
  if (c.ca_pem.empty())
    ctx.set_default_verify_paths();
  else
    ctx.add_certificate_authority(asio::buffer(c.ca_pem));
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.set_verify_callback(ssl::host_name_verification(host));
  if (!c.client_cert_pem.empty()) {
    ctx.use_certificate_chain(asio::buffer(c.client_cert_pem));
    ctx.use_private_key(asio::buffer(c.client_key_pem), ssl::context::pem);
  }
}

// Writes the request and reads the answer into `out` on a connected (and, for TLS,
// handshaken) stream.
template <typename Stream>
void exchange(std::shared_ptr<Stream> stream, const http::request<http::empty_body>& req,
              Response& out) {
  auto request = std::make_shared<http::request<http::empty_body>>(req);
  http::async_write(*stream, *request, [stream, request, &out](beast::error_code ec, size_t) {
    if (ec) {
      out.error = "write: " + ec.message();
      return;
    }
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto res = std::make_shared<http::response<http::string_body>>();
    http::async_read(*stream, *buffer, *res,
                     [stream, buffer, res, &out](beast::error_code rec, size_t) {
                       if (rec) {
                         out.error = "read: " + rec.message();
                         return;
                       }
                       out.status = static_cast<int>(res->result_int());
                       auto body = nlohmann::json::parse(res->body(), nullptr, false);
                       if (!body.is_discarded()) out.body = std::move(body);
                       if (auto it = res->find(http::field::retry_after); it != res->end())
                         out.retry_after = std::string(it->value());
                     });
  });
}

}  // namespace

Response blocking_get(const Config& config, const std::string& path,
                      std::chrono::milliseconds timeout, const std::string& user_agent) {
  Response out;
  std::string error;
  auto server = parse_server(config.server, error);
  if (!server) {
    out.error = error;
    return out;
  }
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, server->host);
  req.set(http::field::user_agent, user_agent);
  req.set(http::field::accept, "application/json");
  try {
    TokenSource tokens(config);
    if (auto token = tokens.token(); !token.empty())
      req.set(http::field::authorization, "Bearer " + token);
  } catch (const std::exception& e) {
    out.error = std::string("token: ") + e.what();
    return out;
  }

  asio::io_context io;
  tcp::resolver resolver(io);
  std::optional<ssl::context> ctx;
  try {
    if (server->tls) {
      ctx.emplace(ssl::context::tls_client);
      configure_tls(*ctx, config, server->host);
    }
  } catch (const boost::system::system_error& e) {
    out.error = std::string("TLS setup: ") + e.what();
    return out;
  }

  // One deadline for the whole exchange: the socket's expiry covers connect, handshake,
  // write and read; run_for bounds the resolver too.
  auto on_resolved = [&](beast::error_code ec, const tcp::resolver::results_type& endpoints) {
    if (ec) {
      out.error = "resolve " + server->host + ": " + ec.message();
      return;
    }
    if (!server->tls) {
      auto stream = std::make_shared<beast::tcp_stream>(io);
      stream->expires_after(timeout);
      stream->async_connect(endpoints, [&, stream](beast::error_code cec, const tcp::endpoint&) {
        if (cec) {
          out.error = "connect: " + cec.message();
          return;
        }
        exchange(stream, req, out);
      });
      return;
    }
    auto stream = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(io, *ctx);
    beast::get_lowest_layer(*stream).expires_after(timeout);
    boost::system::error_code not_ip;
    asio::ip::make_address(server->host, not_ip);
    if (not_ip)  // SNI for names only (RFC 6066 forbids literals)
      SSL_set_tlsext_host_name(stream->native_handle(), server->host.c_str());
    beast::get_lowest_layer(*stream).async_connect(
        endpoints, [&, stream](beast::error_code cec, const tcp::endpoint&) {
          if (cec) {
            out.error = "connect: " + cec.message();
            return;
          }
          stream->async_handshake(ssl::stream_base::client, [&, stream](beast::error_code hec) {
            if (hec) {
              out.error = "TLS handshake: " + hec.message();
              return;
            }
            exchange(stream, req, out);
          });
        });
  };
  resolver.async_resolve(server->host, server->port, on_resolved);
  io.run_for(timeout + std::chrono::milliseconds(500));
  if (out.status == 0 && out.error.empty()) out.error = "timed out";
  return out;
}

}  // namespace kc::kube
