#include "datastore/pg_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "datastore/pg_wire.h"

namespace kc::datastore {

namespace asio = boost::asio;

namespace {

constexpr size_t kReadChunk = size_t{16} * 1024;

// Notice a silently dead server (a partition, a killed VM) within about a minute, as the
// libpq settings this client used before did (keepalives_idle 30, interval 10, count 3).
void enable_keepalives(asio::ip::tcp::socket& s) {
  int fd = s.native_handle();
  int on = 1;
  int idle = 30;
  int interval = 10;
  int count = 3;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  boost::system::error_code ignored;
  s.set_option(asio::ip::tcp::no_delay(true), ignored);  // small request/response messages
}

std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

}  // namespace

PgStream::PgStream(asio::io_context& io) : tcp_(io), unix_(io) {}

template <class Operation>
void PgStream::with_stream(Operation&& op) {
  if (tls_)
    op(*tls_);
  else if (is_unix_)
    op(unix_);
  else
    op(tcp_);
}

void PgStream::open_tcp(std::vector<asio::ip::tcp::endpoint> endpoints, TlsOptions tls,
                        OpenHandler done) {
  std::string first = endpoints.empty() ? "" : endpoint_text(endpoints.front());
  asio::async_connect(
      tcp_, endpoints,
      [self = shared_from_this(), tls = std::move(tls), done = std::move(done), first](
          boost::system::error_code ec, const asio::ip::tcp::endpoint& connected) mutable {
        if (ec) {
          done("cannot connect to " + first + ": " + ec.message());
          return;
        }
        (void)connected;
        enable_keepalives(self->tcp_);
        if (!tls.enabled) {
          done("");
          return;
        }
        self->request_tls(std::move(tls), std::move(done));
      });
}

void PgStream::open_unix(const std::string& path, OpenHandler done) {
  is_unix_ = true;
  unix_.async_connect(
      asio::local::stream_protocol::endpoint(path),
      [self = shared_from_this(), done = std::move(done), path](boost::system::error_code ec) {
        done(ec ? "cannot connect to " + path + ": " + ec.message() : "");
      });
}

void PgStream::request_tls(TlsOptions tls, OpenHandler done) {
  write_buffer_.clear();
  wire::ssl_request(write_buffer_);
  asio::async_write(tcp_, asio::buffer(write_buffer_),
                    [self = shared_from_this(), tls = std::move(tls), done = std::move(done)](
                        boost::system::error_code ec, size_t) mutable {
                      if (ec) {
                        done("sending the TLS request: " + ec.message());
                        return;
                      }
                      self->read_buffer_.assign(1, 0);
                      // Exactly one byte: anything after it belongs to TLS (or is an attack on it).
                      asio::async_read(
                          self->tcp_, asio::buffer(self->read_buffer_),
                          [self, tls = std::move(tls), done = std::move(done)](
                              boost::system::error_code ec, size_t) mutable {
                            if (ec) {
                              done("waiting for the TLS answer: " + ec.message());
                              return;
                            }
                            char answer = self->read_buffer_[0];
                            if (answer == 'S') {
                              self->handshake(tls, std::move(done));
                            } else if (answer == 'N') {
                              done("pg_ssl is on, but the server does not support TLS");
                            } else {
                              done("protocol error: the server answered the TLS request with " +
                                   wire::type_name(answer));
                            }
                          });
                    });
}

void PgStream::handshake(const TlsOptions& tls, OpenHandler done) {
  tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  tls_context_->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                            asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (tls.verify) {
    tls_context_->set_default_verify_paths(ec);
    if (ec) {
      done("cannot load the system CA certificates: " + ec.message());
      return;
    }
    tls_context_->set_verify_mode(asio::ssl::verify_peer);
  } else {
    tls_context_->set_verify_mode(asio::ssl::verify_none);  // Kong's pg_ssl_verify = off
  }
  tls_ = std::make_unique<Tls>(tcp_, *tls_context_);
  SSL* ssl = tls_->native_handle();
  asio::ip::make_address(tls.host, ec);
  bool is_address = !ec;
  if (tls.verify) {
    // OpenSSL's own check (as libpq's verify-full): a mismatch fails the chain verification
    // with "hostname mismatch" or "IP address mismatch".
    bool set = is_address
                   ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), tls.host.c_str()) == 1
                   : SSL_set1_host(ssl, tls.host.c_str()) == 1;
    if (!set) {
      done("cannot verify the certificate against host name " + tls.host);
      return;
    }
  }
  if (!is_address)  // SNI carries names only, never addresses (RFC 6066)
    SSL_set_tlsext_host_name(ssl, tls.host.c_str());
  tls_->async_handshake(
      asio::ssl::stream_base::client,
      [self = shared_from_this(), done = std::move(done)](boost::system::error_code ec) {
        if (!ec) {
          done("");
          return;
        }
        std::string why = "TLS handshake failed: " + ec.message();
        long verify = SSL_get_verify_result(self->tls_->native_handle());
        if (verify != X509_V_OK)
          why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
        done(why);
      });
}

void PgStream::read(ReadHandler done) {
  read_buffer_.resize(kReadChunk);
  with_stream([&](auto& s) {
    s.async_read_some(asio::buffer(read_buffer_),
                      [self = shared_from_this(), done = std::move(done)](
                          boost::system::error_code ec, size_t n) {
                        done(ec, std::string_view(self->read_buffer_.data(), n));
                      });
  });
}

void PgStream::write(std::string bytes, WriteHandler done) {
  write_buffer_ = std::move(bytes);
  with_stream([&](auto& s) {
    asio::async_write(s, asio::buffer(write_buffer_),
                      [self = shared_from_this(), done = std::move(done)](
                          boost::system::error_code ec, size_t) { done(ec); });
  });
}

void PgStream::write_now(const std::string& bytes) {
  boost::system::error_code ec;
  if (tls_) return;  // a TLS record could need several non-blocking writes; closing is enough
  if (is_unix_) {
    unix_.non_blocking(true, ec);
    if (!ec) unix_.write_some(asio::buffer(bytes), ec);
  } else {
    tcp_.non_blocking(true, ec);
    if (!ec) tcp_.write_some(asio::buffer(bytes), ec);
  }
}

void PgStream::close() {
  boost::system::error_code ignored;
  tcp_.close(ignored);
  unix_.close(ignored);
}

}  // namespace kc::datastore
