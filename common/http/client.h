// A minimal asynchronous HTTP/1.1 client on the io_context: one request on a fresh
// connection, a deadline for the whole exchange, the response status and body. Used to
// deliver events to the local Kong Admin API (as Kong's own handler script did, one
// connection per event) and by tests.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace kc::http {

// "http://host[:port][/base]"; only plain http (the Admin API listens on loopback).
struct Url {
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // without a trailing slash; "" for the root

  // nullopt with `error` set when `text` is not such a URL.
  static std::optional<Url> parse(const std::string& text, std::string* error = nullptr);
  std::string host_header() const;
};

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";
  std::map<std::string, std::string> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
};

struct ClientResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// `done(error, response)`: error is "" on success (any status), else what failed
// ("connect: Connection refused", "timed out").
using ClientDone = std::function<void(const std::string& error, ClientResponse response)>;

void async_request(boost::asio::io_context& io, const Url& url, ClientRequest request,
                   ClientDone done);

}  // namespace kc::http
