// The byte stream of one Postgres connection, on the caller's io_context: TCP (the first of
// the given addresses that accepts), a unix-domain socket, or TLS over TCP after Postgres's
// SSLRequest. Every completion handler runs on the io_context; close() cancels whatever is
// pending (those handlers then see an error). Buffers live in the object, and the pending
// operations hold it (shared_from_this), so dropping the caller's pointer is always safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kc::datastore {

struct TlsOptions {
  bool enabled = false;  // pg_ssl
  bool verify = false;   // pg_ssl_verify: the chain against the system CAs, and the host name
  std::string host;      // the name (or address) the certificate must match; sent as SNI
};

class PgStream : public std::enable_shared_from_this<PgStream> {
 public:
  // The error is empty when the stream is ready, else one line saying what failed.
  using OpenHandler = std::function<void(const std::string& error)>;
  using ReadHandler = std::function<void(boost::system::error_code, std::string_view bytes)>;
  using WriteHandler = std::function<void(boost::system::error_code)>;

  explicit PgStream(boost::asio::io_context& io);

  // TCP to the first endpoint that accepts, with keepalives, then TLS when tls.enabled.
  void open_tcp(std::vector<boost::asio::ip::tcp::endpoint> endpoints, TlsOptions tls,
                OpenHandler done);
  void open_unix(const std::string& path, OpenHandler done);

  // One read of whatever has arrived (at most one read pending).
  void read(ReadHandler done);
  // All of `bytes` (at most one write pending).
  void write(std::string bytes, WriteHandler done);
  // Best effort, never blocking: for the Terminate message on close.
  void write_now(const std::string& bytes);
  void close();

  bool encrypted() const { return tls_ != nullptr; }

 private:
  using Tcp = boost::asio::ip::tcp::socket;
  using Tls = boost::asio::ssl::stream<Tcp&>;

  void request_tls(TlsOptions tls, OpenHandler done);
  void handshake(const TlsOptions& tls, OpenHandler done);
  template <class Operation>
  void with_stream(Operation&& op);

  Tcp tcp_;
  boost::asio::local::stream_protocol::socket unix_;
  bool is_unix_ = false;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<Tls> tls_;
  std::string write_buffer_;
  std::vector<char> read_buffer_;
};

}  // namespace kc::datastore
