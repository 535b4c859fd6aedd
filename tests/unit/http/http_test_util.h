// Helpers for HTTP tests: an io_context running on its own thread (the server under test
// lives there, as it would on the agent's loop), a blocking client call, and raw exchanges
// for malformed input a well-behaved client cannot send.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "common/http/client.h"

namespace kc::test {

class LoopThread {
 public:
  LoopThread() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~LoopThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

  // Runs `fn` on the loop and waits for its result.
  template <typename F>
  auto run(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return f.get();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

struct SyncResult {
  std::string error;
  http::ClientResponse response;
};

// One request with our client on a private io_context.
inline SyncResult request(const std::string& url_text, http::ClientRequest req) {
  boost::asio::io_context io;
  auto url = http::Url::parse(url_text);
  SyncResult out;
  if (!url) {
    out.error = "bad url";
    return out;
  }
  http::async_request(io, *url, std::move(req), [&](const std::string& e, http::ClientResponse r) {
    out.error = e;
    out.response = std::move(r);
  });
  io.run();
  return out;
}

inline SyncResult get(const std::string& base, const std::string& target) {
  http::ClientRequest req;
  req.target = target;
  return request(base, req);
}

inline SyncResult send(const std::string& base, const std::string& method,
                       const std::string& target, const std::string& content_type,
                       const std::string& body) {
  http::ClientRequest req;
  req.method = method;
  req.target = target;
  if (!content_type.empty()) req.headers["Content-Type"] = content_type;
  req.body = body;
  return request(base, req);
}

// Writes `bytes` to 127.0.0.1:port and reads until the server closes (or `timeout`).
inline std::string raw_exchange(uint16_t port, const std::string& bytes,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  using boost::asio::ip::tcp;
  boost::asio::io_context io;
  tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(s, boost::asio::buffer(bytes));
  std::string out;
  std::array<char, 4096> buf;
  std::function<void()> read = [&] {
    s.async_read_some(boost::asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
      out.append(buf.data(), n);
      if (!ec) read();
    });
  };
  read();
  io.run_for(timeout);
  return out;
}

}  // namespace kc::test
